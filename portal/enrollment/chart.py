"""The HR dashboard's chart of hours per month, drawn on the server as SVG (no script, no styles)."""

from __future__ import annotations

import datetime as dt

from babel.numbers import format_decimal
from markupsafe import Markup, escape

COLOURS = {"planned": "#cfd8d3", "awaiting": "#f2b134", "confirmed": "#0b5d4b", "axis": "#556070", "grid": "#e3e8e1"}


def _hours(minutes: int, language: str) -> str:
    return format_decimal(round(minutes / 60, 1), format="#,##0.#", locale=language)


def hours_chart(months: list[tuple[dt.date, int, int, int]], *, title: str, labels: dict[str, str],
                month_names: list[str], language: str = "nl") -> Markup:
    """Bars per month: planned (light), awaiting confirmation (amber) and confirmed (green)."""
    width, height = 720, 260
    left, right, top, bottom = 48, 12, 16, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(p, a + c) for _m, p, a, c in months] + [60])
    step_hours = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 10**9)
                      if peak / 60 / s <= 5)
    scale_top = max(step_hours * 60 * (int(peak / 60 / step_hours) + 1), 60)
    slot = plot_w / max(len(months), 1)
    bar = slot * 0.36

    def y(minutes: int) -> float:
        return top + plot_h - plot_h * minutes / scale_top

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-labelledby="hours-chart-title" class="chart" preserveAspectRatio="xMidYMid meet">',
             f'<title id="hours-chart-title">{escape(title)}</title>']
    tick = 0
    while tick <= scale_top:
        ty = y(tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{COLOURS["grid"]}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11" fill="{COLOURS["axis"]}">{escape(_hours(tick, language))}</text>')
        tick += step_hours * 60
    for index, (month, planned, awaiting, confirmed) in enumerate(months):
        x0 = left + index * slot + slot * 0.12
        parts.append(f'<rect x="{x0:.1f}" y="{y(planned):.1f}" width="{bar:.1f}" height="{y(0) - y(planned):.1f}" '
                     f'fill="{COLOURS["planned"]}"><title>{escape(labels["planned"])}: {escape(_hours(planned, language))}</title></rect>')
        x1 = x0 + bar + slot * 0.04
        parts.append(f'<rect x="{x1:.1f}" y="{y(confirmed):.1f}" width="{bar:.1f}" height="{y(0) - y(confirmed):.1f}" '
                     f'fill="{COLOURS["confirmed"]}"><title>{escape(labels["confirmed"])}: {escape(_hours(confirmed, language))}</title></rect>')
        if awaiting:
            parts.append(f'<rect x="{x1:.1f}" y="{y(confirmed + awaiting):.1f}" width="{bar:.1f}" '
                         f'height="{y(confirmed) - y(confirmed + awaiting):.1f}" fill="{COLOURS["awaiting"]}">'
                         f'<title>{escape(labels["awaiting"])}: {escape(_hours(awaiting, language))}</title></rect>')
        label = month_names[month.month - 1]
        parts.append(f'<text x="{left + index * slot + slot / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                     f'font-size="11" fill="{COLOURS["axis"]}">{escape(label)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="{COLOURS["axis"]}"/>')
    legend_x = left
    for key in ("planned", "confirmed", "awaiting"):
        parts.append(f'<rect x="{legend_x}" y="{height - 20}" width="12" height="12" fill="{COLOURS[key]}"/>')
        parts.append(f'<text x="{legend_x + 17}" y="{height - 10}" font-size="12" fill="{COLOURS["axis"]}">{escape(labels[key])}</text>')
        legend_x += 28 + 7 * len(labels[key])
    parts.append("</svg>")
    # Every piece of text above went through escape(); numbers are formatted by us.
    return Markup("".join(parts))  # noqa: S704
