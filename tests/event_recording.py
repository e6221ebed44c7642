"""A test that tests/event_coverage.py names as the producer of event types fails unless it produced them.

At the end of the test's call (before its database is rolled back or flushed) the event log is read: it holds
what the test and its fixtures appended, in this process or in a server process on the same database. Every
type mapped to the test must be there. The check runs in whichever xdist worker runs the test, so it needs no
merging across workers; tests/api/test_meta.py checks that every registered type is mapped to a test that
asserts on it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import pytest

from tests import event_coverage


def logged_types() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT event_type FROM eventlog_event")
        return {row[0] for row in cursor.fetchall()}


def shortfall(test_id: str, produced: set[str], covered: Mapping[str, str] | None = None) -> str | None:
    """Why the test ``test_id`` fails the coverage map, given the event types it produced (None: it does not)."""
    expected = _by_test() if covered is None else event_coverage.by_test(covered)
    absent = expected.get(test_id, set()) - produced
    if not absent:
        return None
    return (
        f"tests/event_coverage.py names {test_id} as the producer of {', '.join(sorted(absent))}, "
        "but the event log holds no such event at its end"
    )


@functools.cache
def _by_test() -> dict[str, set[str]]:
    return event_coverage.by_test()


def _test_id(item: pytest.Item) -> str:
    # "tests/x/test_y.py::test_z[param]" -> "tests/x/test_y.py::test_z": a mapping names the function
    path = item.path.relative_to(item.config.rootpath).as_posix()
    return f"{path}::{getattr(item, 'originalname', item.name)}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):  # type: ignore[no-untyped-def]
    result = yield  # a failing test raises here, and its own failure is what is reported
    test_id = _test_id(item)
    if test_id in _by_test():
        problem = shortfall(test_id, logged_types())
        assert problem is None, problem
    return result
