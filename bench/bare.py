"""The ceiling for the receiver: a bare Flask JSON endpoint under the receiver's own gunicorn settings.

Run as `python bench/bare.py --bind 127.0.0.1:PORT --workers N`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.server import Gunicorn, gunicorn_options  # noqa: E402


def create_bare_app() -> Flask:
    """Read the body, answer `{"status": "ok"}`: the least any webhook endpoint does."""
    app = Flask("bare")

    @app.post("/webhook")
    def webhook() -> Any:
        """Read the delivery, answer ok."""
        request.get_data()
        return jsonify(status="ok"), 200

    @app.get("/readyz")
    def readyz() -> Any:
        """Always ready: nothing to depend on."""
        return jsonify(status="ready"), 200

    return app


def main() -> None:
    """Serve the bare app until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    Gunicorn(gunicorn_options(args.bind, args.workers), create_bare_app).run()


if __name__ == "__main__":
    main()
