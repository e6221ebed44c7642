"""Small charts as inline SVG, drawn on the server (no script, nothing from the network): bars of counts per time
bucket stacked by series, and a sparkline. Pure functions of their data and of labels the caller has translated;
every text is escaped, every chart has a ``<title>`` and an ``aria-label``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 640, 180  # the bar chart's view box; CSS scales it to the card
LEFT, BOTTOM, TOP = 36, 22, 8  # room for the y ticks, the x labels and the top tick's text
SPARK_WIDTH, SPARK_HEIGHT = 120, 28


@dataclass(frozen=True)
class Series:
    key: str  # CSS class suffix (console-chart-<key>) and the bucket's count key
    label: str  # translated


@dataclass
class Bucket:
    start: datetime
    label: str  # what the x axis shows under it (already in the user's time zone)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def fill(buckets: list[Bucket], rows: Iterable[tuple[datetime, str, int]]) -> list[Bucket]:
    """Adds ``(moment, key, count)`` rows to the last bucket that starts at or before the moment (buckets
    ascending); a row before the first bucket is not counted."""
    for moment, key, count in rows:
        for bucket in reversed(buckets):
            if bucket.start <= moment:
                bucket.counts[key] = bucket.counts.get(key, 0) + count
                break
    return buckets


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (an axis top that reads well); 1 for 0."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def stacked_bars(buckets: Sequence[Bucket], series: Sequence[Series], *, title: str, empty: str) -> SafeString:
    """One bar per bucket, its series stacked (in ``series`` order, from the bottom); the y axis from 0 to a nice
    ceiling of the tallest bar. ``empty``: the text shown when every bucket is empty."""
    top = nice_ceiling(max((b.total for b in buckets), default=0))
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(buckets), 1)
    bars, labels = [], []
    every = max(1, math.ceil(len(buckets) / 8))  # at most ~8 x labels
    for index, bucket in enumerate(buckets):
        x = LEFT + index * slot + slot * 0.1
        base = float(TOP + plot_h)
        for item in series:
            count = bucket.counts.get(item.key, 0)
            if not count:
                continue
            height = plot_h * count / top
            base -= height
            place = (f"{x:.1f}", f"{base:.1f}", f"{slot * 0.8:.1f}", f"{height:.1f}")
            bars.append((*place, item.key, f"{bucket.label} · {item.label}: {count}"))
        if index % every == 0:
            labels.append((f"{x + slot * 0.4:.1f}", HEIGHT - 6, bucket.label))
    body = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="console-chart-{}"><title>{}</title></rect>',
        bars,
    )
    ticks = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="console-chart-axis"/>'
        '<text x="{}" y="{}" text-anchor="end" class="console-chart-tick">{}</text>'
        '<text x="{}" y="{}" text-anchor="end" class="console-chart-tick">0</text>',
        LEFT, TOP + plot_h, WIDTH, TOP + plot_h,
        LEFT - 4, TOP + 8, _number(top),
        LEFT - 4, TOP + plot_h,
    )  # fmt: skip
    xs = format_html_join("", '<text x="{}" y="{}" text-anchor="middle" class="console-chart-tick">{}</text>', labels)
    note = (
        format_html('<text x="{}" y="{}" text-anchor="middle" class="console-chart-empty">{}</text>',
                    LEFT + plot_w // 2, TOP + plot_h // 2, empty)
        if not bars else ""
    )  # fmt: skip
    return format_html(
        '<svg class="console-chart" role="img" aria-label="{}" viewBox="0 0 {} {}">'
        "<title>{}</title>{}{}{}{}</svg>",
        title, WIDTH, HEIGHT, title, ticks, body, xs, note,
    )  # fmt: skip


def legend(series: Sequence[Series]) -> SafeString:
    """The series' colours and names, as HTML under a chart (text the translation check reads)."""
    return format_html(
        '<ul class="console-legend">{}</ul>',
        format_html_join(
            "",
            '<li><span class="console-swatch console-chart-{}"></span>{}</li>',
            ((item.key, item.label) for item in series),
        ),
    )


def sparkline(values: Sequence[float], *, title: str) -> SafeString:
    """A line of ``values`` (oldest first) scaled from 0 to their nice ceiling; a flat baseline when fewer than
    two values are known."""
    top = nice_ceiling(max(values, default=0))
    if len(values) < 2:
        points = [(0.0, SPARK_HEIGHT - 1.0), (float(SPARK_WIDTH), SPARK_HEIGHT - 1.0)]
    else:
        step = SPARK_WIDTH / (len(values) - 1)
        points = [(i * step, SPARK_HEIGHT - 1 - (SPARK_HEIGHT - 2) * v / top) for i, v in enumerate(values)]
    return format_html(
        '<svg class="console-spark" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" height="{}">'
        '<title>{}</title><polyline points="{}" fill="none"/></svg>',
        title, SPARK_WIDTH, SPARK_HEIGHT, SPARK_WIDTH, SPARK_HEIGHT, title,
        " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
    )  # fmt: skip
