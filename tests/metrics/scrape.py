"""Reading /metrics as Prometheus does, and the documented list (docs/METRICS.md) it is checked against."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

DOC = Path(__file__).resolve().parents[2] / "docs" / "METRICS.md"
# What an id looks like: 8+ hex digits in a row (uuid4().hex, a hash), a dashed uuid, a long number (an engine job id).
ID_LIKE = re.compile(r"[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-|\d{7,}", re.IGNORECASE)
STRUCTURAL = {"le", "quantile"}  # labels of histogram buckets and summaries, added by the format


@dataclass(frozen=True)
class Documented:
    type: str
    labels: frozenset[str]


def documented() -> dict[str, Documented]:
    """Metric name -> type and labels, from every table row of docs/METRICS.md whose first cell names metrics."""
    found: dict[str, Documented] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([a-z_:]+)`", cells[0])
        labels = frozenset(re.findall(r"`([a-z_]+)`", cells[2]))
        for name in names:
            found[name] = Documented(cells[1], labels)
    return found


def family_name(documented_name: str, type_: str) -> str:
    """The name the parser gives a family: counters without their ``_total``."""
    if "counter" in type_ and documented_name.endswith("_total"):
        return documented_name.removesuffix("_total")
    return documented_name


def scrape_text(client: Client, **headers: str) -> str:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")  # the Prometheus text format
    return response.content.decode("utf-8")


def samples(text: str) -> dict[str, list[Sample]]:
    """Family name -> its samples."""
    return {family.name: list(family.samples) for family in text_string_to_metric_families(text)}


def value(text: str, sample_name: str, **labels: str) -> float:
    """The sum of the samples of that name whose labels include ``labels`` (0 when there is none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def violations(text: str, doc: dict[str, Documented]) -> list[str]:
    """Every sample whose family is not documented, whose labels are not its documented ones, or whose label value
    looks like an id."""
    families = {family_name(name, d.type): d for name, d in doc.items()}
    problems = []
    for family in text_string_to_metric_families(text):
        spec = families.get(family.name)
        if spec is None:
            problems.append(f"{family.name}: not in docs/METRICS.md")
            continue
        for sample in family.samples:
            extra = set(sample.labels) - spec.labels - STRUCTURAL
            if extra:
                problems.append(f"{sample.name}: labels {sorted(extra)} are not documented")
            for label, label_value in sample.labels.items():
                if label not in STRUCTURAL and ID_LIKE.search(label_value):
                    problems.append(f"{sample.name}: {label}={label_value!r} looks like an id")
    return problems
