"""Charts drawn by the server as SVG, for the dashboard and the learner's pages alike: this module does the
geometry, the `bar_chart` macro of `templates/_macros/charts.html` the markup. No script and no style attributes
(the CSP forbids both): sizes and positions are SVG presentation attributes, colours come from classes in app.css.
Every chart is paired with a data table on its page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

ROW = 22  # height of one bar's row
BAR = 15  # height of a bar
PAD = 4


@dataclass(frozen=True)
class Bar:
    label: str  # full text (the <title> of the row: shown on hover, read by screen readers)
    short: str  # the label as drawn, shortened to fit
    value: float
    display: str  # the value as drawn after the bar
    y: float  # top of the row
    width: float  # length of the bar


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one row each: a label, a bar from `label_width`, the value after it."""

    bars: list[Bar]
    width: int
    label_width: int
    plot_width: int

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * ROW + PAD

    def text_y(self, bar: Bar) -> float:
        return bar.y + BAR - 3

    def value_x(self, bar: Bar) -> float:
        return self.label_width + bar.width + 6

    @property
    def bar_height(self) -> int:
        return BAR


def horizontal_bars(
    items: Sequence[tuple[str, float, str]],
    max_value: float | None = None,
    width: int = 720,
    label_width: int = 240,
    value_width: int = 110,
) -> BarChart:
    """`items` are (label, value, displayed value). Bars are scaled to `max_value` (default: the largest)."""
    top = max_value if max_value is not None else max((v for _l, v, _d in items), default=0)
    plot = width - label_width - value_width
    bars = [
        Bar(
            label=label,
            short=shorten(label, label_width - 12),
            value=value,
            display=display,
            y=i * ROW + PAD / 2,
            width=round(plot * value / top, 1) if top else 0,
        )
        for i, (label, value, display) in enumerate(items)
    ]
    return BarChart(bars, width, label_width, plot)


def text_width(text: str, em: float = 13) -> float:
    """Rough drawn width of `text` in pixels: wide (CJK) characters count as one em, others about half."""
    return sum(em if unicodedata.east_asian_width(ch) in ("W", "F") else em * 0.55 for ch in text)


def shorten(text: str, pixels: float) -> str:
    if text_width(text) <= pixels:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…") > pixels:
            break
        out += ch
    return out + "…"
