"""The websocket endpoints against the real ASGI application (Channels' WebsocketCommunicator): who may
connect to what, the close codes, the message shape, and resuming from a position without gap or duplicate.

The tailer reads the log on its own thread and connection, as it does under daphne, so these tests commit
(transactional database) and wait for messages rather than for time.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from controlplane.asgi import application
from controlplane.eventlog import store
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.live import admission
from controlplane.live.hub import hub
from tests.api.world import acting
from tests.eventlog.events import ThingHappened
from tests.live.world import LiveWorld, append_to_run, build
from tests.waiting import wait_until_async

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 20  # seconds a test waits for a message before it fails (never a timing assertion)


@pytest.fixture
def world() -> LiveWorld:
    built = build()
    built.jwts = {name: built.jwt(name) for name in built.users}  # issued here: it writes (outstanding tokens)
    return built


def connect(
    path: str,
    *,
    token: str | None = None,
    header: str | None = None,
    cookie: str | None = None,
    origin: str | None = None,
) -> WebsocketCommunicator:
    headers = [(b"host", b"testserver")]
    if header:
        headers.append((b"authorization", f"Bearer {header}".encode()))
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    if origin:
        headers.append((b"origin", origin.encode()))
    protocols = [admission.PROTOCOL] + ([f"{admission.BEARER_PROTOCOL_PREFIX}{token}"] if token else [])
    return WebsocketCommunicator(application, path, headers=headers, subprotocols=protocols)


async def close_code(communicator: WebsocketCommunicator) -> int:
    connected, _ = await communicator.connect(timeout=WAIT)
    assert connected  # accepted only to say why
    message = await communicator.receive_output(timeout=WAIT)
    assert message["type"] == "websocket.close", message
    await communicator.disconnect()  # the server's answer to the close
    return message["code"]


async def refused(path: str, **credentials) -> int:  # type: ignore[no-untyped-def]
    return await close_code(connect(path, **credentials))


async def opened(path: str, **credentials) -> WebsocketCommunicator:  # type: ignore[no-untyped-def]
    """Connected (a refusal connects too, to send its close code: `follows` proves a socket is served)."""
    communicator = connect(path, **credentials)
    connected, protocol = await communicator.connect(timeout=WAIT)
    assert connected
    assert protocol == admission.PROTOCOL  # the token offered beside it is never echoed
    return communicator


async def follows(world: LiveWorld, prefix: str = "acme", **credentials) -> None:  # type: ignore[no-untyped-def]
    """The run's feed is served to this credential: an event appended to the run arrives."""
    communicator = await opened(f"/ws/v1/runs/{world.runs[prefix]}/", **credentials)
    (position,) = await database_sync_to_async(append_to_run)(world, 1, prefix)
    (message,) = await receive(communicator, 1)
    assert message["position"] == position
    await communicator.disconnect()


async def receive(communicator: WebsocketCommunicator, count: int) -> list[dict]:
    return [json.loads(await communicator.receive_from(timeout=WAIT)) for _ in range(count)]


async def nothing_more(communicator: WebsocketCommunicator, world: LiveWorld, marker_prefix: str = "acme") -> None:
    """Prove nothing else is queued: append one more event and check it is the very next message."""
    (position,) = await database_sync_to_async(append_to_run)(world, 1, marker_prefix, 10_000)
    (message,) = await receive(communicator, 1)
    assert message["position"] == position


def session_for(user) -> str:  # type: ignore[no-untyped-def]
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "controlplane.iam.backends.ThrottledModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


# --- authentication ---------------------------------------------------------------------------------------


def test_no_credential_bad_tokens_and_foreign_origins_are_refused_as_unauthenticated(world):
    run = f"/ws/v1/runs/{world.runs['acme']}/"
    cookie = session_for(world.users["viewer"])

    async def main() -> None:
        assert await refused(run) == admission.UNAUTHENTICATED
        assert await refused(run, token="stcp_000000000000_nope") == admission.UNAUTHENTICATED
        assert await refused(run, token="not.a.jwt") == admission.UNAUTHENTICATED
        assert await refused(run, header="stcp_000000000000_nope") == admission.UNAUTHENTICATED
        # the session cookie of a logged-in user, sent by a page of another site
        assert await refused(run, cookie=cookie, origin="https://evil.example") == admission.UNAUTHENTICATED
        assert await refused(run, cookie=cookie) == admission.UNAUTHENTICATED  # no Origin at all
        # a token in the query string is not a credential
        assert await refused(f"{run}?token={world.tokens['viewer']}") == admission.UNAUTHENTICATED

    async_to_sync(main)()


