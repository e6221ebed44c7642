"""Every writer of operations authorizes its actor itself (ADR 0018): requesting needs ``operation.run``, cancelling
``operation.cancel``, and the runner's writers (which a worker calls as the system) refuse anyone else without the
point too; metadata of another tenant is answered as not found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone

from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.models import Event
from controlplane.operations import actions
from controlplane.operations import lease as leases
from controlplane.operations.domain.aggregate import OperationAggregate
from controlplane.operations.models import Operation
from tests.operations.conftest import Place, make_place, person
from tests.operations.kinds import recorded_steps

pytestmark = pytest.mark.django_db


@dataclass
class World:
    place: Place
    operation_id: str
    facts: OperationAggregate
    lease: leases.Lease
    steps: list[dict]


@pytest.fixture
def world(tmp_path) -> World:  # type: ignore[no-untyped-def]
    place = make_place()
    steps = recorded_steps(tmp_path / "effects", "a")
    operation_id = actions.do_request_operation(
        metadata=place.meta, cluster=place.cluster, type="testing.steps", params={"steps": steps}
    )
    lease = leases.acquire(operation_id, seconds=60)
    assert lease is not None
    return World(place, operation_id, actions.load_operation(operation_id)[0], lease, steps)


Write = Callable[[World, Metadata], object]
WRITERS: dict[str, Write] = {
    "request_operation": lambda w, meta: actions.do_request_operation(
        metadata=meta, cluster=w.place.cluster, type="testing.steps", params={"steps": w.steps}
    ),
    "cancel_operation": lambda w, meta: actions.do_cancel_operation(
        metadata=meta, operation=Operation.unscoped.get(id=w.operation_id), reason="enough"
    ),
    "start_operation": lambda w, meta: actions.do_start_operation(metadata=meta, lease=w.lease, operation=w.facts),
    "settle_operation": lambda w, meta: actions.do_settle_operation(metadata=meta, lease=w.lease, operation=w.facts),
    "start_step": lambda w, meta: actions.do_start_step(
        metadata=meta, lease=w.lease, operation=w.facts, key="a", attempt=1, compensating=False
    ),
    "resume_step": lambda w, meta: actions.do_resume_step(
        metadata=meta,
        lease=w.lease,
        operation=w.facts,
        key="a",
        attempt=1,
        max_resumes=3,
        now=timezone.now(),
        retry_in=1.0,
    ),
    "record_step_progress": lambda w, meta: actions.do_record_step_progress(
        metadata=meta, lease=w.lease, operation=w.facts, key="a", attempt=1, message="m"
    ),
    "complete_step": lambda w, meta: actions.do_complete_step(
        metadata=meta, lease=w.lease, operation=w.facts, key="a", attempt=1, compensating=False, result={}
    ),
    "fail_step": lambda w, meta: actions.do_fail_step(
        metadata=meta,
        lease=w.lease,
        operation=w.facts,
        key="a",
        attempt=1,
        compensating=False,
        error_code="X",
        error="x",
        transient=False,
        now=timezone.now(),
        retry_in=1.0,
    ),
}
NAMES = sorted(WRITERS)
# who may: cancelling needs operation.cancel, everything else operation.run (a viewer holds neither)
HOLDER = "operator"
LACKING = "viewer"


def refused(world: World, name: str, meta: Metadata) -> str:
    before = Event.objects.count()
    with pytest.raises(DomainError) as error:
        WRITERS[name](world, meta)
    assert Event.objects.count() == before, "a refused write appends nothing"
    return error.value.code


@pytest.mark.parametrize("name", NAMES)
def test_a_user_without_the_point_is_refused_and_nothing_is_appended(world, name):
    assert refused(world, name, person(world.place, "mallory", LACKING)) == "PERMISSION_DENIED"


@pytest.mark.parametrize("name", NAMES)
def test_a_user_actor_without_a_credential_is_refused(world, name):
    nameless = Metadata(
        tenant_id=world.place.tenant_id, workspace_id=world.place.workspace_id, actor=Actor("user", "x")
    )
    assert refused(world, name, nameless) == "PERMISSION_DENIED"


@pytest.mark.parametrize("name", NAMES)
def test_metadata_of_another_tenant_is_answered_as_not_found(world, name):
    elsewhere = Metadata.for_system("another-tenant", reason="tests")
    assert refused(world, name, elsewhere) == "NOT_FOUND"


@pytest.mark.parametrize("name", NAMES)
def test_an_agent_cannot_write_operations(world, name):
    agent = Metadata(tenant_id=world.place.tenant_id, workspace_id=world.place.workspace_id, actor=Actor("agent", "a1"))
    assert refused(world, name, agent) == "PERMISSION_DENIED"


@pytest.mark.parametrize("name", ["request_operation", "cancel_operation", "start_operation"])
def test_a_user_with_the_point_succeeds_and_is_recorded(world, name):
    before = Event.objects.count()
    WRITERS[name](world, person(world.place, "alice", HOLDER))
    written = Event.objects.order_by("position")[before:]
    assert written and {(e.actor_kind, e.actor_id) for e in written} == {("user", "alice")}
