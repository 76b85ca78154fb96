"""End-to-end tests: the real gunicorn web and RQ worker processes against a fake GitLab over HTTP."""