def test_every_kind_of_credential_opens_a_run(world):
    run = f"/ws/v1/runs/{world.runs['acme']}/"
    cookie = session_for(world.users["viewer"])

    async def main() -> None:
        for credentials in (
            {"token": world.tokens["viewer"]},  # API token as a subprotocol
            {"token": world.jwts["viewer"]},  # JWT as a subprotocol
            {"header": world.jwts["viewer"]},  # JWT in an Authorization header
            {"header": world.tokens["viewer"]},
            {"cookie": cookie, "origin": "http://testserver"},  # the console's session, same origin
            {"token": world.jwts["root"]},  # the platform administrator
        ):
            communicator = await opened(run, **credentials)
            (position,) = await database_sync_to_async(append_to_run)(world, 1)
            (message,) = await receive(communicator, 1)
            assert message["position"] == position, credentials
            await communicator.disconnect()

    async_to_sync(main)()


# --- authorization ----------------------------------------------------------------------------------------


def test_objects_of_other_tenants_are_not_found_and_missing_permissions_forbidden(world):
    acme_run, beta_run = world.runs["acme"], world.runs["beta"]

    async def main() -> None:
        # another tenant's run: not found, whatever the credential
        assert await refused(f"/ws/v1/runs/{beta_run}/", token=world.tokens["viewer"]) == admission.NOT_FOUND
        assert await refused(f"/ws/v1/runs/{beta_run}/", token=world.jwts["viewer"]) == admission.NOT_FOUND
        assert await refused(f"/ws/v1/runs/{acme_run}/", token=world.jwts["outsider"]) == admission.NOT_FOUND
        assert await refused("/ws/v1/runs/no-such-run/", token=world.jwts["viewer"]) == admission.NOT_FOUND
        assert await refused("/ws/v1/tenants/beta/activity/", token=world.jwts["viewer"]) == admission.NOT_FOUND
        assert await refused("/ws/v1/tenants/nope/activity/", token=world.jwts["viewer"]) == admission.NOT_FOUND
        assert await refused("/ws/v1/operations/nope/", token=world.jwts["viewer"]) == admission.NOT_FOUND
        assert await refused("/ws/v1/elsewhere/", token=world.jwts["viewer"]) == admission.NOT_FOUND
        # a member of acme whose role is on another workspace than the run's: that workspace is not theirs to
        # know of, so its run is not found (as over HTTP), whatever the credential
        assert await refused(f"/ws/v1/runs/{acme_run}/", token=world.jwts["other-only"]) == admission.NOT_FOUND
        assert await refused(f"/ws/v1/runs/{acme_run}/", token=world.tokens["other-only"]) == admission.NOT_FOUND

    async_to_sync(main)()


def test_an_api_token_reaches_only_its_own_tenant(world):
    # The outsider owns beta and is also made a viewer of acme: their beta token still cannot open acme's run.
    from controlplane.iam import actions as iam

    iam.do_grant_role(
        user=world.users["outsider"],
        tenant=world.acme,
        role="viewer",
        metadata=Metadata.for_system(None, reason="tests"),
    )

    async def main() -> None:
        run = f"/ws/v1/runs/{world.runs['acme']}/"
        assert await refused(run, token=world.tokens["outsider"]) == admission.NOT_FOUND
        await follows(world, token=world.jwts["outsider"])  # the user's JWT is not tenant-bound

    async_to_sync(main)()


def test_a_platform_admins_tenant_token_reaches_only_its_tenant_and_a_platform_token_none(world):
    from controlplane.iam import actions as iam

    root = world.users["root"]
    _, acme_token = iam.do_create_api_token(metadata=acting(root), tenant=world.acme, name="acme only")
    _, platform_token = iam.do_create_api_token(metadata=acting(root), tenant=None, name="platform", kind="platform")

    async def main() -> None:
        beta_run, acme_run = f"/ws/v1/runs/{world.runs['beta']}/", f"/ws/v1/runs/{world.runs['acme']}/"
        assert await refused(beta_run, token=acme_token) == admission.NOT_FOUND
        assert await refused("/ws/v1/tenants/beta/activity/", token=acme_token) == admission.NOT_FOUND
        assert await refused(acme_run, token=platform_token) == admission.NOT_FOUND
        assert await refused("/ws/v1/tenants/acme/activity/", token=platform_token) == admission.NOT_FOUND
        await follows(world, token=acme_token)

    async_to_sync(main)()


