"""The emulated cluster's job table: jobs move through Zeta's states on a clock, nothing is executed.

State changes are planned as (time, state) steps when something happens (submit, stop) and applied lazily
whenever the table is read, under one lock, so every request sees a consistent and monotonic picture.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controlplane.seatunnel.emulator import faults as f
from controlplane.seatunnel.states import REST_V2_SINCE, JobState, parse_version

# The plugins this emulated cluster has "installed" (names are matched case-insensitively, as the engine's
# plugin discovery does). A name outside the list fails the submit with the engine's "not found" text.
INSTALLED_PLUGINS = frozenset(
    name.lower()
    for name in (
        "FakeSource Console Assert Jdbc MySQL-CDC Postgres-CDC SqlServer-CDC Oracle-CDC MongoDB-CDC Kafka Pulsar "
        "RocketMQ RabbitMQ LocalFile HdfsFile S3File OssFile FtpFile SftpFile CosFile Hive Hudi Iceberg Paimon "
        "Doris StarRocks Clickhouse ClickhouseFile Elasticsearch Easysearch MongoDB Redis Http Socket InfluxDB "
        "IoTDB TDengine Cassandra Kudu HBase Druid Maxcompute Milvus Typesense Neo4j DingTalk Email Slack "
        "Feishu Sql Filter FieldMapper Copy Replace Split FilterRowKind JsonPath DynamicCompile Embedding LLM "
        "SqlServer Oracle MySQL PostgreSQL"
    ).split()
)

_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
HISTORY_EXPIRE_MINUTES = 1440.0  # seatunnel.yaml `history-job-expire-minutes`, the engine's default
_SNOWFLAKE_EPOCH_MS = 1288834974657  # any fixed past instant: ids come out around 2**60, far above 2**53


class RequestError(Exception):
    """Becomes {"status":"fail","message":...} with the given HTTP status (400 for the engine's
    IllegalArgumentException, 500 for everything else; ZETA_FACTS §1.1)."""

    def __init__(self, message: str | None, status: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Job:
    job_id: int
    name: str
    config: dict[str, Any]
    streaming: bool
    parallelism: int
    rows_total: int | None  # batch only: rows the sources produce before the job finishes
    rate: float  # rows per second while RUNNING
    bytes_per_row: int
    vertices: list[dict[str, Any]]
    env: dict[str, Any]
    created_wall: float
    start_with_savepoint: bool = False
    state: JobState = JobState.INITIALIZING
    steps: list[tuple[float, JobState]] = field(default_factory=list)
    fault: str | None = None
    fault_driver: str = "com.mysql.cj.jdbc.Driver"
    error_msg: str | None = None
    finished_wall: float | None = None
    running_since: float | None = None  # monotonic time the current RUNNING spell began
    base_rows: float = 0.0  # rows counted before the current RUNNING spell (restored from a savepoint)
    frozen_rows: float = 0.0
    log: list[str] = field(default_factory=list)
    slots: int = 0
    fault_after_ms: Any = None
    state_times: dict[str, float] = field(default_factory=dict)  # wall time each JobStatus was last entered
    # Cluster mode (cluster.py): the member whose tasks run the job, and the pipeline's restores.
    worker: str | None = None
    worker_incarnation: str | None = None
    restore_count: int = 0
    restore_at: float | None = None  # the pipeline is being restored; its tasks run again from this time

    @property
    def max_restore_count(self) -> int:
        return max(_int(self.env.get("job.retry.times"), 3), 0)

    def rows(self, now: float) -> float:
        if self.state is JobState.RUNNING and self.running_since is not None:
            rows = self.base_rows + self.rate * (now - self.running_since)
            if self.rows_total is not None:
                rows = min(rows, float(self.rows_total))
            return rows
        return self.frozen_rows


class Engine:
    def __init__(
        self,
        *,
        version: str,
        fault_plan: f.FaultPlan | None = None,
        time_scale: float = 1.0,
        node: str = "127.0.0.1:8080",
        clock: Callable[[], float] = time.monotonic,
        history_expire_minutes: float = HISTORY_EXPIRE_MINUTES,
    ) -> None:
        self.version = version
        self.history_expire_seconds = history_expire_minutes * 60
        self.plan = fault_plan or f.FaultPlan()
        self.time_scale = time_scale
        self.node = node
        self._clock = clock
        self._mono0 = clock()
        self._wall0 = time.time()
        self._lock = threading.RLock()
        self._jobs: dict[int, Job] = {}
        self._seq = itertools.count()
        self.started_wall = self._wall0

    # -- clock -------------------------------------------------------------------------------------------
    def now(self) -> float:
        return self._clock()

    def wall(self, mono: float) -> float:
        return self._wall0 + (mono - self._mono0)

    def fmt(self, mono_or_none: float | None, *, wall: bool = False) -> str | None:
        if mono_or_none is None:
            return None
        stamp = mono_or_none if wall else self.wall(mono_or_none)
        return datetime.fromtimestamp(stamp).strftime(_TIME_FORMAT)

    def _secs(self, seconds: float) -> float:
        return seconds * self.time_scale

    # -- ids ---------------------------------------------------------------------------------------------
    def new_job_id(self) -> int:
        millis = int(time.time() * 1000) - _SNOWFLAKE_EPOCH_MS
        return (millis << 22) | (1 << 12) | (next(self._seq) & 0xFFF)

    # -- state -------------------------------------------------------------------------------------------
    @contextmanager
    def _state(self) -> Iterator[None]:
        """Hold the job table for one consistent read or change. Here it is memory under a lock; the cluster
        engine (cluster.py) loads the table from the shared store and saves it back in the same place."""
        with self._lock:
            yield

    # -- reads -------------------------------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        with self._state():
            self._advance_all()
            return sorted(self._jobs.values(), key=lambda j: j.created_wall, reverse=True)

    def job(self, job_id: int) -> Job | None:
        with self._state():
            self._advance_all()
            return self._jobs.get(job_id)

    def slots_in_use(self) -> int:
        with self._state():
            return sum(j.slots for j in self._jobs.values() if not j.state.is_terminal)

    def total_slots(self) -> int | None:
        """Fixed slots (a --faults `slots`), None for dynamic slots."""
        return self.plan.slots

    # -- submit ------------------------------------------------------------------------------------------
    def submit(
        self,
        config: Any,
        *,
        job_id: int | None,
        job_name: str | None,
        start_with_savepoint: bool,
    ) -> Job:
        if start_with_savepoint and job_id is None:
            raise RequestError("Please provide jobId when start with save point.", 400)
        if not isinstance(config, dict):
            raise RequestError("Invalid JSON format in request body.", 400)
        env = config.get("env")
        env = dict(env) if isinstance(env, dict) else {}  # as sent: the engine repairs nothing (ZETA_FACTS §3.1)
        sources, transforms, sinks = (_plugins(config, key) for key in ("source", "transform", "sink"))
        if not sources or not sinks:
            missing = "source" if not sources else "sink"
            raise RequestError(
                "ErrorCode:[API-01], ErrorDescription:[Configuration item validate failed] - "
                f"Missing {missing} configuration"
            )
        for plugin_type, items in (("source", sources), ("transform", transforms), ("sink", sinks)):
            for item in items:
                name = str(item.get("plugin_name", ""))
                if name.lower() not in INSTALLED_PLUGINS or name.lower() in self.plan.missing_plugins:
                    raise RequestError(f.plugin_not_found(plugin_type, name))
        if option(env, f.ENV_FAULT) == f.UNKNOWN_PLUGIN:
            raise RequestError(f.plugin_not_found("source", str(sources[0].get("plugin_name"))))
        for item in (*sources, *transforms, *sinks):
            check_map_options(item)
        for item in sources:
            check_jdbc_connects(item)

        with self._state():
            self._advance_all()
            now = self.now()
            previous = self._jobs.get(job_id) if job_id is not None else None
            if previous is not None:
                if not previous.state.is_terminal:
                    # The engine logs "The job %s is currently running; no need to submit again." and answers.
                    previous.log.append(
                        self._line(previous, "INFO", f"The job {job_id} is currently running; no need to submit again.")
                    )
                    return previous
                if not start_with_savepoint:
                    raise RequestError(
                        f"The job id {job_id} has already been submitted and is not starting with a savepoint."
                    )
            name = job_name or str(option(env, "job.name") or "SeaTunnel_Job")
            job = self._new_job(job_id or self.new_job_id(), name, config, env, sources, transforms, sinks)
            job.start_with_savepoint = start_with_savepoint
            job.state_times[str(JobState.INITIALIZING)] = job.created_wall
            if previous is not None:
                job.base_rows = previous.frozen_rows
                job.frozen_rows = previous.frozen_rows
                job.log = previous.log
            self._plan_start(job, now)
            self._jobs[job.job_id] = job
            job.log.append(self._line(job, "INFO", f"Start submit job, job id: {job.job_id}, with plugin jar []"))
            self._advance(job, now)
            return job

    def _new_job(
        self,
        job_id: int,
        name: str,
        config: dict[str, Any],
        env: dict[str, Any],
        sources: list[dict[str, Any]],
        transforms: list[dict[str, Any]],
        sinks: list[dict[str, Any]],
    ) -> Job:
        # job.mode and parallelism go through ReadonlyConfig (flat key, else nested); the read limits, checkpoint
        # and retry settings are read from the raw env map by their flat names only (ZETA_FACTS §3.1).
        streaming = str(option(env, "job.mode") or "BATCH").upper() == "STREAMING"
        parallelism = _int(option(env, "parallelism") or option(env, "execution.parallelism"), 1)
        rows_total = None
        rate = 0.0
        for source in sources:
            source_par = _int(source.get("parallelism"), parallelism)
            if str(source.get("plugin_name", "")).lower() == "fakesource":
                # FakeSource: row.num rows per parallel reader (default 5), split.read-interval ms between rows.
                per_reader = _int(option(source, "row.num"), 5)
                interval_ms = max(_int(option(source, "split.read-interval"), 1), 1)
                rows = per_reader * source_par
                rate += min(source_par * 1000.0 / interval_ms, 2000.0)
            else:
                rows = 1000 * source_par
                rate += 500.0 * source_par
            rows_total = (rows_total or 0) + rows
        limit = env.get("read_limit.rows_per_second")
        if limit is not None:
            rate = min(rate, float(_int(limit, int(rate))))
        rate = max(rate, 1.0)
        duration_ms = option(env, f.ENV_DURATION_MS)
        if not streaming:
            # Keep batch runs short (0.5..5 s) whatever row.num says, unless the config asks for a duration.
            wanted = (
                _int(duration_ms, 0) / 1000.0
                if duration_ms is not None
                else min(max((rows_total or 0) / rate, 0.5), 5.0)
            )
            rate = (rows_total or 0) / max(self._secs(wanted), 0.001)
        fields = 0
        for source in sources:
            schema = source.get("schema")
            if isinstance(schema, dict) and isinstance(schema.get("fields"), dict):
                fields += len(schema["fields"])
        vertices = []
        vertex_id = itertools.count(1)
        last_table = None
        for kind, items in (("source", sources), ("transform", transforms), ("sink", sinks)):
            for index, item in enumerate(items):
                if kind == "sink":
                    table = item.get("plugin_input") or item.get("source_table_name") or last_table
                else:
                    table = item.get("plugin_output") or item.get("result_table_name") or last_table
                if isinstance(table, list):
                    table = table[0] if table else None
                last_table = table if kind != "sink" else last_table
                vertices.append(
                    {
                        "vertexId": next(vertex_id),
                        "type": kind,
                        "vertexName": f"{kind.capitalize()}[{index}]-{item.get('plugin_name')}",
                        "tablePaths": [str(table or "default")],
                    }
                )
        return Job(
            job_id=job_id,
            name=name,
            config=config,
            streaming=streaming,
            parallelism=parallelism,
            rows_total=None if streaming else rows_total,
            rate=rate,
            bytes_per_row=16 + 12 * max(fields, 1),
            vertices=vertices,
            env=env,
            created_wall=time.time(),
            slots=parallelism + 2,  # ZETA_FACTS §4.4: slots needed ≈ 2 + parallelism
        )

    def _plan_start(self, job: Job, now: float) -> None:
        env = job.env
        plugin_names = [
            str(item.get("plugin_name", "")) for key in ("source", "sink") for item in _plugins(job.config, key)
        ]
        rule = self.plan.rule_for(job.name, plugin_names)
        fault = option(env, f.ENV_FAULT) or (rule.fault if rule else None)
        after_ms = option(env, f.ENV_FAULT_AFTER_MS)
        if after_ms is None and rule is not None:
            after_ms = rule.after_ms
        if fault is None:
            for key in ("source", "sink"):
                for item in _plugins(job.config, key):
                    driver = item.get("driver")
                    if str(item.get("plugin_name", "")).lower() == "jdbc" and driver in self.plan.missing_jdbc_drivers:
                        fault, job.fault_driver = f.MISSING_JDBC_DRIVER, str(driver)
        total = self.total_slots()
        if fault is None and total is not None and self.slots_in_use() + job.slots > total:
            fault = f.NOT_ENOUGH_SLOTS
        if fault is None and not self._place(job, now):
            fault = f.NOT_ENOUGH_SLOTS
        if fault is not None and fault not in f.RUNTIME_FAULTS:
            raise RequestError(f"unknown {f.ENV_FAULT} {fault!r}; one of {', '.join(f.ALL_FAULTS)}", 400)
        if fault is None and option(env, f.ENV_FAULT) is None:
            for key in ("source", "sink"):
                for item in _plugins(job.config, key):
                    if str(item.get("plugin_name", "")).lower() == "jdbc" and item.get("driver"):
                        job.fault_driver = str(item["driver"])
        job.fault = fault
        job.fault_after_ms = after_ms
        steps = [(now + self._secs(0.1), JobState.CREATED)]
        if parse_version(self.version) >= REST_V2_SINCE:
            # CoordinatorService (2.3.9+): every job enters the pending queue before it is scheduled
            steps.append((now + self._secs(0.15), JobState.PENDING))
        steps.append((now + self._secs(0.2), JobState.SCHEDULED))
        if fault == f.NOT_ENOUGH_SLOTS:
            steps += [(now + self._secs(0.3), JobState.FAILING), (now + self._secs(0.4), JobState.FAILED)]
        else:
            run_at = now + self._secs(0.3)
            steps.append((run_at, JobState.RUNNING))
            steps += self._run_steps(job, run_at)
        job.steps = steps

    def _run_steps(self, job: Job, run_at: float) -> list[tuple[float, JobState]]:
        """What follows RUNNING from `run_at`: an injected failure, the end of a batch, or nothing (streaming)."""
        if job.fault is not None:
            delay = self._secs(_int(job.fault_after_ms, f.DEFAULT_AFTER_MS[job.fault]) / 1000.0)
            return [(run_at + delay, JobState.FAILING), (run_at + delay + self._secs(0.2), JobState.FAILED)]
        if not job.streaming:
            remaining = max((job.rows_total or 0) - job.base_rows, 0)
            return [(run_at + remaining / job.rate, JobState.FINISHED)]
        return []

    def _place(self, job: Job, now: float) -> bool:
        """Put the job's tasks on a member; False when no member can take them. One process is one member."""
        return True

    def is_master(self) -> bool:
        """Is the member answering the master? One process is the whole cluster, so yes."""
        return True

    # -- stop --------------------------------------------------------------------------------------------
    def stop(self, job_id: int, *, savepoint: bool) -> None:
        with self._state():
            self._advance_all()
            job = self._jobs.get(job_id)
            if job is None or job.state.is_terminal or job.state in (JobState.CANCELING, JobState.DOING_SAVEPOINT):
                return  # CoordinatorService.cancelJob: unknown or finished ids are a silent no-op
            now = self.now()
            job.restore_at = None  # a stop during a pipeline restore ends the restore
            if savepoint:
                if job.state is not JobState.RUNNING:
                    failure = f"The job with id '{job_id}' not running, save point failed"
                    if self.is_master():
                        # On the master the REST servlet does not join the savepoint future: the failure is
                        # only logged and the request answers 200 (BaseServlet.handleStopJob).
                        job.log.append(self._line(job, "ERROR", failure))
                        return
                    raise RequestError(failure)
                self._enter(job, JobState.DOING_SAVEPOINT, now)
                job.steps = [(now + self._secs(0.5), JobState.SAVEPOINT_DONE)]
            else:
                self._enter(job, JobState.CANCELING, now)
                job.steps = [(now + self._secs(0.3), JobState.CANCELED)]

    # -- transitions -------------------------------------------------------------------------------------
    def _advance_all(self) -> None:
        now = self.now()
        for job in list(self._jobs.values()):
            self._advance(job, now)
        self._expire_history(now)

    def _expire_history(self, now: float) -> None:
        """A finished job is kept `history-job-expire-minutes` after it ended, then forgotten: /job-info answers
        only its id and the finished-jobs list drops it (the engine's finished-job IMap entries expire)."""
        horizon = self.wall(now) - self.history_expire_seconds
        for job_id, job in list(self._jobs.items()):
            if job.finished_wall is not None and job.finished_wall <= horizon:
                del self._jobs[job_id]

    def _advance(self, job: Job, now: float) -> None:
        while job.steps and job.steps[0][0] <= now:
            at, state = job.steps.pop(0)
            self._enter(job, state, at)

    def _enter(self, job: Job, state: JobState, at: float) -> None:
        job.frozen_rows = job.rows(at)
        if state is JobState.FINISHED and job.rows_total is not None:
            job.frozen_rows = float(job.rows_total)  # exactly, whatever the float arithmetic of rate x time gave
        before = job.state
        job.state = state
        job.state_times[str(state)] = self.wall(at)
        if state is JobState.RUNNING:
            job.running_since = at
            job.base_rows = job.frozen_rows
        job.log.append(
            self._line(job, "INFO", f"Job {job.name} ({job.job_id}) turned from state {before} to {state}.", at=at)
        )
        if state is JobState.FAILING and job.fault:
            job.error_msg = f.error_text(job.fault, job_id=job.job_id, driver=job.fault_driver)
            job.log.append(self._line(job, "ERROR", f"Job {job.name} ({job.job_id}) failed: {job.error_msg}", at=at))
        if state.is_terminal:
            job.finished_wall = self.wall(at)
            job.log.append(self._line(job, "INFO", f"Job ({job.job_id}) end with state {state}", at=at))

    def _line(self, job: Job, level: str, message: str, *, at: float | None = None) -> str:
        stamp = self.wall(self.now() if at is None else at)
        text = datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S,") + f"{int(stamp * 1000) % 1000:03d}"
        return (
            f"[{job.job_id}] {text} {level:<5} [o.a.s.e.s.CoordinatorService] "
            f"[seatunnel-coordinator-service-{job.job_id % 7}] - {message}"
        )

    # -- metrics -----------------------------------------------------------------------------------------
    def metrics(self, job: Job) -> dict[str, Any]:
        now = self.now()
        received = int(job.rows(now))
        written = received
        running = job.state is JobState.RUNNING
        qps = job.rate if running else 0.0
        received_bytes = received * job.bytes_per_row
        written_bytes = written * job.bytes_per_row
        bps = qps * job.bytes_per_row
        source_tables = [v["tablePaths"][0] for v in job.vertices if v["type"] == "source"]
        sink_tables = [v["tablePaths"][0] for v in job.vertices if v["type"] == "sink"]

        def per_table(tables: list[str], value: float, *, decimals: bool = False) -> dict[str, str]:
            if not tables:
                return {}
            share = value / len(tables)
            return {t: f"{share:.2f}" if decimals else str(int(share)) for t in tables}

        return {
            "IntermediateQueueSize": "0",
            "SourceReceivedCount": str(received),
            "SourceReceivedQPS": f"{qps:.2f}",
            "SourceReceivedBytes": str(received_bytes),
            "SourceReceivedBytesPerSeconds": f"{bps:.2f}",
            "SinkWriteCount": str(written),
            "SinkWriteQPS": f"{qps:.2f}",
            "SinkWriteBytes": str(written_bytes),
            "SinkWriteBytesPerSeconds": f"{bps:.2f}",
            "TableSourceReceivedCount": per_table(source_tables, received),
            "TableSourceReceivedBytes": per_table(source_tables, received_bytes),
            "TableSourceReceivedBytesPerSeconds": per_table(source_tables, bps, decimals=True),
            "TableSourceReceivedQPS": per_table(source_tables, qps, decimals=True),
            "TableSinkWriteCount": per_table(sink_tables, written),
            "TableSinkWriteQPS": per_table(sink_tables, qps, decimals=True),
            "TableSinkWriteBytes": per_table(sink_tables, written_bytes),
            "TableSinkWriteBytesPerSeconds": per_table(sink_tables, bps, decimals=True),
        }


