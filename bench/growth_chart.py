"""How each dashboard page's time grows with the cohort, as an SVG line chart (bench/dashboard.py --write-docs).

One panel per engine; x is the number of learners and y the median time, both on log scales, so a page whose
time is proportional to N climbs one decade of y per decade of x (the grey dotted guide), a flat page stays
level. The targets are drawn as a dashed red line. Hand-written SVG: no plotting library, no script, no style
sheet (presentation attributes only), so it shows the same on GitHub and in any viewer.
"""

from __future__ import annotations

import math
from html import escape

PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#79706e",
]  # fmt: skip
PANEL_W, PANEL_H = 420, 300
LEFT, TOP, GAP = 56, 40, 40
PLOT_W, PLOT_H = PANEL_W - LEFT - 16, PANEL_H - TOP - 40


def _decades(lo: float, hi: float) -> tuple[int, int]:
    return math.floor(math.log10(lo)), math.ceil(math.log10(hi))


def _label_n(n: int) -> str:
    return f"{n // 1000:,}k" if n >= 1000 and n % 1000 == 0 else f"{n:,}"


def _label_ms(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:g} ms"


Series = dict[str, dict[int, float]]  # {page: {learners: median ms}}


def growth_svg(panels: list[tuple[str, Series, Series]], targets: dict[int, float], title: str) -> str:
    """`panels`: (engine, pages' times, pages' times with nothing kept — drawn dashed); `targets`: {learners: ms}."""
    sizes = sorted({n for _e, pages, _c in panels for series in pages.values() for n in series})
    values = [ms for _e, w, c in panels for pages in (w, c) for series in pages.values() for ms in series.values()]
    values = [ms for ms in values if ms > 0]
    values += list(targets.values())
    if not sizes or not values:
        return ""
    x_lo, x_hi = _decades(min(sizes), max(sizes))
    x_hi = max(x_hi, x_lo + 1)
    y_lo, y_hi = _decades(min(values), max(values))
    y_hi = max(y_hi, y_lo + 1)
    pages = list(dict.fromkeys(p for _e, ps, _c in panels for p in ps))
    colours = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(pages)}
    legend_rows = math.ceil(len(pages) / 2)
    width = max(len(panels) * PANEL_W + (len(panels) - 1) * GAP + 20, 560)  # room for the notes below
    height = PANEL_H + 30 + legend_rows * 18 + 44
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="system-ui, sans-serif" font-size="11" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]

    def x_of(n: float) -> float:
        return LEFT + PLOT_W * (math.log10(n) - x_lo) / (x_hi - x_lo)

    def y_of(ms: float) -> float:
        return TOP + PLOT_H * (1 - (math.log10(max(ms, 10**y_lo)) - y_lo) / (y_hi - y_lo))

    for k, (engine, series_by_page, cold_by_page) in enumerate(panels):
        ox = 10 + k * (PANEL_W + GAP)
        out.append(f'<g transform="translate({ox},0)">')
        out.append(f'<text x="{LEFT}" y="22" font-size="13" font-weight="bold">{escape(engine)}</text>')
        for d in range(y_lo, y_hi + 1):
            y = y_of(10**d)
            out.append(f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dddddd"/>')
            out.append(
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555555">{_label_ms(10**d)}</text>'
            )
        for n in sizes:
            x = x_of(n)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + PLOT_H}" stroke="#eeeeee"/>')
            out.append(
                f'<text x="{x:.1f}" y="{TOP + PLOT_H + 16}" text-anchor="middle" fill="#555555">{_label_n(n)}</text>'
            )
        out.append(
            f'<text x="{LEFT + PLOT_W / 2}" y="{TOP + PLOT_H + 32}" text-anchor="middle" fill="#555555">'
            "learners in the cohort (log scale)</text>"
        )
        # a guide: time proportional to the number of learners, from the slowest page's first point
        firsts = [s[min(s)] for s in series_by_page.values() if s]
        if firsts and len(sizes) > 1:
            n0, ms0 = sizes[0], max(firsts)
            n1 = min(sizes[-1], n0 * 10 ** (y_hi - math.log10(ms0)))
            out.append(
                f'<line x1="{x_of(n0):.1f}" y1="{y_of(ms0):.1f}" x2="{x_of(n1):.1f}" y2="{y_of(ms0 * n1 / n0):.1f}" '
                'stroke="#999999" stroke-dasharray="2 3"/>'
            )
            out.append(
                f'<text x="{x_of(n1) - 4:.1f}" y="{y_of(ms0 * n1 / n0) + 12:.1f}" text-anchor="end" fill="#999999">'
                "∝ N</text>"
            )
        if targets:
            points = " ".join(f"{x_of(n):.1f},{y_of(ms):.1f}" for n, ms in sorted(targets.items()))
            out.append(f'<polyline points="{points}" fill="none" stroke="#d62728" stroke-dasharray="6 4"/>')
            n, ms = max(targets.items())
            out.append(
                f'<text x="{x_of(n) - 4:.1f}" y="{y_of(ms) - 5:.1f}" text-anchor="end" fill="#d62728">target</text>'
            )
        for page, series in cold_by_page.items():
            points = sorted((n, ms) for n, ms in series.items() if ms > 0)
            coords = " ".join(f"{x_of(n):.1f},{y_of(ms):.1f}" for n, ms in points)
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{colours[page]}" stroke-width="1" '
                f'stroke-dasharray="3 3" opacity="0.7"><title>{escape(page)}, nothing kept: '
                + ", ".join(f"{_label_n(n)} {ms:.0f} ms" for n, ms in points)
                + "</title></polyline>"
            )
        for page, series in series_by_page.items():
            points = sorted((n, ms) for n, ms in series.items() if ms > 0)
            colour = colours[page]
            coords = " ".join(f"{x_of(n):.1f},{y_of(ms):.1f}" for n, ms in points)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2">')
            out.append(f"<title>{escape(page)}: " + ", ".join(f"{_label_n(n)} {ms:.0f} ms" for n, ms in points))
            out.append("</title></polyline>")
            for n, ms in points:
                out.append(f'<circle cx="{x_of(n):.1f}" cy="{y_of(ms):.1f}" r="3" fill="{colour}"/>')
        out.append("</g>")
    for i, page in enumerate(pages):
        x = 10 + LEFT + (i % 2) * (width / 2)
        y = PANEL_H + 30 + (i // 2) * 18
        out.append(
            f'<line x1="{x:.1f}" x2="{x + 18:.1f}" y1="{y - 4}" y2="{y - 4}" '
            f'stroke="{colours[page]}" stroke-width="3"/>'
        )
        out.append(f'<text x="{x + 24:.1f}" y="{y}">{escape(page)}</text>')
    note_y = PANEL_H + 30 + legend_rows * 18 + 4
    kept = "Solid: the page asked again (its numbers kept)."
    out.append(f'<text x="{10 + LEFT}" y="{note_y}" fill="#555555">{kept}</text>')
    out.append(
        f'<text x="{10 + LEFT}" y="{note_y + 16}" fill="#555555">Dashed, thin: nothing kept '
        "(the first request after a change in the cohort).</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"
