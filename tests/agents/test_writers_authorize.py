"""Every writer of the agents context authorizes its actor itself (ADR 0018), whoever calls it: an operator's write
needs the point the API requires, a credential, and the tenant it acts in; an agent reports only about itself."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from controlplane.agents import actions
from controlplane.agents.models import Action, ActionArtifact, AgentLiveness
from controlplane.errors import DomainError
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.models import Event
from tests.agents.helpers import Place, authenticated, make_place, person, register

pytestmark = pytest.mark.django_db


@dataclass
class World:
    place: Place
    other: Place
    agent_id: str
    credential: str
    action_id: str  # queued for the agent
    token_id: str  # an unused bootstrap token


@pytest.fixture
def world() -> World:
    place, other = make_place("acme"), make_place("beta")
    reg = register(place)
    action_id = actions.do_request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="queued"
    )
    token_id, _ = actions.do_issue_bootstrap_token(
        metadata=place.meta, tenant_id=place.tenant_id, workspace_id=place.workspace_id
    )
    return World(place, other, reg.agent_id, reg.credential, action_id, token_id)


Write = Callable[[World, Metadata], object]
# writer -> (a role holding its point, a role lacking it, the code for metadata of another tenant, the call)
OPERATOR_WRITERS: dict[str, tuple[str, str, str, Write]] = {
    "issue_bootstrap_token": (
        "admin",
        "operator",
        "NOT_FOUND",
        lambda w, meta: actions.do_issue_bootstrap_token(
            metadata=meta, tenant_id=w.place.tenant_id, workspace_id=w.place.workspace_id
        ),
    ),
    "revoke_bootstrap_token": (
        "admin",
        "operator",
        "NOT_FOUND",
        lambda w, meta: actions.do_revoke_bootstrap_token(metadata=meta, token_id=w.token_id),
    ),
    "revoke_agent": (
        "admin",
        "operator",
        "AGENT_NOT_FOUND",
        lambda w, meta: actions.do_revoke_agent(metadata=meta, agent_id=w.agent_id, reason="test"),
    ),
    "request_action": (
        "operator",
        "viewer",
        "AGENT_NOT_FOUND",
        lambda w, meta: actions.do_request_action(
            metadata=meta, agent_id=w.agent_id, action_type="service.status", params={}, key="another"
        ),
    ),
    "request_cancel": (
        "operator",
        "viewer",
        "AGENT_ACTION_NOT_FOUND",
        lambda w, meta: actions.do_request_cancel(metadata=meta, action_id=w.action_id),
    ),
}
NAMES = sorted(OPERATOR_WRITERS)


def refused(world: World, name: str, meta: Metadata) -> str:
    before = Event.objects.count()
    with pytest.raises(DomainError) as error:
        OPERATOR_WRITERS[name][3](world, meta)
    assert Event.objects.count() == before, "a refused write appends nothing"
    return error.value.code


@pytest.mark.parametrize("name", NAMES)
def test_a_user_without_the_point_is_refused_and_nothing_is_appended(world, name):
    lacking = OPERATOR_WRITERS[name][1]
    assert refused(world, name, person(world.place, "mallory", lacking)) == "PERMISSION_DENIED"


@pytest.mark.parametrize("name", NAMES)
def test_a_user_actor_without_a_credential_is_refused(world, name):
    nameless = Metadata(
        tenant_id=world.place.tenant_id, workspace_id=world.place.workspace_id, actor=Actor("user", "x")
    )
    assert refused(world, name, nameless) == "PERMISSION_DENIED"


@pytest.mark.parametrize("name", NAMES)
def test_metadata_of_another_tenant_is_answered_as_not_found(world, name):
    # an owner of the other tenant: they hold every point, but there
    assert refused(world, name, person(world.other, "bob", "owner")) == OPERATOR_WRITERS[name][2]
    assert refused(world, name, world.other.meta) == OPERATOR_WRITERS[name][2]


@pytest.mark.parametrize("name", NAMES)
def test_an_agent_cannot_make_an_operators_write(world, name):
    agent = authenticated(world.credential)
    assert refused(world, name, agent.metadata()) == "PERMISSION_DENIED"


@pytest.mark.parametrize("name", NAMES)
def test_a_user_with_the_point_succeeds_and_is_recorded(world, name):
    holder, _, _, write = OPERATOR_WRITERS[name]
    before = Event.objects.count()
    write(world, person(world.place, "alice", holder))
    written = Event.objects.order_by("position")[before:]
    assert written and {(e.actor_kind, e.actor_id) for e in written} == {("user", "alice")}


# -- an agent reports about itself only -------------------------------------------------------------------------
@pytest.fixture
def two(world):  # type: ignore[no-untyped-def]
    """Agent ``a`` and agent ``b`` of the same workspace; b has a delivered action."""
    a = authenticated(register(world.place, hostname="node-a", member_address="10.0.0.2:5801").credential)
    b = authenticated(world.credential)
    actions.do_claim_actions(metadata=b.metadata(), agent=b)
    assert Action.unscoped.get(id=world.action_id).state == "DELIVERED"
    return a, b


def _reports(world: World) -> dict[str, Callable]:
    """Each agent report as ``(metadata, about) -> result``: ``about`` is the agent the report is for."""
    action_id = world.action_id
    return {
        "heartbeat": lambda meta, about: actions.do_record_heartbeat(
            metadata=meta, agent=about, sent_at="now", facts={"load_1m": 1}
        ),
        "claim": lambda meta, about: actions.do_claim_actions(metadata=meta, agent=about),
        "progress": lambda meta, about: actions.do_record_progress(
            metadata=meta, agent_id=about.id, action_id=action_id, seq=1, percent=10, message="m", output="out"
        ),
        "result": lambda meta, about: actions.do_record_result(
            metadata=meta,
            agent_id=about.id,
            action_id=action_id,
            status="succeeded",
            exit_code=0,
            data={},
            output_tail="",
            error_code="",
            error_message="",
            started_at="",
            finished_at="",
        ),
        "refusal": lambda meta, about: actions.do_record_refusal(
            metadata=meta, agent_id=about.id, action_id=action_id, code="AGENT_SIGNATURE_INVALID", message="no"
        ),
        "artifact": lambda meta, about: actions.do_store_artifact(
            metadata=meta,
            agent_id=about.id,
            action_id=action_id,
            sha256=hashlib.sha256(BUNDLE).hexdigest(),
            read=_reader(BUNDLE),
        ),
    }


BUNDLE = b"diagnostic bundle"


def _reader(data: bytes) -> Callable[[int], bytes]:
    """An upload's body as the request gives it: ``read(n)`` until it answers nothing."""
    chunks = [data]
    return lambda size: chunks.pop(0) if chunks else b""


