"""The console's inline SVG charts (controlplane/console/charts.py): scaling, empty data, escaping, accessibility."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from controlplane.console.charts import Bucket, Series, fill, legend, nice_ceiling, sparkline, stacked_bars

T0 = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
SERIES = [Series("good", "Succeeded"), Series("bad", "Failed")]


def buckets(n: int) -> list[Bucket]:
    return [Bucket(T0 + timedelta(hours=k), f"{k:02d}:00") for k in range(n)]


def heights(svg: str, key: str) -> list[float]:
    return [float(h) for h in re.findall(rf'height="([\d.]+)" class="console-chart-{key}"', svg)]


def test_nice_ceilings_read_well():
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 3, 7, 10, 11, 140, 501)] == [1, 0.5, 1, 5, 10, 10, 20, 200, 1000]


def test_rows_fall_into_the_last_bucket_starting_at_or_before_them_and_earlier_rows_are_dropped():
    rows = [
        (T0 - timedelta(minutes=1), "good", 5),
        (T0, "good", 1),
        (T0 + timedelta(minutes=59), "bad", 2),
        (T0 + timedelta(hours=2, minutes=5), "good", 1),
        (T0 + timedelta(hours=9), "bad", 1),  # after the last start: the last bucket
        (T0 + timedelta(hours=2), "good", 3),
    ]
    filled = fill(buckets(3), rows)
    assert [b.counts for b in filled] == [{"good": 1, "bad": 2}, {}, {"good": 4, "bad": 1}]
    assert [b.total for b in filled] == [3, 0, 5]


def test_bars_are_stacked_and_scaled_to_a_nice_ceiling_of_the_tallest():
    data = fill(buckets(2), [(T0, "good", 3), (T0, "bad", 2), (T0 + timedelta(hours=1), "good", 4)])
    svg = stacked_bars(data, SERIES, title="Runs", empty="EMPTY-NOTE")
    plot = 180 - 22 - 8  # the view box's height less the x labels and the top margin
    assert heights(svg, "good") == [plot * 3 / 5, plot * 4 / 5]
    assert heights(svg, "bad") == [plot * 2 / 5]
    assert ">5</text>" in svg and "EMPTY-NOTE" not in svg  # the top tick: 5 is already nice
    assert "00:00 · Failed: 2" in svg and "01:00 · Succeeded: 4" in svg  # each bar part says what it is


def test_an_empty_chart_says_so_and_draws_no_bars():
    svg = stacked_bars(buckets(24), SERIES, title="Runs", empty="No runs in this time.")
    assert "<rect" not in svg and "No runs in this time." in svg and ">1</text>" in svg
    assert "<rect" not in stacked_bars([], SERIES, title="Runs", empty="EMPTY-NOTE")


def test_labels_and_titles_are_escaped_and_the_chart_is_accessible():
    evil = '<script>alert("x")</script>'
    data = fill([Bucket(T0, evil)], [(T0, "good", 1)])
    svg = stacked_bars(data, [Series("good", evil)], title=evil, empty=evil)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert re.search(r'<svg [^>]*role="img" aria-label="&lt;script', svg) and "<title>&lt;script" in svg
    assert "<script>" not in legend([Series("good", evil)])
    spark = sparkline([1, 2], title=evil)
    assert "<script>" not in spark and 'role="img"' in spark and "<title>&lt;script" in spark


def test_a_sparkline_spans_its_box_from_zero_to_a_nice_ceiling_and_is_flat_without_two_values():
    points = re.search(r'points="([^"]+)"', sparkline([0, 5, 10], title="r")).group(1).split()
    assert points == ["0.0,27.0", "60.0,14.0", "120.0,1.0"]
    for values in ([], [7]):
        flat = re.search(r'points="([^"]+)"', sparkline(values, title="r")).group(1)
        assert flat == "0.0,27.0 120.0,27.0"