def test_a_revoked_login_closes_the_door_to_its_access_tokens(world):
    from django.test import RequestFactory

    from controlplane.iam import actions as iam

    world.users["viewer"].set_password("correct horse battery staple")
    world.users["viewer"].save()
    login = RequestFactory().post("/api/v1/auth/token/", REMOTE_ADDR="127.0.0.1")
    refresh = iam.do_log_in(request=login, username="viewer-user", password="correct horse battery staple")
    access_token = str(refresh.access_token)
    iam.do_revoke_all_login_sessions(metadata=acting(world.users["viewer"]))

    async def main() -> None:
        assert await refused(f"/ws/v1/runs/{world.runs['acme']}/", token=access_token) == admission.UNAUTHENTICATED

    async_to_sync(main)()


def test_a_disabled_tenant_refuses_its_users(world):
    from controlplane.tenancy import actions as tenancy

    tenancy.do_disable_tenant(
        metadata=Metadata.for_system(None, reason="tests"), tenant_id=world.acme.id, reason="unpaid"
    )

    async def main() -> None:
        run = f"/ws/v1/runs/{world.runs['acme']}/"
        assert await refused(run, token=world.jwts["viewer"]) == admission.FORBIDDEN
        assert await refused(run, token=world.tokens["viewer"]) == admission.UNAUTHENTICATED  # the token is refused
        assert await refused("/ws/v1/tenants/acme/activity/", token=world.jwts["viewer"]) == admission.FORBIDDEN

    async_to_sync(main)()


# --- messages and resuming --------------------------------------------------------------------------------


def test_messages_carry_the_position_and_the_payload_but_no_metadata(world):
    async def main() -> None:
        communicator = await opened(f"/ws/v1/runs/{world.runs['acme']}/", token=world.tokens["viewer"])
        # events of the other tenant's run and of another stream pass by unseen
        await database_sync_to_async(append_to_run)(world, 2, "beta")
        (position,) = await database_sync_to_async(append_to_run)(world, 1, "acme", 7)
        (message,) = await receive(communicator, 1)
        assert set(message) == {"position", "type", "stream", "version", "recorded_at", "data"}
        assert message["position"] == position
        assert message["type"] == "testing.thing_happened"
        assert message["stream"] == {"type": "jobs.run", "id": f"run-{world.runs['acme']}"}
        assert message["data"] == {"n": 7, "label": "acme"}
        assert "203.0.113.7" not in json.dumps(message)  # the client address stays in the log
        await communicator.disconnect()

    async_to_sync(main)()


def test_resume_after_a_position_gets_exactly_what_was_missed_then_live_messages(world):
    run = f"/ws/v1/runs/{world.runs['acme']}/"

    async def main() -> None:
        first = await opened(run, token=world.tokens["viewer"])
        seen = await database_sync_to_async(append_to_run)(world, 3)
        got = [m["position"] for m in await receive(first, 3)]
        assert got == seen
        await first.disconnect()
        # missed while away: 5 events of the run, mixed with events of the other tenant
        missed = []
        for n in range(5):
            missed += await database_sync_to_async(append_to_run)(world, 1, "acme", 100 + n)
            await database_sync_to_async(append_to_run)(world, 1, "beta", 100 + n)
        second = await opened(f"{run}?after={got[-1]}", token=world.tokens["viewer"])
        live = await database_sync_to_async(append_to_run)(world, 2, "acme", 200)
        messages = await receive(second, 7)
        assert [m["position"] for m in messages] == missed + live
        assert [m["data"]["n"] for m in messages] == [100, 101, 102, 103, 104, 200, 201]
        await nothing_more(second, world)
        await second.disconnect()
        # from the start of the log: the whole stream, in order, once (its first events are the run's own)
        third = await opened(f"{run}?after=0", token=world.tokens["viewer"])
        everything = await database_sync_to_async(_stream_positions)(world)
        messages = await receive(third, len(everything))
        assert [m["position"] for m in messages] == everything
        assert messages[0]["type"] == "jobs.run_requested"
        await nothing_more(third, world)
        await third.disconnect()

    async_to_sync(main)()


def _stream_positions(world: LiveWorld) -> list[int]:
    return [e.position for e in store.read_stream(f"run-{world.runs['acme']}")]


