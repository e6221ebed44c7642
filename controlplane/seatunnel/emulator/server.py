"""HTTP front of the emulator: Zeta's REST v2 paths (and the v1 Hazelcast paths for old versions).

Answers follow ZETA_FACTS §1: string-typed values, `{"status":"fail","message":...}` errors (400 for bad
arguments, 500 otherwise), `{"jobId": "<the id asked for>"}` with no status for unknown ids (JobInfoServlet), 401
with the Basic realm when auth is on.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import socket
import time
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from controlplane.seatunnel.emulator import faults as f
from controlplane.seatunnel.emulator.cluster import ClusterEngine, ClusterMembers
from controlplane.seatunnel.emulator.engine import Engine, Job, RequestError
from controlplane.seatunnel.emulator.members import NODE_ROLE, Member, MemberList
from controlplane.seatunnel.states import OVERVIEW_SINCE, REST_V2_SINCE, JobState, parse_version

V1_PREFIX = "/hazelcast/rest/maps"
V1_INSTANCE = "/hazelcast/rest/instance"
_ID = re.compile(r"-?\d+")
# What v1 REST serves before 2.3.6 (RestConstant at tag 2.3.5): no overview, job-info, logs or metrics.
V1_BEFORE_OVERVIEW = (
    "running-jobs",
    "running-job",
    "finished-jobs",
    "system-monitoring-information",
    "submit-job",
    "stop-job",
    "encrypt-config",
    "running-threads",
)


@dataclass(frozen=True)
class Settings:
    version: str = "2.3.12"
    context_path: str = ""
    basic_auth: tuple[str, str] | None = None

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return parse_version(self.version)

    @property
    def serves_v2(self) -> bool:
        return self.version_tuple >= REST_V2_SINCE

    @property
    def serves_v1(self) -> bool:
        # v1 REST is on by default up to 2.3.9 and off from 2.3.10 (ZETA_FACTS §1.3).
        return self.version_tuple < (2, 3, 10)


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        engine: Engine,
        settings: Settings,
        *,
        verbose: bool = False,
        members: MemberList | ClusterMembers | None = None,
    ):
        super().__init__(address, Handler)
        self.engine = engine
        self.settings = settings
        self.verbose = verbose
        self.members = members or MemberList(default_host=address[0])


def _id_param(text: str) -> int:
    text = text.strip()
    if not _ID.fullmatch(text):
        raise RequestError(f'For input string: "{text}"', 400)  # Long.parseLong -> NumberFormatException
    return int(text)


def _json_safe(value: Any) -> Any:
    """A value as JSON renders it (Decimal as a number the json module can write)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    server_version = "Jetty(9.4.56.v20240826)"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle + delayed ACK add ~40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # -- plumbing ----------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload: Any, status: int = 200) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _text(self, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> None:
        self._send(status, text.encode(), content_type)

    def _not_found(self) -> None:
        self._text(
            "<html><body><h2>HTTP ERROR 404 Not Found</h2><p>URI: " + self.path.split("?")[0] + "</p></body></html>",
            404,
            "text/html;charset=iso-8859-1",
        )

    def _authorised(self) -> bool:
        expected = self.server.settings.basic_auth
        if expected is None:
            return True
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return hmac.compare_digest(user, expected[0]) & hmac.compare_digest(password, expected[1])
        return False

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _json_body(self) -> Any:
        raw = self._body()
        if not raw.strip():
            raise RequestError("Request body is empty.", 400)
        try:
            return json.loads(raw, parse_float=Decimal)
        except ValueError:
            raise RequestError("Invalid JSON format in request body.", 400) from None

    def _dispatch(self, method: str) -> None:
        if not self._authorised():
            self._send(401, b"Unauthorized", "text/plain", {"WWW-Authenticate": 'Basic realm="SeaTunnel Web UI"'})
            return
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        settings = self.server.settings
        route: str | None = None
        api = "v2"
        ctx = settings.context_path.rstrip("/")
        if settings.serves_v1 and split.path.startswith(V1_PREFIX + "/"):
            route, api = split.path[len(V1_PREFIX) :], "v1"
        elif settings.serves_v1 and split.path in (V1_INSTANCE + "/metrics", V1_INSTANCE + "/openmetrics"):
            route, api = split.path[len(V1_INSTANCE) :], "v1"
        elif settings.serves_v2 and (not ctx or split.path == ctx or split.path.startswith(ctx + "/")):
            route = split.path[len(ctx) :] or "/"
        if route is None:
            self._not_found()
            return
        try:
            handled = self._route(method, route.rstrip("/") or "/", query, api)
        except RequestError as error:
            self._json({"status": "fail", "message": error.message}, error.status)
            return
        except Exception as error:  # the engine's ExceptionHandlingFilter: anything else is a 500
            self._json({"status": "fail", "message": str(error)}, 500)
            return
        if not handled:
            self._not_found()

    # -- routes ------------------------------------------------------------------------------------------
    def _route(self, method: str, route: str, query: dict[str, str], api: str) -> bool:
        engine = self.server.engine
        version = self.server.settings.version_tuple
        parts = route.strip("/").split("/")
        head = parts[0]
        if api == "v1" and version < OVERVIEW_SINCE and head not in V1_BEFORE_OVERVIEW:
            return False
        if method == "GET":
            if route == "/overview":
                self._json(self._overview())
            elif route == "/running-jobs":
                self._json([self._running_entry(job) for job in engine.jobs() if not job.state.is_terminal])
            elif head == "finished-jobs" and len(parts) <= 2:
                self._json(self._finished(parts[1] if len(parts) == 2 else None))
            elif head in ("job-info", "running-job") and len(parts) == 2:
                job = engine.job(_id_param(parts[1]))
                # JobInfoServlet: an id in neither the running nor the finished map echoes the path's id, no status
                self._json(self._job_info(job) if job else {"jobId": parts[1]})
            elif route == "/system-monitoring-information":
                try:
                    running = sum(1 for j in engine.jobs() if not j.state.is_terminal)
                except RequestError:  # no master: members still answer for themselves
                    running = 0
                self._json([self._monitoring(member, running) for member in self.server.members.current()])
            elif route == "/resource/workers" and version >= (3, 0, 0):
                self._json(self._workers())
            elif route == "/emulator/cluster" and isinstance(engine, ClusterEngine):
                self._json(engine.debug())  # the emulator's own view; not a Zeta endpoint
            elif head in ("logs", "log") and len(parts) <= 2 and (api == "v2" or version >= (2, 3, 9)):
                self._logs(parts[1] if len(parts) == 2 else None, query)
            elif route == "/get-all-log-name" and (api == "v2" or version >= (2, 3, 9)):
                self._json([f"job-{job.job_id}.log" for job in engine.jobs()])  # AllLogNameServlet
            elif route in ("/metrics", "/openmetrics") and (api == "v1" or version >= (2, 3, 10)):
                self._text(self._prometheus(), content_type="text/plain; version=0.0.4; charset=utf-8")
            else:
                return False
            return True
        if method == "POST":
            if route == "/submit-job":
                config = self._config_body(query)
                answer = self._submit(config, query)
                if f.loses_submit_answer(config):  # the job exists; the client never hears so (a cut connection)
                    self.close_connection = True
                    return True
                self._json(answer)
            elif route == "/submit-jobs":
                items = self._json_body()
                if not isinstance(items, list):
                    raise RequestError("Invalid JSON format in request body.", 400)
                results = []
                for item in items:
                    params = item.pop("params", {}) if isinstance(item, dict) else {}
                    results.append(self._submit(item, {k: str(v) for k, v in params.items()}))
                self._json(results)
            elif route == "/stop-job":
                self._json(self._stop(self._json_body()))
            elif route == "/stop-jobs":
                items = self._json_body()
                if not isinstance(items, list):
                    raise RequestError("Invalid JSON format in request body.", 400)
                self._json([self._stop(item) for item in items])
            else:
                return False
            return True
        return False

    def _config_body(self, query: dict[str, str]) -> Any:
        fmt = query.get("format", "json").lower()
        if fmt == "hocon" and self.server.settings.version_tuple >= (2, 3, 10):
            raw = self._body()
            if not raw.strip():
                raise RequestError("Request body is empty.", 400)
            # the control plane's own reader (no includes, no environment): plugin blocks become lists with
            # plugin_name, dotted keys stay flat, as the engine's ConfigBuilder reads them
            from controlplane.seatunnel.config.hocon import load_hocon

            try:
                return load_hocon(raw.decode())
            except Exception as error:
                raise RequestError(f"Invalid HOCON in request body: {error}", 400) from None
        return self._json_body()

    def _submit(self, config: Any, query: dict[str, str]) -> dict[str, Any]:
        job_id = _id_param(query["jobId"]) if query.get("jobId") else None
        job = self.server.engine.submit(
            config,
            job_id=job_id,
            job_name=query.get("jobName") or None,
            start_with_savepoint=_bool(query.get("isStartWithSavePoint", "false")),
        )
        return {"jobId": str(job.job_id), "jobName": job.name}  # BaseServlet.submitJobInternal: String.valueOf

    def _stop(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise RequestError("Invalid JSON format in request body.", 400)
        raw = body.get("jobId")
        if raw is None or raw == "":
            raise RequestError("jobId cannot be empty.", 400)
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise RequestError(f'For input string: "{raw}"', 400)
        job_id = raw if isinstance(raw, int) else _id_param(raw)
        self.server.engine.stop(job_id, savepoint=_bool(body.get("isStopWithSavePoint", False)))
        return {"jobId": str(raw)}  # StopJobServlet: map.get(JOB_ID).toString()

    # -- payloads ----------------------------------------------------------------------------------------
    def _dag(self, job: Job) -> dict[str, Any]:
        return {"jobId": str(job.job_id), "envOptions": [], "vertexInfoMap": job.vertices, "pipelineEdges": {}}

    def _job_info(self, job: Job) -> dict[str, Any]:
        engine = self.server.engine
        info: dict[str, Any] = {
            "jobId": str(job.job_id),
            "jobName": job.name,
            "jobStatus": str(job.state),
            "createTime": engine.fmt(job.created_wall, wall=True),
            "jobDag": self._dag(job),
            "metrics": engine.metrics(job),
        }
        if job.state.is_terminal:
            # BaseServlet.getJobInfoJson: finishTime (RestConstant.FINISH_TIME), errorMsg, no envOptions
            info["finishTime"] = engine.fmt(job.finished_wall, wall=True)
            info["errorMsg"] = job.error_msg
            info["pluginJarsUrls"] = []
        else:
            info["envOptions"] = _json_safe(job.env)  # JsonUtil.toJsonObject(envOptions): the env as sent
            info["pluginJarsUrls"] = []
            info["isStartWithSavePoint"] = job.start_with_savepoint
            if self.server.settings.version_tuple >= (3, 0, 0):
                info["diagnostics"] = self._diagnostics(job)
        return info

    def _diagnostics(self, job: Job) -> dict[str, Any]:
        # 3.x job-info of a running job (ZETA_FACTS §2.4): one pipeline here; restoreCount grows with each
        # pipeline restore after a lost member (cluster mode), maxRestoreCount is env job.retry.times.
        stamps = {state: int(at * 1000) for state, at in job.state_times.items()}
        if job.restore_at is not None:
            pipeline_status = "CREATED"  # waiting to be scheduled again
        elif job.state in (JobState.RUNNING, JobState.DOING_SAVEPOINT):
            pipeline_status = "RUNNING"
        elif job.state is JobState.PENDING:
            pipeline_status = "CREATED"
        else:
            pipeline_status = str(job.state)
        return {
            "jobId": str(job.job_id),
            "generatedAt": int(time.time() * 1000),
            "stateTimestamps": stamps,
            "pipelines": [
                {
                    "pipelineId": 1,
                    "pipelineStatus": pipeline_status,
                    "restoreCount": job.restore_count,
                    "maxRestoreCount": job.max_restore_count,
                    "stateTimestamps": stamps,
                }
            ],
            "totalPipelineRestoreCount": job.restore_count,
        }

    def _workers(self) -> dict[str, Any]:
        # 3.x /resource/workers (ZETA_FACTS §1.2): per worker, the jobs whose tasks run there.
        engine = self.server.engine
        try:
            jobs = [j for j in engine.jobs() if not j.state.is_terminal]
        except RequestError:  # no master (election): the engine answers available=false
            return {"available": False, "collectedAt": int(time.time() * 1000), "workers": []}
        members = [m for m in self.server.members.current() if m.runs_tasks]
        # One process (no cluster dir) places nothing: its jobs run on the first worker. In a cluster a job
        # whose pipeline is being restored runs nowhere until it is placed again.
        first = f"{members[0].host}:{members[0].port}" if members and not isinstance(engine, ClusterEngine) else None
        workers = []
        for member in members:
            address = f"{member.host}:{member.port}"
            mine = [j for j in jobs if (j.worker or first) == address]
            heap_total = 2 * 1024**3
            used_heap = (180 + 40 * len(mine)) * 1024**2
            used = sum(j.slots for j in mine)
            per_worker = engine.plan.slots  # a fixed slot-num per worker, or dynamic slots (None)
            workers.append(
                {
                    "address": address,
                    "tags": {},
                    "totalSlots": per_worker or 0,
                    "freeSlots": max(per_worker - used, 0) if per_worker is not None else 0,
                    "usedSlots": used,
                    "dynamicSlot": per_worker is None,
                    "totalCpuCores": 8,
                    "availableCpuCores": 8,
                    "totalHeapMemoryBytes": heap_total,
                    "availableHeapMemoryBytes": heap_total - used_heap,
                    "cpuUsage": round(0.04 + 0.02 * len(mine), 4),
                    "memUsage": round(used_heap / heap_total, 4),
                    "runningJobIds": [str(j.job_id) for j in mine],
                }
            )
        return {"available": True, "collectedAt": int(time.time() * 1000), "workers": workers}

    def _running_entry(self, job: Job) -> dict[str, Any]:
        engine = self.server.engine
        metrics = engine.metrics(job)
        return {
            "jobId": str(job.job_id),
            "jobName": job.name,
            "jobStatus": str(job.state),
            "envOptions": _json_safe(job.env),
            "createTime": engine.fmt(job.created_wall, wall=True),
            "jobDag": self._dag(job),
            "pluginJarsUrls": [],
            "isStartWithSavePoint": job.start_with_savepoint,
            "metrics": metrics,  # RunningJobsServlet uses convertToJson: the job-info metric keys
        }

    def _finished(self, state: str | None) -> list[dict[str, Any]]:
        engine = self.server.engine
        # FinishedJobsServlet: status.name().equals(state.toUpperCase()), no validation: any case, and an unknown
        # state matches nothing
        wanted = state.upper() if state else None
        result = []
        for job in sorted(engine.jobs(), key=lambda j: j.finished_wall or 0.0):  # sorted by finish time
            if not job.state.is_terminal or (wanted is not None and str(job.state) != wanted):
                continue
            result.append(
                {
                    "jobId": str(job.job_id),
                    "jobName": job.name,
                    "jobStatus": str(job.state),
                    "errorMsg": job.error_msg,
                    "createTime": engine.fmt(job.created_wall, wall=True),
                    "finishTime": engine.fmt(job.finished_wall, wall=True),
                    "jobDag": self._dag(job),
                    "metrics": engine.metrics(job),
                }
            )
        return result

    def _overview(self) -> dict[str, str]:
        engine = self.server.engine
        jobs = engine.jobs()
        fixed = engine.total_slots()
        total = fixed if fixed is not None else 0
        unassigned = max(total - engine.slots_in_use(), 0) if fixed is not None else 0

        def count(*states: JobState) -> str:
            return str(sum(1 for j in jobs if j.state in states))

        overview = {
            "projectVersion": self.server.settings.version,
            "gitCommitAbbrev": "emulatr",
            "totalSlot": str(total),
            "unassignedSlot": str(unassigned),
            "workers": str(sum(1 for m in self.server.members.current() if m.runs_tasks)),  # OverviewInfo.workers
            "runningJobs": str(sum(1 for j in jobs if not j.state.is_terminal)),
            "finishedJobs": count(JobState.FINISHED),
            "failedJobs": count(JobState.FAILED),
            "cancelledJobs": count(JobState.CANCELED),
        }
        if self.server.settings.version_tuple >= (2, 3, 12):
            overview["pendingJobs"] = count(JobState.PENDING)
        return overview

    def _monitoring(self, member: Member, running: int) -> dict[str, str]:
        # Newer engines render isMaster, host and port first (SeaTunnelHealthMonitor); the newest append
        # nodeRole/coordinator/worker (GetClusterHealthMetricsOperation), here from 3.0 on.
        values = {
            "isMaster": "true" if member.master else "false",
            "host": member.host,
            "port": str(member.port),
            "processors": "8",
            "physical.memory.total": "16.0G",
            "physical.memory.free": "7.2G",
            "swap.space.total": "0",
            "swap.space.free": "0",
            "heap.memory.used": f"{180 + 40 * running}.0M",
            "heap.memory.free": "300.0M",
            "heap.memory.total": "576.0M",
            "heap.memory.max": "2.0G",
            "heap.memory.used/total": "31.25%",
            "heap.memory.used/max": "8.79%",
            "minor.gc.count": "6",
            "minor.gc.time": "110ms",
            "major.gc.count": "0",
            "major.gc.time": "0ms",
            "load.process": "4.10%",
            "load.system": "12.00%",
            "load.systemAverage": "0.80",
            "thread.count": str(100 + 10 * running),
            "thread.peakCount": str(120 + 10 * running),
            "cluster.timeDiff": "0",
            "event.q.size": "0",
            "executor.q.async.size": "0",
            "executor.q.client.size": "0",
            "executor.q.client.query.size": "0",
            "executor.q.client.blocking.size": "0",
            "executor.q.query.size": "0",
            "executor.q.scheduled.size": "0",
            "executor.q.io.size": "0",
            "executor.q.system.size": "0",
            "executor.q.operations.size": "0",
            "executor.q.priorityOperation.size": "0",
            "operations.completed.count": "10",
            "executor.q.mapLoad.size": "0",
            "executor.q.mapLoadAllKeys.size": "0",
            "executor.q.cluster.size": "0",
            "executor.q.response.size": "0",
            "operations.running.count": "0",
            "operations.pending.invocations.percentage": "0.00%",
            "operations.pending.invocations.count": "0",
            "proxy.count": "8",
            "clientEndpoint.count": "0",
            "connection.active.count": "1",
            "client.connection.count": "0",
            "connection.count": "0",
        }
        if self.server.settings.version_tuple >= (3, 0, 0):
            values["nodeRole"] = NODE_ROLE[member.role]
            values["coordinator"] = "true" if member.role != "worker" else "false"
            values["worker"] = "true" if member.runs_tasks else "false"
        return values

    def _logs(self, name: str | None, query: dict[str, str]) -> None:
        """AllNodeLogServlet: `/logs` and `/logs/<jobId>` list files (`format=json`: node, logLink, logName;
        else HTML links), `/logs/<name>.log` is the file's text (400 with no body when it cannot be read)."""
        engine = self.server.engine
        if name is not None and ".log" in name:
            match = re.fullmatch(r"job-(\d+)\.log", name)
            job = engine.job(int(match.group(1))) if match else None
            if job is None:
                self._send(400, b"", "text/plain")  # LogBaseServlet.prepareLogResponse
                return
            self._text("\n".join(job.log) + "\n", content_type="text/plain")
            return
        node = self._log_node()
        base = f"http://{node}{self.server.settings.context_path.rstrip('/')}/logs/"
        entries = [
            {"node": node, "logLink": base + f"job-{job.job_id}.log", "logName": f"job-{job.job_id}.log"}
            for job in engine.jobs()
            if name is None or name in f"job-{job.job_id}.log"  # the servlet keeps names that contain the id
        ]
        if query.get("format", "html").lower() == "json":
            self._json(entries)
            return
        links = "".join(f'<li><a href="{e["logLink"]}">{e["node"]}-{e["logName"]}</a></li>\n' for e in entries)
        page = (
            "<html><head><title>Seatunnel log</title></head>\n<body>\n <h2>Seatunnel log</h2>\n <ul>\n"
            + links
            + " </ul>\n</body></html>"
        )
        self._text(page, content_type="text/html; charset=UTF-8")

    def _log_node(self) -> str:
        """host:port of the member holding the files: its REST port (the servlet builds links from the member's
        host and the configured http port), so the link works from where the listing was asked."""
        host = self.headers.get("Host")
        return host or self.server.engine.node

    def _prometheus(self) -> str:
        engine = self.server.engine
        jobs = engine.jobs()
        label = 'cluster="seatunnel"'
        master, nodes = engine.node, 1
        if isinstance(engine, ClusterEngine):
            members = self.server.members.current()
            nodes = len(members)
            master = next((f"{m.host}:{m.port}" for m in members if m.master), engine.node)
        lines = [
            "# HELP cluster_info Cluster info",
            "# TYPE cluster_info gauge",
            f'cluster_info{{{label},hazelcastVersion="5.1",master="{master}"}} 1.0',
            "# HELP cluster_time Cluster start time",
            "# TYPE cluster_time gauge",
            f'cluster_time{{{label},hazelcastVersion="5.1"}} {int(engine.started_wall * 1000)}.0',
            "# HELP node_count Cluster node total count",
            "# TYPE node_count gauge",
            f"node_count{{{label}}} {float(nodes)}",
            "# HELP node_state Whether is up of seatunnel node",
            "# TYPE node_state gauge",
            f'node_state{{{label},address="{engine.node}"}} 1.0',
            "# HELP job_count All job counts of seatunnel cluster",
            "# TYPE job_count gauge",
        ]
        kinds = {
            "canceled": (JobState.CANCELED,),
            "cancelling": (JobState.CANCELING,),
            "created": (JobState.CREATED, JobState.INITIALIZING),
            "failed": (JobState.FAILED,),
            "failing": (JobState.FAILING,),
            "finished": (JobState.FINISHED,),
            "running": (JobState.RUNNING, JobState.DOING_SAVEPOINT),
            "scheduled": (JobState.SCHEDULED,),
        }
        for kind, states in kinds.items():
            lines.append(f'job_count{{{label},type="{kind}"}} {float(sum(1 for j in jobs if j.state in states))}')
        active = sum(1 for j in jobs if not j.state.is_terminal)
        lines += [
            "# HELP job_thread_pool_activeCount The activeCount of seatunnel coordinator job's executor cached "
            "thread pool",
            "# TYPE job_thread_pool_activeCount gauge",
            f'job_thread_pool_activeCount{{{label},address="{engine.node}"}} {float(active)}',
            "# HELP hazelcast_partition_partitionCount The partitionCount of Hazelcast partition",
            "# TYPE hazelcast_partition_partitionCount gauge",
            f'hazelcast_partition_partitionCount{{{label},address="{engine.node}"}} 271.0',
            "# HELP jvm_memory_bytes_used Used bytes of a given JVM memory area.",
            "# TYPE jvm_memory_bytes_used gauge",
            f'jvm_memory_bytes_used{{area="heap",}} {float((180 + 40 * active) * 1024 * 1024)}',
            "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {engine.started_wall:.3f}",
        ]
        return "\n".join(lines) + "\n"
