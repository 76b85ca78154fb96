"""The board's trend chart: weekly median TTA/TTM/TTR over the last 30 days (pygal SVG, no script)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

import pygal
from pygal.style import Style

from service.durations import human_duration
from service.reports.figures import nearest_rank
from service.store.measure import Measured

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)
Y_MARKS = [1, 10, 60, 600, 1440, 10080]  # 1m, 10m, 1h, 10h, 1d, 7d on the log scale
WEEKS = 5  # 30 days end in the fifth week back
# Colours with >= 4.5:1 against the page background of each scheme (text) and >= 3:1 (lines).
SCHEMES = {
    "light": Style(
        background="transparent",
        plot_background="transparent",
        foreground="#1f2328",
        foreground_strong="#1f2328",
        foreground_subtle="#6e7781",
        colors=("#0b5cad", "#a3410b", "#1a7f37"),
        font_family="system-ui, sans-serif",
    ),
    "dark": Style(
        background="transparent",
        plot_background="transparent",
        foreground="#e6edf3",
        foreground_strong="#e6edf3",
        foreground_subtle="#8b949e",
        colors=("#6cb6ff", "#f0883e", "#56d364"),
        font_family="system-ui, sans-serif",
    ),
}


def weekly_medians(rows: Iterable[Measured], now: datetime) -> tuple[list[str], dict[str, list[float | None]]]:
    """Per week (oldest first, labelled by its first day) the median TTA/TTM/TTR of incidents started in it."""
    buckets: list[list[Measured]] = [[] for _ in range(WEEKS)]
    starts = [now - timedelta(days=7 * (WEEKS - i)) for i in range(WEEKS)]
    for row in rows:
        started = now - timedelta(minutes=row.age)
        index = int((started - starts[0]).total_seconds() // (7 * 86400))
        if 0 <= index < WEEKS:
            buckets[index].append(row)
    labels = [f"{s:%b %d}" for s in starts]
    series: dict[str, list[float | None]] = {}
    for name in ("tta", "ttm", "ttr"):
        medians = [nearest_rank([v for r in b if (v := getattr(r, name)) is not None], 50) for b in buckets]
        # A log scale shows minutes to acknowledge beside days to resolve; it cannot show zero.
        series[name] = [None if m is None else max(m, 1.0) for m in medians]
    return labels, series


def trend_svg(rows: Iterable[Measured], now: datetime, scheme: str = "light") -> str:
    """The chart as an SVG document (served as an image: the page's CSP stays strict)."""
    labels, series = weekly_medians(rows, now)
    chart = pygal.Line(
        js=[],
        style=SCHEMES.get(scheme, SCHEMES["light"]),
        width=640,
        height=260,
        explicit_size=True,
        title="Weekly median time from start (log scale, last 30 days)",
        legend_at_bottom=True,
        show_dots=True,
        allow_interruptions=True,
        logarithmic=True,
    )
    chart.x_labels = labels
    chart.y_labels = Y_MARKS
    chart.value_formatter = human_duration
    for name, label in (("tta", "TTA"), ("ttm", "TTM"), ("ttr", "TTR")):
        chart.add(label, series[name])
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))
