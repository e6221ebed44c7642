"""Meta tests: a new API route or a new event type without tests fails here."""

from __future__ import annotations

import importlib

from django.urls import URLPattern, URLResolver, get_resolver

from controlplane.eventlog import types
from tests.api.endpoints import ENDPOINTS, UNSCOPED
from tests.event_coverage import COVERED


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


def test_every_event_type_is_produced_by_a_named_test():
    registered = set(types.registered_names()) - {n for n in types.registered_names() if n.startswith("testing.")}
    assert registered - set(COVERED) == set(), "add the new event types to tests/event_coverage.py"
    assert set(COVERED) - registered == set(), "these event types are no longer registered"
    for wire_name, test in COVERED.items():
        module_name, function = test.split("::")
        module = importlib.import_module(module_name.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, function, None)), f"{wire_name}: {test} does not exist"
