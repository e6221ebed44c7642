"""Client for a SeaTunnel Zeta cluster's REST API (v2 on Jetty, falling back to the v1 Hazelcast paths).

Django-free. One client per cluster: several endpoints with fail-over, timeouts, bounded retries with
backoff for idempotent calls (reads, stop) and none for a submit, errors as DomainError subclasses with
stable codes, job ids as exact ints (ZETA_FACTS §1.1: ids exceed 2**53, so nothing goes through float).
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from controlplane.errors import DomainError
from controlplane.outbound.policy import OutboundPolicy
from controlplane.outbound.transport import PinnedTransport
from controlplane.seatunnel.states import OVERVIEW_SINCE, REST_V2_SINCE, JobState, parse_version

V1_MAPS = "/hazelcast/rest/maps"
V1_INSTANCE = "/hazelcast/rest/instance"
_DIGITS = re.compile(r"-?\d+")


# -- errors --------------------------------------------------------------------------------------------------
class ZetaError(DomainError):
    code = "ZETA_ERROR"


class ZetaUnreachable(ZetaError):
    code = "ZETA_UNREACHABLE"


class ZetaAuthFailed(ZetaError):
    code = "ZETA_AUTH_FAILED"


class ZetaJobNotFound(ZetaError):
    code = "ZETA_JOB_NOT_FOUND"


class ZetaRequestRejected(ZetaError):
    """The engine answered `{"status":"fail","message":...}`; details carry the HTTP status and the body."""

    code = "ZETA_REQUEST_REJECTED"


class ZetaBadResponse(ZetaError):
    code = "ZETA_BAD_RESPONSE"


class ZetaUnsupported(ZetaError):
    """The cluster does not serve this path (404): an older version, or v1 REST disabled."""

    code = "ZETA_UNSUPPORTED"


class ZetaUnsupportedVersion(ZetaError):
    """The cluster runs a version the control plane cannot drive: 2.3.0-2.3.5 have no `/overview` (their v1
    RestConstant lists running-jobs, job-info, submit and stop only), so neither health nor reconciliation works."""

    code = "ZETA_UNSUPPORTED_VERSION"


class ZetaLogsUnreachable(ZetaError):
    """The job's log files are listed, but no member holding one answered (details: the members and why)."""

    code = "ZETA_LOGS_UNREACHABLE"


class ZetaSubmitOutcomeUnknown(ZetaError):
    """A submit was sent but no answer came back: the job may or may not exist. Reconcile (by job id or
    name, through running_jobs/finished_jobs/job_info) before submitting again."""

    code = "ZETA_SUBMIT_OUTCOME_UNKNOWN"


# -- results -------------------------------------------------------------------------------------------------
def _parse_job_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    raise ZetaBadResponse(f"not a job id: {value!r}", value=repr(value))


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    return default


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return Decimal(value)
    try:
        return Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _state(value: Any) -> JobState:
    try:
        return JobState(str(value))
    except ValueError:
        return JobState.UNKNOWABLE


@dataclass(frozen=True)
class Overview:
    version: str
    git_commit: str
    total_slots: int
    unassigned_slots: int
    workers: int
    running_jobs: int
    pending_jobs: int | None
    finished_jobs: int
    failed_jobs: int
    cancelled_jobs: int
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Overview:
        if not isinstance(data, dict) or "projectVersion" not in data:
            raise ZetaBadResponse("overview without projectVersion", body=_snippet(data))
        return cls(
            version=str(data["projectVersion"]),
            git_commit=str(data.get("gitCommitAbbrev", "")),
            total_slots=_int(data.get("totalSlot")),
            unassigned_slots=_int(data.get("unassignedSlot")),
            # OverviewInfo.workers (RestApiIT: body("workers", equalTo("2"))); "works" is only the docs' typo
            workers=_int(data.get("workers", data.get("works"))),
            running_jobs=_int(data.get("runningJobs")),
            pending_jobs=_int(data["pendingJobs"]) if "pendingJobs" in data else None,
            finished_jobs=_int(data.get("finishedJobs")),
            failed_jobs=_int(data.get("failedJobs")),
            cancelled_jobs=_int(data.get("cancelledJobs")),
            raw=data,
        )