def _plugins(config: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = config.get(key) or []
    if isinstance(items, dict):
        items = [items]
    return [dict(item) for item in items if isinstance(item, dict)]


def option(options: dict[str, Any], key: str) -> Any:
    """ReadonlyConfig.getValue: the flat key, else a walk down nested maps split on '.'."""
    if key in options:
        return options[key]
    node: Any = options
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# Connector options typed Option<Map<String, String>> (config/upcast.py has the full list); the engine converts
# their value through Jackson into a Map<String, String>, which a nested object cannot become.
MAP_OPTIONS = ("kafka.config", "debezium", "properties", "hive.hadoop.conf", "hadoop_s3_properties", "pulsar.config")


def check_map_options(item: dict[str, Any]) -> None:
    for name in MAP_OPTIONS:
        value = option(item, name)
        if isinstance(value, dict) and any(isinstance(v, dict | list) for v in value.values()):
            text = json.dumps(value, separators=(",", ":"))
            # ConfigUtil.convertValue: the failed Jackson read is rethrown with the value and the wanted type
            raise RequestError(
                f"Json parsing exception, value '{text}', and expected type "
                "'java.util.Map<java.lang.String, java.lang.String>'"
            )


_JDBC_HOST = re.compile(r"^jdbc:[a-z0-9]+://(?:[^@/]*@)?(\[[^\]]+\]|[^:/?;]+)(?::(\d+))?", re.IGNORECASE)
_LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def check_jdbc_connects(item: dict[str, Any]) -> None:
    """A Jdbc source connects while the job is built, inside the submit (JdbcSource -> AbstractJdbcCatalog
    .getConnection): a database that refuses fails the submit with a 500. The emulator tries a TCP connection for a
    loopback url only (a test's closed port); any other host is taken as reachable."""
    if str(item.get("plugin_name", "")).lower() != "jdbc":
        return
    url = str(option(item, "url") or "")
    match = _JDBC_HOST.match(url)
    if match is None or not match.group(1).lower().startswith(_LOOPBACK):
        return
    host = match.group(1).strip("[]")
    port = int(match.group(2) or 3306)
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError:
        raise RequestError(
            f"ErrorCode:[API-03], ErrorDescription:[Catalog initialize failed] - Failed connecting to {url} via JDBC."
        ) from None


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
