"""The report in each format: JSON (the stable contract), Markdown (for an issue), CSV, HTML with an SVG chart."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from html import escape
from typing import Any

import pygal
from pygal.style import DefaultStyle

from service.durations import human_duration
from service.store.measure import Measured
from service.text import csv_cell, neutralise_line, ref_text, safe_url

from .figures import TARGETS, Listed, Report, Spread

CONFIDENTIAL = "confidential incident"
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)
TIMES = (("tta", "TTA"), ("ttm", "TTM"), ("ttr", "TTR"))


class Format(StrEnum):
    """Output formats."""

    MD = "md"
    CSV = "csv"
    JSON = "json"
    HTML = "html"


def iso(at: datetime) -> str:
    """UTC ISO 8601 with a Z."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _spread(s: Spread) -> dict[str, float | None]:
    return {"median": s.median, "p90": s.p90}


def contract(report: Report) -> dict[str, Any]:
    """The documented JSON contract (README, "Incident index and reports"); `null` where no incident has the time."""
    return {
        "from": iso(report.start),
        "to": iso(report.end),
        "incidents": report.incidents,
        "open": report.open,
        "groups": {
            key: {
                "count": g.count,
                "tta_minutes": _spread(g.tta),
                "ttm_minutes": _spread(g.ttm),
                "ttr_minutes": _spread(g.ttr),
                "breaches": {name: g.breaches[name] for name in TARGETS},
            }
            for key, g in report.groups.items()
        },
        "pages": {
            rotation: {"sent": p.sent, "acknowledged_within_target": p.acknowledged_within_target}
            for rotation, p in report.pages.items()
        },
    }


def to_json(report: Report) -> str:
    """The JSON contract, indented."""
    return json.dumps(contract(report), indent=2) + "\n"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _incident(row: Measured) -> str:
    """An incident in a Markdown table cell of an issue: its reference and title, made inert (service.text).

    A confidential one is named by nothing (not its title, project or number): the Markdown goes into
    issues, such as the digest's, that more people can read than the incident.
    """
    if row.confidential:
        return CONFIDENTIAL
    return f"{ref_text(_ref(row))} {neutralise_line(row.title)}"  # the bot's reference live, the title inert


def _ref(row: Measured) -> str:
    return f"{row.project_path or row.project_id}#{row.iid}"


