"""The board's colours pass WCAG AA (4.5:1 for text) in light and dark, read from the stylesheet itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import service.web.board

CSS = (Path(service.web.board.__file__).parent / "static" / "board.css").read_text()
AA = 4.5
# Text colour on each background it is used on.
PAIRS = [
    ("fg", "bg"), ("fg", "panel"), ("fg", "alert-bg"), ("fg", "notice-bg"),
    ("muted", "bg"), ("muted", "panel"), ("muted", "alert-bg"),
    ("link", "bg"), ("link", "panel"), ("link", "alert-bg"), ("link", "notice-bg"),
    ("alert", "bg"), ("alert", "alert-bg"),
]  # fmt: skip


def luminance(colour: str) -> float:
    """WCAG relative luminance of `#rrggbb`."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def scheme(block: str) -> dict[str, str]:
    """The custom properties (`--name: #rrggbb`) of one block."""
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block))


LIGHT = scheme(CSS.split("@media (prefers-color-scheme: dark)", 1)[0])
DARK = {**LIGHT, **scheme(CSS.split("@media (prefers-color-scheme: dark)", 1)[1].split("}\n}", 1)[0])}


@pytest.mark.parametrize("name, colours", [("light", LIGHT), ("dark", DARK)])
def test_text_colours_pass_aa(name: str, colours: dict[str, str]) -> None:
    """Every text/background pair of the scheme is at least 4.5:1."""
    weak = {(f, b): round(contrast(colours[f], colours[b]), 2) for f, b in PAIRS}
    assert {pair: ratio for pair, ratio in weak.items() if ratio < AA} == {}, name


def test_severity_badges_pass_aa() -> None:
    """Each severity badge's text on its own background is at least 4.5:1 (the same in both schemes)."""
    badges = re.findall(r"\.sev\d \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}", CSS)
    assert len(badges) == 4
    assert all(contrast(bg, fg) >= AA for bg, fg in badges), badges
