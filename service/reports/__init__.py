"""Reports across incidents from the index: TTA/TTM/TTR, breaches of targets, open incidents, reviews.

`figures` computes (only from the documented times the index stores), `render` formats
(md, csv, json, html with an SVG chart), `cli` adds `incident-bot report`.
"""

from __future__ import annotations

from .figures import GroupBy, Report, build_report, report_from_store
from .render import Format, contract, render

__all__ = ["Format", "GroupBy", "Report", "build_report", "contract", "render", "report_from_store"]