@dataclass(frozen=True)
class JobMetrics:
    source_received_count: int = 0
    source_received_qps: Decimal = Decimal(0)
    source_received_bytes: int = 0
    source_received_bytes_per_second: Decimal = Decimal(0)
    sink_write_count: int = 0
    sink_write_qps: Decimal = Decimal(0)
    sink_write_bytes: int = 0
    sink_write_bytes_per_second: Decimal = Decimal(0)
    intermediate_queue_size: int | None = None
    per_table: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> JobMetrics:
        if not isinstance(data, dict):  # /finished-jobs is documented with "metrics": ""
            return cls()
        if "sourceReceivedCount" in data and "SourceReceivedCount" not in data:  # /running-jobs spelling
            return cls(
                source_received_count=_int(data.get("sourceReceivedCount")),
                sink_write_count=_int(data.get("sinkWriteCount")),
            )
        return cls(
            source_received_count=_int(data.get("SourceReceivedCount")),
            source_received_qps=_decimal(data.get("SourceReceivedQPS", 0)),
            source_received_bytes=_int(data.get("SourceReceivedBytes")),
            source_received_bytes_per_second=_decimal(data.get("SourceReceivedBytesPerSeconds", 0)),
            sink_write_count=_int(data.get("SinkWriteCount")),
            sink_write_qps=_decimal(data.get("SinkWriteQPS", 0)),
            sink_write_bytes=_int(data.get("SinkWriteBytes")),
            sink_write_bytes_per_second=_decimal(data.get("SinkWriteBytesPerSeconds", 0)),
            intermediate_queue_size=_int(data["IntermediateQueueSize"]) if "IntermediateQueueSize" in data else None,
            per_table={k: {t: str(v) for t, v in m.items()} for k, m in data.items() if isinstance(m, dict)},
        )


@dataclass(frozen=True)
class Vertex:
    vertex_id: int
    type: str
    name: str
    table_paths: tuple[str, ...]


def _vertices(dag: Any) -> tuple[Vertex, ...]:
    if not isinstance(dag, dict) or not isinstance(dag.get("vertexInfoMap"), list):
        return ()
    return tuple(
        Vertex(
            vertex_id=_int(v.get("vertexId")),
            type=str(v.get("type", "")),
            name=str(v.get("vertexName", "")),
            table_paths=tuple(str(t) for t in v.get("tablePaths") or ()),
        )
        for v in dag["vertexInfoMap"]
        if isinstance(v, dict)
    )


@dataclass(frozen=True)
class JobSummary:
    """One entry of /running-jobs or /finished-jobs."""

    job_id: int
    name: str
    state: JobState
    state_name: str
    create_time: str | None
    finish_time: str | None
    error_msg: str | None
    metrics: JobMetrics
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: Any) -> JobSummary:
        if not isinstance(data, dict) or "jobId" not in data:
            raise ZetaBadResponse("job entry without jobId", body=_snippet(data))
        return cls(
            job_id=_parse_job_id(data["jobId"]),
            name=str(data.get("jobName", "")),
            state=_state(data.get("jobStatus")),
            state_name=str(data.get("jobStatus", "")),
            create_time=data.get("createTime"),
            finish_time=data.get("finishTime"),
            error_msg=data.get("errorMsg"),
            metrics=JobMetrics.from_json(data.get("metrics")),
            raw=data,
        )


