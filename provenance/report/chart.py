"""Inline SVG bar charts for the HTML report: no script, no external resource, values escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from provenance.lifecycle.states import COLOURS


def _nice_max(value: int) -> int:
    """Return a round axis maximum at or above ``value`` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(
    bars: Sequence[tuple[str, int]], title: str, element_id: str, colour: str = "#6b8fb5"
) -> str:
    """Return an SVG column chart of ``(label, value)`` bars, with an axis and value labels."""
    width, height = 560, 220
    left, right, top, bottom = 44, 10, 40, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, v in bars), default=0))
    count = max(len(bars), 1)
    slot = plot_w / count
    bar_w = max(min(slot * 0.7, 48), 1)
    parts = [
        f'<svg id="{escape(element_id)}" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for tick in sorted({0, top_value // 2, top_value}):
        y = top + plot_h - plot_h * tick / top_value
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{tick}</text>'
        )
    label_every = max(1, round(count / 14))
    for index, (label, value) in enumerate(bars):
        x = left + slot * index + (slot - bar_w) / 2
        bar_h = plot_h * value / top_value
        y = top + plot_h - bar_h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
            f'fill="{colour}"><title>{escape(label)}: {value}</title></rect>'
        )
        if value:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" class="value" '
                f'text-anchor="middle">{value}</text>'
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" class="axis" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def status_chart(counts: Sequence[tuple[str, int]], title: str, element_id: str) -> str:
    """Return an SVG horizontal bar chart of AI assets per status, coloured by status."""
    row_h, left, width = 26, 96, 560
    height = 32 + row_h * len(counts) + 8
    top_value = _nice_max(max((v for _, v in counts), default=0))
    plot_w = width - left - 70
    parts = [
        f'<svg id="{escape(element_id)}" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="8" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for index, (status, value) in enumerate(counts):
        y = 30 + index * row_h
        bar_w = plot_w * value / top_value
        colour = COLOURS.get(status, "#6b8fb5")
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" class="axis" text-anchor="end">'
            f"{escape(status)}</text>"
        )
        parts.append(
            f'<rect x="{left}" y="{y + 3}" width="{bar_w:.1f}" height="{row_h - 8}" '
            f'fill="{colour}">'
            f"<title>{escape(status)}: {value}</title></rect>"
        )
        parts.append(f'<text x="{left + bar_w + 6:.1f}" y="{y + 15}" class="value">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)
