"""Server-rendered SVG charts: small, text-based, no scripts, each described for screen readers.

Colours are not the only signal: bars carry their value as text and lines carry point markers;
every chart is shown next to the table of its data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from html import escape

INK = "#1f2933"
BAR = "#1d5fa8"
ALERT = "#b42318"
GRID = "#c5cbd3"


def _uid(title: str, labels: Sequence[str]) -> str:
    # Stable across runs (hash() is salted per process): reports must be reproducible.
    return hashlib.sha1("|".join([title, *labels]).encode()).hexdigest()[:10]


def _text_width(text: str, size: float = 11) -> float:
    # Chinese characters are about one em wide, Latin ones about half (no font metrics here).
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    digits: int = 1,
    highlight: Sequence[bool] | None = None,
    width: int = 640,
) -> str:
    """A horizontal bar chart (one bar per label)."""
    row, left, right = 22, 150, 60
    height = row * len(values) + 30
    top = max(values, default=0) or 1.0
    scale = (width - left - right) / top
    uid = "c" + _uid(title, labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{uid}" class="chart">',
        f'<title id="{uid}">{escape(title)}</title>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 10 + i * row
        colour = ALERT if highlight and highlight[i] else BAR
        w = max(1.0, value * scale)
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{escape(label)}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="{colour}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 14}" font-size="12" fill="{INK}">'
            f"{_fmt(value, digits)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    digits: int = 1,
    width: int = 640,
    height: int = 220,
) -> str:
    """A line chart of one or more series over the labels (e.g. months)."""
    left, right, top_pad, bottom = 50, 40, 16, 40  # room for the last label's second half
    values = [v for s in series.values() for v in s if v is not None]
    hi = max(values, default=1.0) * 1.1 or 1.0
    lo = 0.0
    n = max(len(labels), 1)
    step = (width - left - right) / max(n - 1, 1)

    def y(v: float) -> float:
        return top_pad + (height - top_pad - bottom) * (1 - (v - lo) / (hi - lo))

    uid = "l" + _uid(title, labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{uid}" class="chart">',
        f'<title id="{uid}">{escape(title)}</title>',
    ]
    for frac in (0, 0.5, 1):
        v = lo + (hi - lo) * frac
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="{GRID}"/><text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="{INK}">{_fmt(v, digits)}</text>'
        )
    for i, label in enumerate(labels):
        parts.append(
            f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="11" fill="{INK}">{escape(label)}</text>'
        )
    dashes = ("", "6 3", "2 3")
    markers = ("circle", "rect", "circle")
    legend_x = left + 6.0
    for k, (name, points) in enumerate(series.items()):
        coords = [(left + i * step, y(v)) for i, v in enumerate(points) if v is not None]
        if not coords:
            continue
        path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
        colour = (BAR, ALERT, INK)[k % 3]
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="{dashes[k % 3]}"/>'
        )
        for x, yy in coords:
            if markers[k % 3] == "rect":
                parts.append(
                    f'<rect x="{x - 3:.1f}" y="{yy - 3:.1f}" width="6" height="6" fill="{colour}"/>'
                )
            else:
                parts.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3" fill="{colour}"/>')
        parts.append(
            f'<text x="{legend_x:.0f}" y="{height - 6}" font-size="11" fill="{colour}">'
            f"{'—' if not dashes[k % 3] else '- -'} {escape(name)}</text>"
        )
        legend_x += _text_width(name) + 40
    parts.append("</svg>")
    return "".join(parts)