@dataclass(frozen=True)
class JobInfo:
    job_id: int
    name: str
    state: JobState
    state_name: str
    create_time: str | None
    finish_time: str | None
    error_msg: str | None
    metrics: JobMetrics
    vertices: tuple[Vertex, ...]
    env_options: Mapping[str, Any]
    is_start_with_savepoint: bool | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: Any, *, asked_for: int) -> JobInfo:
        if not isinstance(data, dict) or "jobId" not in data:
            raise ZetaBadResponse("job-info without jobId", body=_snippet(data))
        # JobInfoServlet answers an unknown or expired id with {"jobId": "<that id>"} and nothing else: "not
        # found" is the absence of jobStatus (older docs print {"jobId": ""}, also without a status).
        if data.get("jobStatus") in ("", None):
            raise ZetaJobNotFound(f"job {asked_for} is unknown to the cluster", job_id=asked_for)
        env = data.get("envOptions")
        return cls(
            job_id=_parse_job_id(data["jobId"]),
            name=str(data.get("jobName", "")),
            state=_state(data.get("jobStatus")),
            state_name=str(data.get("jobStatus", "")),
            create_time=data.get("createTime"),
            finish_time=data.get("finishTime"),  # RestConstant.FINISH_TIME
            error_msg=data.get("errorMsg"),
            metrics=JobMetrics.from_json(data.get("metrics")),
            vertices=_vertices(data.get("jobDag")),
            env_options=env if isinstance(env, dict) else {},
            is_start_with_savepoint=data.get("isStartWithSavePoint"),
            raw=data,
        )

    @property
    def finished_time(self) -> str | None:
        """The old name of finish_time."""
        return self.finish_time


@dataclass(frozen=True)
class SubmitResult:
    job_id: int
    job_name: str


@dataclass(frozen=True)
class StopResult:
    job_id: int
    savepoint: bool


@dataclass(frozen=True)
class LogFile:
    node: str
    link: str
    name: str


@dataclass(frozen=True)
class JobLogFile:
    """One log file of a job: its text, or why the member holding it could not give it (error set, text None)."""

    node: str
    name: str
    link: str
    text: str | None
    error: ZetaError | None = None


@dataclass(frozen=True)
class CallTimeouts:
    """Seconds per call kind. `connect` bounds opening a connection; the others bound waiting for the answer.

    A submit is answered only after the engine has built the job's connectors (JDBC and CDC sources connect to
    their database first: ZETA_FACTS §1.2), so it gets minutes, not seconds. A stop is answered at once on the
    master; reads are small; a log file can be large."""

    connect: float = 5.0
    read: float = 10.0
    submit: float = 180.0
    stop: float = 30.0
    logs: float = 60.0

    def for_kind(self, kind: str) -> httpx.Timeout:
        return httpx.Timeout(getattr(self, kind), connect=self.connect)


def _snippet(value: Any, limit: int = 500) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text[:limit]


def _loads(content: bytes) -> Any:
    # Ints stay exact Python ints; a float-looking value becomes a Decimal, never a binary float.
    return json.loads(content, parse_float=Decimal)


