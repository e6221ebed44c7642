"""Meta tests: a new API route, or a new event type without a test that produces and asserts it, fails here."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from controlplane.eventlog import types
from tests import event_coverage, event_recording
from tests.api.endpoints import ENDPOINTS, UNSCOPED


def _api_routes() -> set[str]:
    """'<url name>.<method>' for every route under /api/v1/."""
    found: set[str] = set()

    def walk(patterns, prefix: str) -> None:  # type: ignore[no-untyped-def]
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith("api/v1/"):
                actions = getattr(pattern.callback, "actions", None) or {"post": "post"}
                for method in actions:
                    if method not in ("head", "options"):  # DRF adds head to a GET route once it served one
                        found.add(f"{pattern.name}.{method}")

    walk(get_resolver().url_patterns, "")
    return found


def test_every_api_route_is_declared_for_the_generated_tests():
    declared = {e.name for e in ENDPOINTS}
    routes = {r for r in _api_routes() if r.split(".")[0] not in UNSCOPED}
    assert routes - declared == set(), "add these routes to tests/api/endpoints.py"
    assert declared - routes == set(), "these declared endpoints no longer exist"


def _registered() -> list[str]:
    return [n for n in types.registered_names() if not n.startswith("testing.")]  # throwaway types of tests


def test_every_event_type_is_produced_and_asserted_by_a_named_test():
    # Produced: tests/event_recording.py fails each named test whose run leaves a mapped type out of the log.
    assert event_coverage.problems(_registered()) == []


@pytest.fixture
def planted():
    @types.event_type("meta.planted_happened", tenantless=True)
    @dataclass(frozen=True)
    class PlantedHappened:
        thing_id: str

    yield PlantedHappened
    types.unregister("meta.planted_happened")


def test_a_new_event_type_without_a_producing_test_fails_the_meta_test(planted):
    assert event_coverage.problems(_registered()) == [
        "meta.planted_happened: no test produces and asserts it (add it to tests/event_coverage.py)"
    ]
    # mapped to a test that neither asserts on it nor produces it
    test = "tests/api/test_meta.py::test_every_api_route_is_declared_for_the_generated_tests"
    covered = {**event_coverage.COVERED, "meta.planted_happened": test}
    assert event_coverage.problems(_registered(), covered) == [
        f"meta.planted_happened: {test} does not assert on it (its wire name or PlantedHappened in an assert)"
    ]
    assert event_recording.shortfall(test, {"tenancy.tenant_created"}, covered) == (
        f"tests/event_coverage.py names {test} as the producer of meta.planted_happened, "
        "but the event log holds no such event at its end"
    )
    assert event_recording.shortfall(test, {"meta.planted_happened"}, covered) is None
    # a test that is gone
    gone = {**event_coverage.COVERED, "meta.planted_happened": "tests/api/test_meta.py::test_gone"}
    assert event_coverage.problems(_registered(), gone) == [
        "meta.planted_happened: tests/api/test_meta.py::test_gone does not exist"
    ]


@pytest.mark.django_db
def test_the_recorder_sees_what_the_test_appended_before_its_rollback(planted):
    from controlplane.eventlog import store
    from controlplane.eventlog.metadata import Metadata

    assert "meta.planted_happened" not in event_recording.logged_types()
    store.append(
        store.StreamRef("meta.planted", "planted-1"),
        0,
        [planted(thing_id="1")],
        Metadata.for_system(None, reason="tests"),
    )
    assert "meta.planted_happened" in event_recording.logged_types()
