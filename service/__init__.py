"""incident-bot: runs an incident-response process on GitLab issues from webhooks."""

__version__ = "0.1.0"