# -- the client ----------------------------------------------------------------------------------------------
class ZetaClient:
    """Talks to one cluster through any of its endpoints.

    endpoints: base URLs of the REST v2 service (`http://host:8080`, `https://host:8443`); a bare
    `host:port` means http. v1_endpoints: where the v1 Hazelcast REST answers (member port 5801 on a real
    cluster); defaults to the same endpoints. api: "auto" (detect: v2, else v1 on a 404), "v2" or "v1".
    policy: where connections may go (OUTBOUND_TARGET_FORBIDDEN otherwise, before anything is sent); each host
    is resolved once per request and the connection goes to the address that was checked.
    timeouts: per call kind (CallTimeouts); without it, `timeout` bounds reads and stops, `connect_timeout` (or
    `timeout`) connecting, and a submit and a log file get CallTimeouts' longer defaults.
    TLS: `verify=False` turns verification off; `ca_bundle` (or `verify` given as a path) is the CA file to trust;
    `client_cert` = (certificate file, key file) for a cluster that wants mutual TLS; or `verify` is a context the
    caller built (clusters.connect, from secrets held in memory).
    """

    def __init__(
        self,
        endpoints: Sequence[str] | str,
        *,
        context_path: str = "",
        auth: tuple[str, str] | None = None,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 5.0,
        connect_timeout: float | None = None,
        timeouts: CallTimeouts | None = None,
        ca_bundle: str | None = None,
        client_cert: tuple[str, str] | None = None,
        retries: int = 2,
        backoff: float = 0.2,
        api: str = "auto",
        v1_endpoints: Sequence[str] | None = None,
        transport: httpx.BaseTransport | None = None,
        policy: OutboundPolicy | None = None,
    ) -> None:
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        if not endpoints:
            raise ValueError("at least one endpoint is needed")
        if api not in ("auto", "v1", "v2"):
            raise ValueError("api must be auto, v1 or v2")
        self.endpoints = [_base(e) for e in endpoints]
        self.v1_endpoints = [_base(e) for e in v1_endpoints] if v1_endpoints else list(self.endpoints)
        ctx = context_path.strip().rstrip("/")
        self.context_path = ("/" + ctx.lstrip("/")) if ctx else ""
        self.retries = max(retries, 0)
        self.backoff = backoff
        self._api: str | None = None if api == "auto" else api
        self._version: str | None = None
        self._preferred = {"v1": 0, "v2": 0}
        if timeouts is None:
            defaults = CallTimeouts()
            timeouts = CallTimeouts(
                connect=connect_timeout if connect_timeout is not None else timeout,
                read=timeout,
                submit=max(timeout, defaults.submit),
                stop=timeout,
                logs=max(timeout, defaults.logs),
            )
        self.timeouts = timeouts
        tls = tls_context(verify=verify, ca_bundle=ca_bundle, client_cert=client_cert)
        if policy is not None and transport is None:
            transport = PinnedTransport(policy, verify=tls)
        self._http = httpx.Client(
            auth=auth,
            verify=tls,
            timeout=timeouts.for_kind("read"),
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> ZetaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- API flavour ---------------------------------------------------------------------------------------
    @property
    def api(self) -> str:
        """'v2' or 'v1' (detected on first use)."""
        if self._api is None:
            self._detect()
        assert self._api is not None
        return self._api

    def version(self) -> str:
        """The cluster's projectVersion (from /overview)."""
        if self._version is None:
            self.overview()
        assert self._version is not None
        return self._version

    def _detect(self) -> None:
        try:
            data = self._call("v2", "GET", "/overview")
        except ZetaUnsupported:
            data = None
        except ZetaUnreachable:
            if self.v1_endpoints == self.endpoints:
                raise
            data = None
        if data is not None:
            overview = Overview.from_json(data)
            self._version = overview.version
            # A 2.3.9+ cluster answers v2; an answer naming an older version would be a proxy's doing.
            self._api = "v2" if parse_version(overview.version) >= REST_V2_SINCE or not overview.version else "v1"
            return
        try:
            overview = Overview.from_json(self._call("v1", "GET", "/overview"))
        except ZetaUnsupported:
            self._refuse_old_v1()
            raise
        _check_supported(overview.version)
        self._version = overview.version
        self._api = "v1"

    def _refuse_old_v1(self) -> None:
        """No v1 /overview: 2.3.0-2.3.5 still answer v1 /running-jobs (their RestConstant has no OVERVIEW)."""
        try:
            self._call("v1", "GET", "/running-jobs")
        except ZetaError:
            return  # not a SeaTunnel v1 REST either: the caller's ZetaUnsupported stands
        raise ZetaUnsupportedVersion(
            "the cluster runs SeaTunnel 2.3.5 or older (no /overview); 2.3.6 or later is needed",
            needed=".".join(map(str, OVERVIEW_SINCE)),
        )

    # -- transport -----------------------------------------------------------------------------------------
    def _url(self, api: str, base: str, path: str) -> str:
        if api == "v2":
            return base + self.context_path + path
        if path in ("/metrics", "/openmetrics"):
            return base + V1_INSTANCE + path
        return base + V1_MAPS + path

    def _call(
        self,
        api: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        idempotent: bool = True,
        raw: bool = False,
        kind: str = "read",
    ) -> Any:
        bases = self.endpoints if api == "v2" else self.v1_endpoints
        rounds = self.retries + 1 if idempotent else 1
        attempts = 0
        last_error = failure = ""
        headers = {"Content-Type": "application/json"} if body is not None else None
        for round_no in range(rounds):
            if round_no:
                time.sleep(self.backoff * (2 ** (round_no - 1)))
            for offset in range(len(bases)):
                index = (self._preferred[api] + offset) % len(bases)
                url = self._url(api, bases[index], path)
                attempts += 1
                try:
                    response = self._http.request(
                        method, url, params=params, content=body, headers=headers, timeout=self.timeouts.for_kind(kind)
                    )
                except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                    # Nothing reached the server: moving to the next endpoint is safe even for a submit.
                    last_error, failure = f"{url}: {type(error).__name__}: {error}", type(error).__name__
                    continue
                except httpx.TransportError as error:
                    if not idempotent:
                        raise ZetaSubmitOutcomeUnknown(
                            "the request was sent but no answer came back; reconcile before retrying",
                            endpoint=bases[index],
                            error=f"{type(error).__name__}: {error}",
                        ) from error
                    last_error, failure = f"{url}: {type(error).__name__}: {error}", type(error).__name__
                    continue
                if response.status_code in (502, 503, 504):
                    if not idempotent:
                        raise ZetaSubmitOutcomeUnknown(
                            f"HTTP {response.status_code} from a gateway; reconcile before retrying",
                            endpoint=bases[index],
                            status=response.status_code,
                        )
                    last_error, failure = f"{url}: HTTP {response.status_code}", f"HTTP {response.status_code}"
                    continue
                self._preferred[api] = index
                return self._check(response, raw=raw)
        raise ZetaUnreachable(
            f"no endpoint of the cluster answered ({attempts} attempts)",
            endpoints=list(bases),
            attempts=attempts,
            last_error=last_error,
            failure=failure,  # the kind of the last failure only (ConnectError, ReadTimeout, HTTP 503)
        )

    def _check(self, response: httpx.Response, *, raw: bool) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise ZetaAuthFailed(
                "the cluster refused the credentials",
                status=status,
                www_authenticate=response.headers.get("WWW-Authenticate", ""),
            )
        if status == 404:
            raise ZetaUnsupported(f"the cluster does not serve {response.request.url.path}", status=status)
        body: Any = None
        if "json" in response.headers.get("Content-Type", "") or (status >= 400 and response.content[:1] == b"{"):
            try:
                body = _loads(response.content)
            except ValueError:
                if not raw or status >= 400:
                    raise ZetaBadResponse(
                        "the cluster answered malformed JSON", status=status, body=_snippet(response.text)
                    ) from None
        if isinstance(body, dict) and body.get("status") == "fail":
            raise ZetaRequestRejected(
                str(body.get("message")) if body.get("message") is not None else "the engine gave no message",
                status=status,
                body=body,
            )
        if status >= 400:
            raise ZetaBadResponse(f"HTTP {status} from the cluster", status=status, body=_snippet(response.text))
        if raw:
            return response.text
        if body is None:
            raise ZetaBadResponse("expected JSON", status=status, body=_snippet(response.text))
        return body

    def _get(self, path: str, **kwargs: Any) -> Any:
        return self._call(self.api, "GET", path, **kwargs)

    # -- endpoints -----------------------------------------------------------------------------------------
    def overview(self) -> Overview:
        overview = Overview.from_json(self._get("/overview"))
        self._version = overview.version
        return overview

    def find_job(self, job_id: int) -> JobInfo | None:
        """job_info, or None when the cluster does not know the id (never submitted, or expired from its
        history): what a reconciliation asks after a submit whose answer was lost."""
        try:
            return self.job_info(job_id)
        except ZetaJobNotFound:
            return None

    def running_jobs(self) -> list[JobSummary]:
        return [JobSummary.from_json(item) for item in _list(self._get("/running-jobs"))]

    def finished_jobs(self, state: JobState | str | None = None) -> list[JobSummary]:
        path = "/finished-jobs" if state is None else f"/finished-jobs/{JobState(str(state))}"
        return [JobSummary.from_json(item) for item in _list(self._get(path))]

    def job_info(self, job_id: int) -> JobInfo:
        job_id = _require_id(job_id)
        return JobInfo.from_json(self._get(f"/job-info/{job_id}"), asked_for=job_id)

    def submit_job(
        self,
        config: Mapping[str, Any],
        *,
        job_id: int | None = None,
        job_name: str | None = None,
        start_with_savepoint: bool = False,
    ) -> SubmitResult:
        """Submit a job config (the JSON form: env, source[], transform[], sink[] with plugin_name).

        Sent as JSON, never HOCON (ZETA_FACTS §1.2: HOCON bodies lost their newlines on 2.3.9). Never
        retried once sent: ZetaSubmitOutcomeUnknown means reconcile by job id/name first.
        """
        if start_with_savepoint and job_id is None:
            raise ValueError("resuming from a savepoint needs the job id")
        params = {}
        if job_id is not None:
            params["jobId"] = str(_require_id(job_id))
        if job_name:
            params["jobName"] = job_name
        if start_with_savepoint:
            params["isStartWithSavePoint"] = "true"
        body = json.dumps(dict(config)).encode()
        data = self._call(self.api, "POST", "/submit-job", params=params, body=body, idempotent=False, kind="submit")
        if not isinstance(data, dict) or "jobId" not in data:
            raise ZetaBadResponse("submit answered without jobId", body=_snippet(data))
        return SubmitResult(job_id=_parse_job_id(data["jobId"]), job_name=str(data.get("jobName", job_name or "")))

    def stop_job(self, job_id: int, *, savepoint: bool = False) -> StopResult:
        """Cancel (or, with savepoint, pause) a job. Idempotent: stopping an unknown or finished job is a
        silent no-op on the engine, so this is retried like a read."""
        job_id = _require_id(job_id)
        body = json.dumps({"jobId": job_id, "isStopWithSavePoint": savepoint}).encode()
        data = self._call(self.api, "POST", "/stop-job", body=body, idempotent=True, kind="stop")
        answered = data.get("jobId") if isinstance(data, dict) else None
        return StopResult(job_id=_parse_job_id(answered) if answered not in (None, "") else job_id, savepoint=savepoint)

    def logs(self, job_id: int | None = None) -> list[LogFile] | str:
        """Without a job id: the log files of every node. With one: that job's log text, every file of it (from
        the member that holds it) one after the other; a file whose member could not be reached is named in a
        line of its own. ZetaLogsUnreachable when no file could be read, ZetaJobNotFound when none is listed."""
        if job_id is None:
            return self.log_files()
        files = self.job_logs(job_id)
        if not files:
            raise ZetaJobNotFound(f"no logs for job {job_id}", job_id=job_id)
        if all(f.text is None for f in files):
            raise ZetaLogsUnreachable(
                f"no member holding a log file of job {job_id} answered",
                job_id=job_id,
                nodes=[f.node for f in files],
                failures=[f.error.code for f in files if f.error is not None],
            )
        parts = []
        for item in files:
            if item.text is not None:
                parts.append(item.text if len(files) == 1 else f"==> {item.node} {item.name} <==\n{item.text}")
            else:
                code = item.error.code if item.error is not None else "ZETA_ERROR"
                parts.append(f"==> {item.node} {item.name}: not read ({code}) <==\n")
        return "\n".join(parts)

    def log_files(self, job_id: int | None = None) -> list[LogFile]:
        """The listing of `/logs[/<jobId>]?format=json` (AllNodeLogServlet): node, logLink, logName per file."""
        path = "/logs" if job_id is None else f"/logs/{_require_id(job_id)}"
        data = self._get(path, params={"format": "json"}, kind="logs")
        return [
            LogFile(node=str(e.get("node", "")), link=str(e.get("logLink", "")), name=str(e.get("logName", "")))
            for e in _list(data)
            if isinstance(e, dict)
        ]

    def job_logs(self, job_id: int) -> list[JobLogFile]:
        """Each log file of a job with its text, fetched from the member that holds it (its `logLink`, always
        http:// on the member's REST port). A member that cannot be reached, or answers without the file (the
        engine answers 400 with no body), gives a JobLogFile with `error` set and no text."""
        result = []
        for entry in self.log_files(job_id):
            text: str | None = None
            error: ZetaError | None = None
            try:
                text = self._fetch_link(entry.link)
            except ZetaError as failure:
                error = failure
            result.append(JobLogFile(node=entry.node, name=entry.name, link=entry.link, text=text, error=error))
        return result

    def _fetch_link(self, link: str) -> str:
        if not link.startswith(("http://", "https://")):
            raise ZetaBadResponse("a log link that is not a URL", link=link)
        try:
            response = self._http.get(link, timeout=self.timeouts.for_kind("logs"))
        except httpx.TransportError as error:
            raise ZetaUnreachable(
                "the member holding the log file did not answer",
                endpoints=[link],
                attempts=1,
                failure=type(error).__name__,
                last_error=f"{link}: {type(error).__name__}: {error}",
            ) from error
        if response.status_code != 200:
            # LogBaseServlet.prepareLogResponse: a file it cannot read is a 400 with an empty body
            raise ZetaBadResponse(f"HTTP {response.status_code} for a log file", status=response.status_code, link=link)
        return response.text

    def metrics_text(self) -> str:
        """Prometheus text from /metrics (v1: /hazelcast/rest/instance/metrics); empty when telemetry is off."""
        text: str = self._get("/metrics", raw=True)
        return text

    def get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        """A read endpoint's answer as the engine gave it, parsed but not interpreted (a diagnostic archive keeps
        the REST answers themselves: ``/overview``, ``/job-info/<id>``, ``/logs?format=json``)."""
        return self._get(path, params=params) if params else self._get(path)

    def system_monitoring(self) -> list[dict[str, str]]:
        return [dict(item) for item in _list(self._get("/system-monitoring-information")) if isinstance(item, dict)]

    def worker_jobs(self) -> dict[str, list[int]] | None:
        """3.x ``/resource/workers``: each worker's address and the engine job ids with tasks on it. None while the
        engine cannot say (``available: false`` during a master election: ask again). Engines without the
        endpoint (2.3.x) raise ZetaUnsupported."""
        data = self._get("/resource/workers")
        if not isinstance(data, dict) or not isinstance(data.get("workers"), list):
            raise ZetaBadResponse("/resource/workers answered without workers", body=_snippet(data))
        if not data.get("available", False):
            return None
        placed: dict[str, list[int]] = {}
        for worker in data["workers"]:
            if isinstance(worker, dict) and worker.get("address"):
                address = str(worker["address"]).replace("[", "").replace("]", "")  # "[host]:port" on IPv6
                placed[address] = [_parse_job_id(j) for j in worker.get("runningJobIds") or []]
        return placed


@functools.cache
def _default_tls() -> ssl.SSLContext:
    """One verifying TLS context for every client: building one reads the CA bundle (~20 ms), and the sync loop
    opens a client per cluster per pass."""
    return ssl.create_default_context()


def tls_context(
    *,
    verify: bool | str | ssl.SSLContext = True,
    ca_bundle: str | None = None,
    client_cert: tuple[str, str] | None = None,
) -> ssl.SSLContext | bool:
    """What the transport gets as `verify`: False (no verification), the shared default context, a context the
    caller built, or a context trusting `ca_bundle` (or `verify` given as a path) and presenting `client_cert`
    (certificate file, key file)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        if client_cert is None:
            return False
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        cafile = ca_bundle or (verify if isinstance(verify, str) else None)
        if cafile is None and client_cert is None:
            return _default_tls()
        context = ssl.create_default_context(cafile=cafile)
    if client_cert is not None:
        context.load_cert_chain(certfile=client_cert[0], keyfile=client_cert[1])
    return context


def _check_supported(version: str) -> None:
    if version and parse_version(version) < OVERVIEW_SINCE:
        raise ZetaUnsupportedVersion(
            f"the cluster runs SeaTunnel {version}; 2.3.6 or later is needed", version=version, needed="2.3.6"
        )


def _base(endpoint: str) -> str:
    endpoint = endpoint.strip().rstrip("/")
    if "://" not in endpoint:
        endpoint = "http://" + endpoint
    return endpoint


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise ZetaBadResponse("expected a JSON array", body=_snippet(data))
    return data


def _require_id(job_id: Any) -> int:
    if isinstance(job_id, bool) or not isinstance(job_id, int):
        if isinstance(job_id, str) and _DIGITS.fullmatch(job_id.strip()):
            return int(job_id)
        raise TypeError(f"job ids are ints, not {type(job_id).__name__}")
    return job_id
