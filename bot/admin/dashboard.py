"""The dashboard's numbers and chart geometry, computed here and drawn as inline SVG by templates.

Charts are plain SVG rectangles and a polyline: nothing loads from a CDN, nothing runs in the
browser, and a phone renders them as well as a desktop. Geometry lives in a 600x200 viewBox that
scales to the screen's width.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.dialogue.counters import DayCounts
from bot.nlu.model import FALLBACK_INTENT

WIDTH, HEIGHT, AXIS = 600.0, 200.0, 18.0


@dataclass(frozen=True)
class Segment:
    """One channel's part of a day's column."""

    series: int
    name: str
    value: int
    y: float
    height: float


@dataclass(frozen=True)
class Column:
    """One day: x position, label and stacked segments."""

    x: float
    label: str
    total: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class StackedChart:
    """Messages per day, stacked by channel."""

    columns: tuple[Column, ...]
    series: tuple[str, ...]
    bar_width: float
    peak: int


@dataclass(frozen=True)
class Point:
    """A day's fallback rate."""

    x: float
    y: float
    label: str
    rate: float
    messages: int


@dataclass(frozen=True)
class LineChart:
    """Fallback rate per day, as a polyline."""

    points: tuple[Point, ...]
    polyline: str


@dataclass(frozen=True)
class Row:
    """A labelled horizontal bar; `share` of the biggest row, 0-100."""

    label: str
    value: int
    share: float


def _x(index: int, count: int) -> float:
    return (index + 0.5) * WIDTH / max(count, 1)


def messages_by_channel(days: Sequence[DayCounts]) -> StackedChart:
    """Stacked columns of messages per day and channel."""
    series = tuple(sorted({name for d in days for name in d.channels}))
    peak = max((d.messages for d in days), default=0)
    scale = (HEIGHT - AXIS) / peak if peak else 0.0
    columns = []
    for i, day in enumerate(days):
        top = HEIGHT - AXIS
        segments = []
        for s, name in enumerate(series):
            value = day.channels.get(name, 0)
            if value:
                top -= value * scale
                segments.append(Segment(s, name, value, top, value * scale))
        columns.append(Column(_x(i, len(days)), day.day.strftime("%d/%m"), day.messages,
                              tuple(segments)))
    return StackedChart(tuple(columns), series, WIDTH / max(len(days), 1) * 0.7, peak)


def fallback_rates(days: Sequence[DayCounts]) -> LineChart:
    """The share of messages that fell to fallback, per day (0 on a day without messages)."""
    points = []
    for i, day in enumerate(days):
        rate = day.intents.get(FALLBACK_INTENT, 0) / day.messages if day.messages else 0.0
        points.append(Point(_x(i, len(days)), (HEIGHT - AXIS) * (1 - rate),
                            day.day.strftime("%d/%m"), rate, day.messages))
    return LineChart(tuple(points), " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points))


def top_rows(counts: Counter[str], limit: int = 10) -> list[Row]:
    """The biggest counts as bars."""
    best = counts.most_common(limit)
    peak = best[0][1] if best else 0
    return [Row(label, value, 100.0 * value / peak if peak else 0.0) for label, value in best]


def funnel_rows(stages: Sequence[tuple[str, int]]) -> list[Row]:
    """Funnel stages as bars, each a share of the first stage."""
    first = stages[0][1] if stages else 0
    return [Row(label, value, 100.0 * value / first if first else 0.0) for label, value in stages]


def total_intents(days: Sequence[DayCounts]) -> Counter[str]:
    """Intents over the period, without the fallback (shown as its own rate)."""
    total: Counter[str] = Counter()
    for day in days:
        total.update(day.intents)
    total.pop(FALLBACK_INTENT, None)
    return total
