"""The running agent: registration, then three loops and a pool of action workers.

- heartbeat thread: node facts every interval; backoff on network errors and 5xx.
- poll thread: the long poll; each envelope is verified (agent.verify) and either refused, answered
  with its stored outcome (a duplicate id), or handed to a worker thread.
- outbox thread: sends results and refusals from <state_dir>/outbox/ until each is acknowledged;
  uploads a diagnostic bundle before its result.
- workers (a thread pool): one action each, with a ticker that sends progress every 2 s and passes a
  cancel request on to the handler.

Threads rather than asyncio: the handlers block on subprocesses, files and HTTP, and a thread per
concern keeps the heartbeat going while an action runs (docs/adr, "agent threads and on-disk outbox").
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent import __version__, handlers, managers, verify
from agent.backoff import Backoff
from agent.client import ApiError, ControlPlane, CredentialRejected, TenantDisabled, Unavailable
from agent.config import AgentConfig
from agent.facts import FactCollector
from agent.state import Credential, StateDir, now_iso

log = logging.getLogger("agent")

PROGRESS_EVERY = 2.0  # seconds; the contract asks for at least one progress message every 5 s
DEFAULT_HEARTBEAT = 10.0
DEFAULT_POLL_WAIT = 25.0
DISABLED_BACKOFF_CAP = 300.0  # seconds between tries at most while the tenant is disabled (an operator's decision)
EXIT_OK = 0
EXIT_REFUSED = 3  # the control plane refused this agent (bad bootstrap token, revoked credential)


class Refused(Exception):
    """The control plane will not talk to this agent; the message says why."""


def register(config: AgentConfig, state: StateDir, server: str, token: str, stop: threading.Event) -> Credential:
    """POST /agent/v1/register once (retrying only when the control plane does not answer), then write
    credential.json before anything else happens."""
    client = ControlPlane(server, ca_file=config.ca_file)
    collector = _collector(config, None)
    backoff = Backoff()
    body = {
        "bootstrap_token": token,
        "hostname": socket.gethostname(),
        "agent_version": __version__,
        "member_address": config.member_address,
        "allowlist": sorted(config.allowlist),
        "facts": collector.collect(),
    }
    while not stop.is_set():
        try:
            answer = client.register(body)
            break
        except Unavailable as error:
            delay = backoff.next_delay()
            log.warning("register: control plane unavailable (%s); retrying in %.1f s", error, delay)
            stop.wait(delay)
        except ApiError as error:
            raise Refused(f"registration refused: {error.code}: {error.message}") from None
    else:
        raise Refused("stopped before registering")
    client.close()
    key = answer["signing_key"]
    credential = Credential(server, answer["agent_id"], answer["credential"], key["key_id"], key["public_key"])
    state.save_credential(credential)
    log.info("registered as agent %s; credential stored in %s", credential.agent_id, state.credential_path)
    return credential


def _collector(config: AgentConfig, manager: managers.ServiceManager | None) -> FactCollector:
    return FactCollector(
        seatunnel_home=config.seatunnel_home,
        engine_url=config.engine_url,
        configured_version=config.seatunnel_version,
        manager=manager,
        fallback_disk_path=config.state_dir,
    )


class Agent:
    def __init__(self, config: AgentConfig, state: StateDir, credential: Credential) -> None:
        self.config = config
        self.state = state
        self.credential = credential
        self.client = ControlPlane(credential.server, credential.credential, config.ca_file)
        self.service = managers.build(config.service, config, role="service") if config.service else None
        self.worker = managers.build(config.worker, config, role="worker") if config.worker else None
        self.facts = _collector(config, self.service)
        local_hosts = frozenset({urlsplit(config.engine_url).hostname or ""} if config.engine_url else set()) - {""}
        self.policy = verify.Policy.pinned(
            agent_id=credential.agent_id,
            key_id=credential.key_id,
            public_key_b64=credential.public_key,
            allowlist=config.allowlist,
            limits=config.limits,
            local_hosts=local_hosts,
            skew_seconds=config.expiry_skew_seconds,
        )
        self.heartbeat_interval = config.heartbeat_interval or DEFAULT_HEARTBEAT
        self.poll_wait = config.poll_wait or DEFAULT_POLL_WAIT
        self.stop_event = threading.Event()
        self.outbox_wakeup = threading.Event()
        self.exit_code = EXIT_OK
        self.pool = ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="action")
        self.running: dict[str, handlers.Context] = {}
        self._running_lock = threading.Lock()
        self._handle_lock = threading.Lock()

    # -- the whole life -------------------------------------------------------------------------------

    def run(self) -> int:
        self.recover()
        threads = [
            threading.Thread(target=self._guard, args=(self.heartbeat_loop,), name="heartbeat", daemon=True),
            threading.Thread(target=self._guard, args=(self.outbox_loop,), name="outbox", daemon=True),
            threading.Thread(target=self._guard, args=(self.poll_loop,), name="poll", daemon=True),
        ]
        for thread in threads:
            thread.start()
        log.info("agent %s running against %s", self.credential.agent_id, self.credential.server)
        self.stop_event.wait()
        log.info("stopping")
        self.pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + 10
        while self.running and time.monotonic() < deadline:
            time.sleep(0.1)  # a running action gets a little time to finish and queue its result
        self._flush_outbox_once()
        return self.exit_code

    def stop(self, code: int = EXIT_OK) -> None:
        if code != EXIT_OK:
            self.exit_code = code
        self.stop_event.set()
        self.outbox_wakeup.set()

    def _guard(self, loop: Any) -> None:
        try:
            loop()
        except CredentialRejected as error:
            if error.code == "AGENT_REVOKED":
                log.error("the control plane revoked this agent's credential: it stops polling and exits")
            else:
                log.error(
                    "the control plane does not know this agent's credential (%s); remove %s to register again",
                    error.code,
                    self.state.credential_path,
                )
            self.stop(EXIT_REFUSED)
        except Exception:
            log.exception("%s loop crashed; stopping the agent", threading.current_thread().name)
            self.stop(1)

    def recover(self) -> None:
        """Actions a previous run of the agent left running did not finish: report them failed (unless
        their result reached the outbox before the stop), so the control plane does not wait forever."""
        queued = {item["id"] for item in self.state.outbox_items()}
        for record in self.state.interrupted():
            action = {"id": record["id"], "type": record.get("type"), "expires_at": record.get("expires_at")}
            if record["id"] in queued:
                item = next(i for i in self.state.outbox_items() if i["id"] == record["id"])
                self.state.finish(action, "done", item)
                continue
            now = now_iso()
            item = {
                "kind": "result",
                "artifact": None,
                "body": {
                    "status": "failed",
                    "exit_code": 1,
                    "data": {},
                    "output_tail": "",
                    "error": {"code": handlers.INTERRUPTED, "message": "the agent stopped while the action ran"},
                    "started_at": None,
                    "finished_at": now,
                },
            }
            self.state.put_outbox(record["id"], item)
            self.state.finish(action, "done", item)
            log.warning("action %s was interrupted by an agent stop; reporting it failed", record["id"])

    # -- heartbeat --------------------------------------------------------------------------------------

    def heartbeat_loop(self) -> None:
        backoff, disabled = Backoff(), Backoff(cap=DISABLED_BACKOFF_CAP)
        while not self.stop_event.is_set():
            try:
                answer = self.client.heartbeat({"sent_at": now_iso(), "facts": self.facts.collect()})
            except TenantDisabled as error:
                delay = disabled.next_delay()
                log.warning("heartbeat: %s; backing off, next try in %.1f s", error, delay)
                self.stop_event.wait(delay)
                continue
            except Unavailable as error:
                delay = backoff.next_delay()
                log.warning("heartbeat: %s; next try in %.1f s", error, delay)
                self.stop_event.wait(delay)
                continue
            except CredentialRejected:
                raise
            except ApiError as error:
                delay = backoff.next_delay()
                log.error("heartbeat refused: %s; next try in %.1f s", error, delay)
                self.stop_event.wait(delay)
                continue
            if backoff.failures or disabled.failures:
                log.info("heartbeat: the control plane answers again")
            backoff.reset()
            disabled.reset()
            interval = answer.get("heartbeat_interval_seconds") if isinstance(answer, dict) else None
            if self.config.heartbeat_interval is None and isinstance(interval, int | float) and interval > 0:
                self.heartbeat_interval = float(interval)
            self.stop_event.wait(self.heartbeat_interval)

    # -- poll -------------------------------------------------------------------------------------------

    def poll_loop(self) -> None:
        backoff, disabled = Backoff(), Backoff(cap=DISABLED_BACKOFF_CAP)
        while not self.stop_event.is_set():
            log.debug("poll: waiting up to %g s", self.poll_wait)
            try:
                envelopes = self.client.next_actions(self.poll_wait)
            except TenantDisabled as error:
                delay = disabled.next_delay()
                log.warning("poll: %s; backing off, next try in %.1f s", error, delay)
                self.stop_event.wait(delay)
                continue
            except Unavailable as error:
                delay = backoff.next_delay()
                log.warning("poll: %s; next try in %.1f s", error, delay)
                self.stop_event.wait(delay)
                continue
            except CredentialRejected:
                raise
            except ApiError as error:
                delay = backoff.next_delay()
                log.error("poll refused: %s; next try in %.1f s", error, delay)
                self.stop_event.wait(delay)
                continue
            backoff.reset()
            disabled.reset()
            for envelope in envelopes:
                if self.stop_event.is_set():
                    break
                self.handle(envelope)

    def handle(self, envelope: Any) -> str:
        """Verify one envelope and act on the verdict; returns the verdict's kind (for tests and logs)."""
        with self._handle_lock:  # one envelope at a time: the duplicate check and the claim go together
            verdict = verify.verify(envelope, self.policy, self.state)
            action = verdict.action
            if verdict.kind == "refuse":
                self._refuse(verdict)
                return "refuse"
            if verdict.kind == "duplicate":
                previous = verdict.previous or {}
                if previous.get("state") == "running":
                    log.info("action %s delivered again while it runs; ignored", action["id"])
                elif previous.get("outcome"):
                    # Queued again even if an earlier copy is still in the outbox: that copy may be in flight
                    # already, and remove_outbox keeps the newer one (a second delivery changes nothing there).
                    log.info(
                        "action %s delivered again; sending its stored %s again",
                        action["id"],
                        previous["outcome"].get("kind"),
                    )
                    self.state.put_outbox(action["id"], {k: v for k, v in previous["outcome"].items() if k != "id"})
                    self.outbox_wakeup.set()
                return "duplicate"
            self.state.claim(action, "running")
            ctx = handlers.Context(
                action_id=action["id"],
                params=verdict.params,
                config=self.config,
                service=self.service,
                worker=self.worker,
                client=self.client,
                facts=self.facts,
                artifact_dir=self.state.artifacts,
            )
            with self._running_lock:
                self.running[action["id"]] = ctx
            log.info("action %s (%s) accepted", action["id"], action["type"])
            self.pool.submit(self._run_action, action, ctx)
            return "run"

    def _refuse(self, verdict: verify.Verdict) -> None:
        action = verdict.action
        action_id = action.get("id") or ""
        log.warning("action %s refused: %s: %s", action_id or "(no id)", verdict.code, verdict.message)
        if not action_id:
            return  # nothing to address a refusal to
        item = {"kind": "refusal", "artifact": None, "body": {"code": verdict.code, "message": verdict.message}}
        if verdict.code != verify.SIGNATURE_INVALID:
            # A forged envelope must not be able to burn a real action's id: only signed ones are remembered.
            self.state.claim(action, "refused")
            self.state.finish(action, "refused", item)
        self.state.put_outbox(action_id, item)
        self.outbox_wakeup.set()

    # -- one action ---------------------------------------------------------------------------------------

    def _run_action(self, action: dict[str, Any], ctx: handlers.Context) -> None:
        started = now_iso()
        ticker_stop = threading.Event()
        seq = [0]
        ticker = threading.Thread(
            target=self._progress_loop, args=(ctx, ticker_stop, seq), name=f"progress-{action['id'][:8]}", daemon=True
        )
        ctx.progress(f"{action['type']} started", 0)
        ticker.start()
        status, data, error = "succeeded", {}, None
        try:
            handler = handlers.HANDLERS[action["type"]]
            data = handler(ctx)
        except handlers.Cancelled:
            status, error = "cancelled", {"code": handlers.CANCELLED, "message": "cancelled on request"}
        except handlers.ActionFailed as failure:
            status, data, error = "failed", failure.data, {"code": failure.code, "message": failure.message}
        except Exception as crash:  # a bug in a handler must still produce a result
            log.exception("action %s crashed", action["id"])
            status, error = "failed", {"code": handlers.FAILED, "message": f"{type(crash).__name__}: {crash}"}
        ticker_stop.set()
        ticker.join(timeout=30)
        for _ in range(100):  # the output not sent yet, in chunks; a failed send leaves it in output_tail
            if not self._send_progress(ctx, seq, final=True):
                break
        result = {
            "status": status,
            "exit_code": {"succeeded": 0, "failed": 1}.get(status),
            "data": data,
            "output_tail": ctx.output_tail,
            "error": error,
            "started_at": started,
            "finished_at": now_iso(),
        }
        item = {"kind": "result", "body": result, "artifact": str(ctx.artifact) if ctx.artifact else None}
        self.state.put_outbox(action["id"], item)  # on disk before the first send (the contract)
        self.state.finish(action, "done", item)
        with self._running_lock:
            self.running.pop(action["id"], None)
        log.info("action %s %s", action["id"], status)
        self.outbox_wakeup.set()

    def _progress_loop(self, ctx: handlers.Context, stop: threading.Event, seq: list[int]) -> None:
        self._send_progress(ctx, seq)
        while not stop.wait(PROGRESS_EVERY):
            self._send_progress(ctx, seq)

    def _send_progress(self, ctx: handlers.Context, seq: list[int], final: bool = False) -> bool:
        """One progress message; True when it carried output and was acknowledged."""
        chunk = ctx.take_output()
        if final and not chunk:
            return False
        seq[0] += 1
        body: dict[str, Any] = {"seq": seq[0], "message": ctx.message}
        if ctx.percent is not None:
            body["percent"] = ctx.percent
        if chunk:
            body["output"] = chunk
        try:
            answer = self.client.progress(ctx.action_id, body)
        except (Unavailable, ApiError) as error:
            if not final:
                ctx.give_back_output(chunk)
            log.debug("progress for %s not sent: %s", ctx.action_id, error)
            return False
        if isinstance(answer, dict) and answer.get("cancel") is True and not ctx.cancelled():
            log.info("action %s: cancel requested", ctx.action_id)
            ctx.cancel_event.set()
        return bool(chunk)

    # -- outbox -------------------------------------------------------------------------------------------

    def outbox_loop(self) -> None:
        backoff = Backoff()
        last_prune = 0.0
        while not self.stop_event.is_set():
            self.outbox_wakeup.clear()
            try:
                self._flush_outbox_once(raise_unavailable=True)
                backoff.reset()
                wait = 5.0
            except Unavailable as error:  # TenantDisabled too: the results wait for the tenant to be enabled
                wait = backoff.next_delay()
                log.warning("outbox: %s; next try in %.1f s", error, wait)
            if time.monotonic() - last_prune > 60:
                last_prune = time.monotonic()
                self.state.prune()
            self.outbox_wakeup.wait(wait)

    def _flush_outbox_once(self, raise_unavailable: bool = False) -> None:
        for item in self.state.outbox_items():
            action_id = item["id"]
            try:
                if item.get("artifact") and not item.get("artifact_uploaded"):
                    self._upload(action_id, item)
                if item.get("kind") == "refusal":
                    self.client.refusal(action_id, item["body"])
                else:
                    self.client.result(action_id, item["body"])
            except Unavailable:
                if raise_unavailable:
                    raise
                return
            except CredentialRejected:
                if raise_unavailable:
                    raise
                return
            except ApiError as error:
                log.error(
                    "the control plane refused the %s of %s (%s); kept in %s",
                    item.get("kind"),
                    action_id,
                    error,
                    self.state.rejected,
                )
                self.state.reject_outbox(
                    action_id, {"status": error.status, "code": error.code, "message": error.message}
                )
                continue
            self.state.remove_outbox(action_id, sent=item)
            if item.get("artifact"):
                self.state.artifact_path(action_id).unlink(missing_ok=True)
            log.info("%s of %s acknowledged", item.get("kind"), action_id)

    def _upload(self, action_id: str, item: dict[str, Any]) -> None:
        path = Path(item["artifact"])
        artifact = (item.get("body", {}).get("data") or {}).get("artifact") or {}
        if path.exists():
            self.client.upload_artifact(action_id, path, artifact.get("sha256", ""))
        item["artifact_uploaded"] = True
        self.state.update_outbox(action_id, item)