REPORTS = ["heartbeat", "claim", "progress", "result", "refusal", "artifact"]


def _snapshot(world: World) -> tuple:
    action = Action.unscoped.get(id=world.action_id)
    liveness = AgentLiveness.unscoped.get(agent_id=world.agent_id)
    return (
        Event.objects.count(),
        action.state,
        action.version,
        liveness.heartbeats,
        ActionArtifact.objects.count(),
    )


@pytest.mark.parametrize("report", REPORTS)
def test_an_agent_cannot_report_for_another_agent(world, two, report, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    a, b = two
    before = _snapshot(world)
    with pytest.raises(DomainError) as error:
        _reports(world)[report](a.metadata(), b)
    assert error.value.code == "PERMISSION_DENIED"
    assert _snapshot(world) == before
    assert not (tmp_path / "artifacts").exists() or not any((tmp_path / "artifacts").iterdir())


@pytest.mark.parametrize("report", ["progress", "result", "refusal", "artifact"])
def test_an_agent_reporting_on_another_agents_action_finds_no_such_action(world, two, report, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    a, _ = two
    before = _snapshot(world)
    with pytest.raises(DomainError) as error:
        _reports(world)[report](a.metadata(), a)
    assert error.value.code == "AGENT_ACTION_NOT_FOUND"  # the wire answer of docs/AGENT_PROTOCOL.md
    assert _snapshot(world) == before


@pytest.mark.parametrize("report", ["heartbeat", "progress", "result", "refusal", "artifact"])
def test_an_agent_reports_about_itself(world, two, report, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    _, b = two
    before = _snapshot(world)
    _reports(world)[report](b.metadata(), b)
    assert _snapshot(world) != before
    if report in ("progress", "result", "refusal"):  # heartbeats and uploads are observations, not events
        latest = Event.objects.order_by("-position").first()
        assert (latest.actor_kind, latest.actor_id) == ("agent", b.id)
