"""Reports across incidents from the index: TTA/TTM/TTR, breaches of targets, open incidents, reviews.

`figures` computes (only from the documented times the index stores), `formats` renders
(md, csv, json, html with an SVG chart), `cli` adds `incident-bot report`. The names below
load SQLAlchemy and pygal on first use, so building the CLI stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .figures import GroupBy, Report, build_report, report_from_store
    from .formats import Format, contract, render

__all__ = ["Format", "GroupBy", "Report", "build_report", "contract", "render", "report_from_store"]
_LAZY = {
    "GroupBy": "figures",
    "Report": "figures",
    "build_report": "figures",
    "report_from_store": "figures",
    "Format": "formats",
    "contract": "formats",
    "render": "formats",
}


def __getattr__(name: str) -> Any:
    """The report's names, imported when first asked for."""
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