def to_markdown(report: Report) -> str:
    """Markdown to paste into an issue or post as the digest."""
    lines = [
        f"## Incident report {report.start:%Y-%m-%d} – {report.end:%Y-%m-%d}",
        "",
        f"**{report.incidents}** incidents started, **{report.open}** still open. "
        f"Post-incident reviews: **{report.reviews_opened}** opened, **{report.reviews_open}** still open.",
        "",
        f"| {report.by.value} | count | TTA median | TTA p90 | TTM median | TTM p90 | TTR median | TTR p90 "
        "| acknowledge breaches | mitigate breaches | resolve breaches |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for g in report.groups.values():
        times = " | ".join(f"{_num(s.median)} | {_num(s.p90)}" for s in (g.tta, g.ttm, g.ttr))
        counts = " | ".join(str(g.breaches[name]) for name in TARGETS)
        lines.append(f"| {neutralise_line(g.key)} | {g.count} | {times} | {counts} |")
    lines += ["", "Times in minutes from the incident's start; `—`: no incident of the group reached it.", ""]
    lines += _pages_markdown(report)
    lines += _listing("Open incidents", report.open_incidents, "age")
    lines += _listing("Longest incidents", report.longest, "duration")
    return "\n".join(lines).rstrip() + "\n"


def _pages_markdown(report: Report) -> list[str]:
    """The pages per rotation (none: no table), the people paged and those who acknowledged within target."""
    if not report.pages:
        return []
    lines = [
        "### Pages by rotation",
        "",
        "| rotation | pages sent | acknowledged within target |",
        "| --- | ---: | ---: |",
    ]
    for rotation, p in report.pages.items():
        lines.append(f"| {neutralise_line(rotation)} | {p.sent} | {p.acknowledged_within_target} |")
    return [*lines, "", "A page is one person paged at one level; the target is that level's `ack_within_minutes`.", ""]


def _listing(title: str, items: list[Listed], what: str) -> list[str]:
    if not items:
        return [f"### {title}", "", "None.", ""]
    lines = [f"### {title}", "", f"| incident | severity | phase | {what} |", "| --- | ---: | --- | ---: |"]
    for item in items:
        row = item.row
        state = "" if item.resolved or what == "age" else " (open)"
        severity = row.highest_severity if row.highest_severity is not None else "—"
        phase = neutralise_line(row.phase or "—")
        lines.append(f"| {_incident(row)} | {severity} | {phase} | {human_duration(item.minutes)}{state} |")
    return [*lines, ""]


CSV_HEADER = [
    "group",
    "count",
    "tta_median_minutes",
    "tta_p90_minutes",
    "ttm_median_minutes",
    "ttm_p90_minutes",
    "ttr_median_minutes",
    "ttr_p90_minutes",
    "breaches_acknowledge",
    "breaches_mitigate",
    "breaches_resolve",
]

PAGES_HEADER = ["rotation", "pages_sent", "acknowledged_within_target"]


def to_csv(report: Report) -> str:
    """One row per group, for spreadsheets (empty cell: no incident of the group has that time)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for g in report.groups.values():
        cells: list[Any] = [g.key, g.count]
        for s in (g.tta, g.ttm, g.ttr):
            cells += ["" if s.median is None else s.median, "" if s.p90 is None else s.p90]
        cells += [g.breaches[name] for name in TARGETS]
        writer.writerow([csv_cell(cell) for cell in cells])  # a group named `=...` is text, not a formula
    if report.pages:  # a second table after an empty line, only when something was paged
        writer.writerows([[], PAGES_HEADER])
        for rotation, p in report.pages.items():
            writer.writerow([csv_cell(rotation), p.sent, p.acknowledged_within_target])
    return out.getvalue()


def chart(report: Report) -> str:
    """An SVG bar chart of median TTA/TTM/TTR per group (pygal; static: no script)."""
    bars = pygal.Bar(
        js=[],  # no script: the SVG is inlined into pages with a strict Content-Security-Policy
        disable_xml_declaration=True,
        style=DefaultStyle,
        width=720,
        height=320,
        explicit_size=True,
        title="Median minutes from start",
        x_title=report.by.value,
        legend_at_bottom=True,
        print_values=False,
    )
    bars.x_labels = list(report.groups)
    for attr, label in TIMES:
        bars.add(label, [getattr(g, attr).median for g in report.groups.values()])
    # pygal still inlines its config as a <script> (for the tooltips js=[] already dropped): remove it,
    # so the page needs no script at all under a strict Content-Security-Policy.
    return _SCRIPT.sub("", str(bars.render(is_unicode=True)))


def to_html(report: Report) -> str:
    """A self-contained HTML page: the summary, the chart (inline SVG), the tables."""
    head = (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Incident report {report.start:%Y-%m-%d} – {report.end:%Y-%m-%d}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #999;padding:.25rem .5rem}"
        "td.n{text-align:right}</style></head><body>"
    )
    parts = [
        head,
        f"<h1>Incident report {report.start:%Y-%m-%d} – {report.end:%Y-%m-%d}</h1>",
        f"<p><strong>{report.incidents}</strong> incidents started, <strong>{report.open}</strong> still open. "
        f"Post-incident reviews: <strong>{report.reviews_opened}</strong> opened, "
        f"<strong>{report.reviews_open}</strong> still open.</p>",
        f"<figure>{chart(report)}<figcaption>Median minutes from start, by {escape(report.by.value)}</figcaption>"
        "</figure>",
        _html_groups(report),
        _html_listing("Open incidents", report.open_incidents, "age"),
        _html_listing("Longest incidents", report.longest, "duration"),
        "</body></html>\n",
    ]
    return "\n".join(parts)


def _html_groups(report: Report) -> str:
    head = "".join(
        f"<th scope='col'>{escape(h)}</th>"
        for h in [report.by.value, "count"]
        + [f"{label} {stat}" for _, label in TIMES for stat in ("median", "p90")]
        + [f"{name} breaches" for name in TARGETS]
    )
    rows = []
    for g in report.groups.values():
        cells = [f"<th scope='row'>{escape(g.key)}</th>", f"<td class='n'>{g.count}</td>"]
        for s in (g.tta, g.ttm, g.ttr):
            cells += [f"<td class='n'>{_num(s.median)}</td>", f"<td class='n'>{_num(s.p90)}</td>"]
        cells += [f"<td class='n'>{g.breaches[name]}</td>" for name in TARGETS]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _html_incident(row: Measured) -> str:
    """An incident's link and title; a confidential one is named by nothing, as in the Markdown."""
    if row.confidential:
        return CONFIDENTIAL
    ref = escape(_ref(row))
    link = f"<a href='{escape(row.url, quote=True)}'>{ref}</a>" if safe_url(row.url) else ref
    return f"{link} {escape(row.title)}"


def _html_listing(title: str, items: list[Listed], what: str) -> str:
    if not items:
        return f"<h2>{escape(title)}</h2><p>None.</p>"
    rows = []
    for item in items:
        row = item.row
        state = "" if item.resolved or what == "age" else " (open)"
        rows.append(
            f"<tr><td>{_html_incident(row)}</td><td class='n'>{row.highest_severity or '—'}</td>"
            f"<td>{escape(row.phase or '—')}</td><td class='n'>{human_duration(item.minutes)}{state}</td></tr>"
        )
    head = f"<tr><th>incident</th><th>severity</th><th>phase</th><th>{what}</th></tr>"
    return f"<h2>{escape(title)}</h2><table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


RENDERERS = {Format.MD: to_markdown, Format.CSV: to_csv, Format.JSON: to_json, Format.HTML: to_html}


def render(report: Report, fmt: Format) -> str:
    """The report in `fmt`."""
    return RENDERERS[fmt](report)