def test_a_resume_racing_with_appends_has_no_gap_and_no_duplicate(world):
    """Events keep being appended while clients connect with ?after=: each client gets every event after its
    position exactly once, in order, wherever the seam between the log and the live feed falls."""
    run = f"/ws/v1/runs/{world.runs['acme']}/"

    async def main() -> None:
        start = (await database_sync_to_async(append_to_run)(world, 1))[0]
        writer_done = asyncio.Event()

        written = [0]

        async def writer() -> None:
            for n in range(60):  # each append awaits a thread: the clients' connects run in between
                await database_sync_to_async(append_to_run)(world, 1, "acme", n)
                written[0] += 1
            writer_done.set()

        task = asyncio.create_task(writer())
        clients = []
        for _ in range(6):
            clients.append(await opened(f"{run}?after={start}", token=world.tokens["viewer"]))
            # the next client's seam falls later: at least one more append (or the writer is done)
            mark = written[0]
            await wait_until_async(
                lambda mark=mark: written[0] > mark or writer_done.is_set(), message="another append"
            )
        await task
        for communicator in clients:
            messages = await receive(communicator, 60)
            assert [m["data"]["n"] for m in messages] == list(range(60))
        (marker,) = await database_sync_to_async(append_to_run)(world, 1, "acme", 10_000)
        for communicator in clients:  # nothing else was queued: the marker is the very next message
            assert [m["position"] for m in await receive(communicator, 1)] == [marker]
            await communicator.disconnect()

    async_to_sync(main)()


def test_after_must_be_a_position_within_the_log(world):
    run = f"/ws/v1/runs/{world.runs['acme']}/"

    async def main() -> None:
        assert await refused(f"{run}?after=abc", token=world.tokens["viewer"]) == admission.BAD_REQUEST
        assert await refused(f"{run}?after=-1", token=world.tokens["viewer"]) == admission.BAD_REQUEST
        assert await refused(f"{run}?after=999999999", token=world.tokens["viewer"]) == admission.BAD_REQUEST

    async_to_sync(main)()


# --- the tenant activity feed -----------------------------------------------------------------------------


def _append_in(world: LiveWorld, stream_type: str, stream_id: str, workspace_id: str | None, n: int) -> int:
    meta = Metadata(tenant_id=world.acme.id, workspace_id=workspace_id, actor=Actor(kind="user", id="tester"))
    version = store.stream_version(stream_id)
    return store.append(StreamRef(stream_type, stream_id), version, [ThingHappened(n=n)], meta)[0].position


def test_the_activity_feed_shows_each_event_only_to_holders_of_its_read_point(world):
    async def main() -> None:
        viewer = await opened("/ws/v1/tenants/acme/activity/", token=world.jwts["viewer"])
        narrow = await opened("/ws/v1/tenants/acme/activity/", token=world.jwts["other-only"])
        append = database_sync_to_async(_append_in)
        in_etl = await append(world, "jobs.job", "job-live-1", world.etl.id, 1)
        in_other = await append(world, "clusters.cluster", "cluster-live-1", world.other.id, 2)
        tenant_wide = await append(world, "tenancy.tenant", f"tenant-{world.acme.id}", None, 3)
        await append(world, "unlisted.thing", "thing-1", world.other.id, 4)  # a context not in the feed
        # bootstrap tokens are listed with cluster.update in the API: not for viewers or operators
        await append(world, "agents.bootstrap_token", "bootstrap-token-1", world.other.id, 41)
        in_beta = Metadata(tenant_id=world.beta.id, actor=Actor(kind="user", id="tester"))
        await database_sync_to_async(store.append)(StreamRef("jobs.job", "job-beta"), 0, [ThingHappened(n=5)], in_beta)
        alert = await append(world, "alerts.alert", "alert-live-1", world.other.id, 6)  # alert.read: the alerts page
        last = await append(world, "jobs.job", "job-live-2", world.other.id, 7)
        assert [m["position"] for m in await receive(viewer, 5)] == [in_etl, in_other, tenant_wide, alert, last]
        # a role on one workspace: that workspace's events only, nothing tenant-wide
        assert [m["position"] for m in await receive(narrow, 3)] == [in_other, alert, last]
        await viewer.disconnect()
        await narrow.disconnect()
        # and the same from the log when resuming
        again = await opened(f"/ws/v1/tenants/acme/activity/?after={in_etl - 1}", token=world.jwts["other-only"])
        assert [m["position"] for m in await receive(again, 3)] == [in_other, alert, last]
        await again.disconnect()

    async_to_sync(main)()


# --- the hub ----------------------------------------------------------------------------------------------


