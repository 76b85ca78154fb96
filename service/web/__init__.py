"""The web layer: the webhook receiver, which verifies, classifies and enqueues, and calls no GitLab.

Owns the Flask app factory and its routes (`app`), the pure edge checks of a delivery
(`edge`: token or signature, kind, incident or not) and the gunicorn runner that serves
the app (`server`). Later the board.
"""
