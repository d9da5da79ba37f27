"""Server-rendered SVG charts (no script): contributions per month, stacked by kind.

The SVG uses presentation attributes only (no style attributes), so the strict CSP holds.
Money and hours never share an axis: one chart per unit.
"""

from __future__ import annotations

from dataclasses import dataclass

COLOURS = {"money": "#1f6f8b", "material": "#e0a526", "hours_sponsored": "#3a7d44", "hours_volunteered": "#9bc53d"}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    month: str
    kind: str
    shown: str  # the value as the tooltip prints it


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]
    maximum: int
    kinds: list[str]
    ticks: list[tuple[float, str]]


def stacked(months: list[str], series: dict[str, dict[str, int]], kinds: list[str], *, width: int = 640,
            height: int = 220, fmt=str) -> Chart:
    """Bars per month stacked by kind; `fmt` turns a value into the text of a tooltip."""
    left, bottom, top = 56, 24, 8
    plot_h = height - bottom - top
    totals = [sum(series[k].get(m, 0) for k in kinds) for m in months]
    maximum = max(totals + [1])
    step = (width - left - 8) / max(len(months), 1)
    bar_w = step * 0.7
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for i, month in enumerate(months):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for kind in kinds:
            value = series[kind].get(month, 0)
            if value <= 0:
                continue
            h = plot_h * value / maximum
            y -= h
            bars.append(Bar(round(x, 1), round(y, 1), round(bar_w, 1), round(h, 1), COLOURS.get(kind, "#777"),
                            month, kind, fmt(value)))
        labels.append((round(x + bar_w / 2, 1), month[2:]))
    ticks = [(round(top + plot_h - plot_h * f, 1), fmt(int(maximum * f))) for f in (0, 0.5, 1)]
    return Chart(width, height, bars, labels, maximum, kinds, ticks)