def test_one_tailer_serves_every_socket_and_stops_when_the_last_one_leaves(world):
    run = f"/ws/v1/runs/{world.runs['acme']}/"

    async def main() -> None:
        clients = [await opened(run, token=world.tokens["viewer"]) for _ in range(5)]
        the_hub = hub()
        assert the_hub.subscribers == 5
        tailer = the_hub._task
        positions = await database_sync_to_async(append_to_run)(world, 3)
        for communicator in clients:
            assert [m["position"] for m in await receive(communicator, 3)] == positions
        assert the_hub._task is tailer  # still the one tailer
        for communicator in clients:
            await communicator.disconnect()
        assert the_hub.subscribers == 0
        await asyncio.wait_for(tailer, WAIT)  # it stops by itself
        # and a new socket starts a new one, from the head of the log
        again = await opened(run, token=world.tokens["viewer"])
        assert the_hub._task is not tailer
        (position,) = await database_sync_to_async(append_to_run)(world, 1)
        assert [m["position"] for m in await receive(again, 1)] == [position]
        await again.disconnect()

    async_to_sync(main)()


# --- credentials and permissions that change while connected -------------------------------------------------


def test_an_open_socket_is_closed_when_its_credential_or_role_goes(world, monkeypatch):
    from controlplane.iam import actions as iam
    from controlplane.iam.models import ApiToken, Membership
    from controlplane.live import consumers

    monkeypatch.setattr(consumers, "REAUTHORIZE_SECONDS", 0.05)
    run = f"/ws/v1/runs/{world.runs['acme']}/"
    cookie = session_for(world.users["viewer"])
    token = ApiToken.objects.get(user=world.users["viewer"])
    membership = Membership.objects.get(user=world.users["viewer"], tenant=world.acme)

    async def closed_with(communicator: WebsocketCommunicator) -> int:
        message = await communicator.receive_output(timeout=WAIT)
        assert message["type"] == "websocket.close", message
        await communicator.disconnect()
        return message["code"]

    async def main() -> None:
        by_token = await opened(run, token=world.tokens["viewer"])
        by_jwt = await opened(run, token=world.jwts["viewer"])
        by_session = await opened(run, cookie=cookie, origin="http://testserver")
        # still fine after several checks: a message gets through
        (position,) = await database_sync_to_async(append_to_run)(world, 1)
        for communicator in (by_token, by_jwt, by_session):
            assert [m["position"] for m in await receive(communicator, 1)] == [position]
        await database_sync_to_async(iam.do_revoke_api_token)(
            metadata=Metadata.for_system(None, reason="tests"), token=token
        )
        assert await closed_with(by_token) == admission.UNAUTHENTICATED
        await database_sync_to_async(SessionStore(cookie).delete)()  # logged out elsewhere
        assert await closed_with(by_session) == admission.UNAUTHENTICATED
        await database_sync_to_async(iam.do_revoke_role)(
            metadata=Metadata.for_system(None, reason="tests"), membership=membership
        )
        assert await closed_with(by_jwt) == admission.NOT_FOUND  # no longer a member: the tenant is not visible

    async_to_sync(main)()


def test_a_role_on_one_job_follows_that_jobs_runs_and_no_other(world):
    """As over HTTP (ADR 0019): a viewer on one job reads its runs' feeds; another job's run is not found."""
    from django.contrib.auth.models import User

    from controlplane.iam import actions as iam
    from controlplane.jobs import actions as jobs
    from controlplane.jobs import run_actions
    from controlplane.jobs.models import Job, Run
    from tests.api.world import FAKE_TO_CONSOLE

    system = Metadata.for_system(None, reason="tests")
    acme_run = Run.unscoped.get(id=world.runs["acme"])
    sibling_job = jobs.do_create_job(
        metadata=Metadata.for_system(world.acme.id, reason="tests", workspace_id=acme_run.workspace_id),
        tenant_id=world.acme.id,
        workspace_id=acme_run.workspace_id,
        name="sibling",
        cluster_id=Job.unscoped.get(id=acme_run.job_id).cluster_id,
        config=FAKE_TO_CONSOLE,
    )
    sibling_run = run_actions.do_start_run(metadata=system, job=Job.unscoped.get(id=sibling_job))
    user = User.objects.create_user("job-viewer")
    iam.do_grant_object_role(
        metadata=system, user=user, tenant=world.acme, kind="job", object_id=acme_run.job_id, role="viewer"
    )
    _, token = iam.do_create_api_token(metadata=acting(user, world.acme.id), tenant=world.acme, name="feeds")

    async def main() -> None:
        await follows(world, token=token)
        assert await refused(f"/ws/v1/runs/{sibling_run}/", token=token) == admission.NOT_FOUND

    async_to_sync(main)()
