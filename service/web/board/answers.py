"""The board's answers: a page (with the viewer and config), a message page, a JSON body."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, make_response, render_template
from werkzeug.wrappers import Response as Answer

from .state import board


def page(template: str, status: int = 200, **context: Any) -> Answer:
    """A board template rendered for the admitted viewer (if any)."""
    viewer = g.get("board_viewer")
    return make_response(render_template(template, viewer=viewer, config=board().config, **context), status)


def message(status: int, title: str, text: str) -> Answer:
    """The message page: a title and one sentence, with this status."""
    return page("board/message.html", status, title=title, text=text)


def json_answer(status: int, **body: Any) -> Answer:
    """A JSON body with this status."""
    response = jsonify(body)
    response.status_code = status
    return response
