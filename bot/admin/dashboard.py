"""The console's dashboard: its numbers, and chart geometry drawn as inline SVG by templates.

Charts are plain SVG rectangles and a polyline: nothing loads from a CDN, nothing runs in the
browser, and a phone renders them as well as a desktop. Geometry lives in a 600x184 viewBox that
scales to the screen's width; the labels are HTML beside it (templates/dashboard.html), so they
keep their 12 px on a phone.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from bot.admin.campaigns import FUNNEL, Campaigns
from bot.admin.inbox import UnansweredStore
from bot.admin.leads import LEAD_FUNNEL, AreaRow, by_area, by_kecamatan, lead_funnel
from bot.admin.names import intent_name
from bot.dialogue.counters import DailyCounters, DayCounts
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.store import Live
from bot.leads import LeadStore
from bot.nlu.model import FALLBACK_INTENT
from bot.nlu.places import PlaceGazetteer

WIDTH, HEIGHT, AXIS = 600.0, 184.0, 2.0  # AXIS: below the plot, room for the axis line


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


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows."""

    days: int
    messages: int
    fallback_rate: float
    leads: int
    unanswered: int
    per_day: StackedChart
    fallbacks: LineChart
    intents: list[Row]
    areas: list[Row]
    funnel: dict[str, int]  # the campaigns' funnel by stage (campaigns.FUNNEL), theirs only
    funnel_bars: list[Row]
    follow_up: dict[str, int]  # every lead of the period and its follow-up (leads.LEAD_FUNNEL)
    follow_up_bars: list[Row]
    by_area: list[AreaRow]  # leads by kecamatan and kelurahan, with their follow-up
    intent_names: dict[str, str]  # the top intents as staff call them

    def named_intents(self) -> list[Row]:
        """The top intents' bars labelled in Indonesian."""
        return [replace(row, label=self.intent_names.get(row.label, row.label))
                for row in self.intents]


class Stats:
    """The dashboard's numbers, read from the counters, leads, campaigns and the inbox."""

    def __init__(self, counters: DailyCounters, leads: LeadStore, campaigns: Campaigns,
                 unanswered: UnansweredStore, knowledge: Live[KnowledgeBase], gazetteer: Path,
                 clock: Callable[[], datetime]) -> None:
        self._counters = counters
        self._leads = leads
        self._campaigns = campaigns
        self._unanswered = unanswered
        self._knowledge = knowledge
        self._gazetteer_path = gazetteer
        self._gazetteer: PlaceGazetteer | None = None
        self._clock = clock

    def gazetteer(self) -> PlaceGazetteer:
        """The East Java place list (Kemendagri codes), read once."""
        if self._gazetteer is None:
            self._gazetteer = PlaceGazetteer.load(self._gazetteer_path)
        return self._gazetteer

    async def dashboard(self, days: int) -> Dashboard:
        """The last `days` days' counters, leads by area and the inbox size."""
        today = self._clock().date()
        counts = await self._counters.days(today, days)
        leads = [lead async for lead in self._leads.all()]
        messages = sum(d.messages for d in counts)
        fallbacks = sum(d.intents.get(FALLBACK_INTENT, 0) for d in counts)
        funnel = await self._campaigns.funnel(days)
        follow_up = lead_funnel(leads, today - timedelta(days=days - 1))
        top = top_rows(total_intents(counts))
        kb = self._knowledge.current
        return Dashboard(
            days=days, messages=messages, fallback_rate=fallbacks / messages if messages else 0,
            leads=len(leads), unanswered=await self._unanswered.size(),
            per_day=messages_by_channel(counts), fallbacks=fallback_rates(counts),
            intents=top, intent_names={row.label: intent_name(row.label, kb) for row in top},
            areas=top_rows(by_kecamatan(leads)),
            funnel=funnel, funnel_bars=funnel_rows([(label, funnel[key]) for key, label in FUNNEL]),
            follow_up=follow_up,
            follow_up_bars=funnel_rows([(label, follow_up[k]) for k, label in LEAD_FUNNEL]),
            by_area=await asyncio.to_thread(by_area, leads, self.gazetteer()))
