"""Jobs' API serializers: definitions and versions, schedules, runs and their logs, templates."""

from __future__ import annotations

from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from controlplane.api.inputs import Input
from controlplane.diagnostics.selectors import language_of, run_fault
from controlplane.jobs import selectors, throughput
from controlplane.jobs.domain.runs import RunState
from controlplane.jobs.domain.schedule import next_fire_times
from controlplane.jobs.models import Job, JobSchedule, JobVersion, Run

FORMATS = ["auto", "hocon", "json", "yaml", "sql"]


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "name",
            "description",
            "labels",
            "cluster_id",
            "cluster_selector",
            "mode",
            "current_version",
            "version",
            "created_at",
            "updated_at",
        ]


class JobVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobVersion
        fields = [
            "version",
            "format",
            "text",
            "normalised",
            "mode",
            "variables",
            "ambiguous",
            "message",
            "author",
            "rolled_back_from",
            "created_at",
        ]


class VariableSerializer(Input):
    """One job variable; the domain checks the name and the value (JOB_VARIABLE_INVALID)."""

    name = serializers.CharField(max_length=64)
    default = serializers.JSONField(required=False, allow_null=True)


class JobCreateSerializer(Input):
    name = serializers.CharField(max_length=100)
    cluster_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    cluster_selector = serializers.DictField(child=serializers.CharField(max_length=200), required=False, default=dict)
    config = serializers.CharField(max_length=512 * 1024, trim_whitespace=False)
    format = serializers.ChoiceField(choices=FORMATS, default="auto")
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    labels = serializers.DictField(
        child=serializers.CharField(max_length=200, allow_blank=True), required=False, default=dict
    )
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    variables = VariableSerializer(many=True, required=False, default=list)


class JobUpdateSerializer(Input):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    labels = serializers.DictField(child=serializers.CharField(max_length=200, allow_blank=True), required=False)
    cluster_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    cluster_selector = serializers.DictField(child=serializers.CharField(max_length=200), required=False)


class RevisionSerializer(Input):
    config = serializers.CharField(max_length=512 * 1024, trim_whitespace=False)
    format = serializers.ChoiceField(choices=FORMATS, default="auto")
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    variables = VariableSerializer(many=True, required=False)  # absent: the current version's


class RollbackSerializer(Input):
    to_version = serializers.IntegerField(min_value=1)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ScheduleSerializer(Input):
    cron = serializers.CharField(max_length=120)
    timezone = serializers.CharField(max_length=64, default="UTC")
    enabled = serializers.BooleanField(default=True)
    allow_overlap = serializers.BooleanField(default=False)


class JobScheduleSerializer(serializers.ModelSerializer):
    upcoming = serializers.SerializerMethodField()

    class Meta:
        model = JobSchedule
        fields = [
            "cron",
            "timezone",
            "enabled",
            "allow_overlap",
            "next_fire_at",
            "upcoming",
            "last_fire_at",
            "last_run_id",
            "last_skipped",
            "missed",
        ]

    def get_upcoming(self, row: JobSchedule) -> list[str]:
        """The next five fire times (UTC), to check an expression before trusting it."""
        if row.next_fire_at is None:
            return []
        first = row.next_fire_at
        return [first.isoformat()] + [t.isoformat() for t in next_fire_times(row.cron, row.timezone, first, 4)]


MAX_VERSION = 2**31 - 1  # a version number the database can hold; anything larger names no version


class VersionsQuerySerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False, help_text="answer the version that was current at this time")


class JobVersionListSerializer(serializers.Serializer):
    results = JobVersionSerializer(many=True)


def _version_field(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_VERSION, required=False, help_text=help_text)


# "from" is a Python keyword, so these two are built with type() rather than a class statement.
DiffQuerySerializer = type(
    "DiffQuerySerializer",
    (serializers.Serializer,),
    {"from": _version_field("default: the version before `to`"), "to": _version_field("default: the current one")},
)


DiffSerializer = type(
    "DiffSerializer",
    (serializers.Serializer,),
    {
        "from": serializers.IntegerField(),
        "to": serializers.IntegerField(),
        "text": serializers.CharField(help_text="unified diff of the config texts"),
        "structure": serializers.DictField(help_text="structural diff of the normalised configs"),
    },
)


MAX_TAIL = 5000


class FaultSerializer(serializers.Serializer):
    """The known fault of a FAILED run (``fault`` in a run's representation, docs/DIAGNOSTICS.md)."""

    id = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField()
    severity = serializers.CharField()
    explanation = serializers.CharField()
    fix = serializers.CharField()
    evidence = serializers.CharField()
    one_click = serializers.DictField(allow_null=True)
    source = serializers.ChoiceField(
        choices=["error", "log"], help_text="what matched: the run's error, or (detail only) the engine's log of it"
    )


class RunListSerializer(serializers.ListSerializer):
    """A page of runs reads their live metrics in one query, not one per run."""

    def to_representation(self, data):  # type: ignore[no-untyped-def]
        rows = list(data.all() if hasattr(data, "all") else data)
        self.child.context["telemetry"] = selectors.telemetry_of([r.id for r in rows])
        return super().to_representation(rows)


class RunSerializer(serializers.ModelSerializer):
    engine_job_id = serializers.CharField(read_only=True)  # 64-bit: a string, never a JSON number
    live_metrics = serializers.SerializerMethodField()
    fault = serializers.SerializerMethodField(
        help_text="a FAILED run's known fault: the best match of its error in the fault library, or null"
    )

    class Meta:
        model = Run
        list_serializer_class = RunListSerializer
        fields = [
            "id",
            "job_id",
            "job_version",
            "cluster_id",
            "state",
            "engine_job_id",
            "engine_job_name",
            "engine_state",
            "error_code",
            "error",
            "reason",
            "retry_of",
            "reproduces",
            "started_by",
            "attempts",
            "acknowledged",
            "metrics",
            "live_metrics",
            "fault",
            "version",
            "created_at",
            "updated_at",
            "submitted_at",
            "finished_at",
        ]

    def get_live_metrics(self, run: Run) -> dict | None:
        if "telemetry" in self.context:
            telemetry = self.context["telemetry"].get(run.id)
        else:
            telemetry = selectors.telemetry_get(run)
        if telemetry is None or not telemetry.metrics:
            return None
        at = telemetry.metrics_at.isoformat() if telemetry.metrics_at else None
        return {**throughput.engine_metrics(telemetry.metrics), "at": at}

    @extend_schema_field(FaultSerializer(allow_null=True))
    def get_fault(self, run: Run) -> dict | None:
        """Matched when read, in the request's language (docs/DIAGNOSTICS.md); nothing is stored."""
        return run_fault(run, language=language_of(get_language()))


class RunDetailSerializer(RunSerializer):
    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "manifest"]

    @extend_schema_field(FaultSerializer(allow_null=True))
    def get_fault(self, run: Run) -> dict | None:
        """One run: when its error names no known fault, the engine's log kept with it may (lists do not read
        logs)."""
        telemetry = selectors.telemetry_get(run) if str(run.state) == RunState.FAILED else None
        log_text = telemetry.log_text if telemetry is not None else ""
        return run_fault(run, language=language_of(get_language()), log_text=log_text)


class StartSerializer(Input):
    version = serializers.IntegerField(min_value=1, required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    allow_overlap = serializers.BooleanField(required=False, default=False)
    # name -> value for the version's declared job variables; the domain checks names, types and sizes
    variables = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)


class RepeatSerializer(Input):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    allow_overlap = serializers.BooleanField(required=False, default=False)


class StopSerializer(Input):
    savepoint = serializers.BooleanField(required=False, default=False)


class ResolveSerializer(Input):
    state = serializers.ChoiceField(
        choices=[str(s) for s in (RunState.RUNNING, RunState.SUCCEEDED, RunState.FAILED, RunState.STOPPED)]
    )
    reason = serializers.CharField(max_length=2000)


class LogsQuerySerializer(serializers.Serializer):
    tail = serializers.IntegerField(min_value=0, max_value=MAX_TAIL, default=200, help_text="the last N lines")
    after = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, help_text="lines after this")


class FetchErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # ZETA_LOGS_UNREACHABLE: the members whose log files could not be read (the others' lines are shown)
    nodes = serializers.ListField(child=serializers.CharField(), required=False)


class LogsSerializer(serializers.Serializer):
    lines = serializers.ListField(child=serializers.CharField())
    first_line = serializers.IntegerField()
    next = serializers.IntegerField()
    live = serializers.BooleanField()
    fetch_error = FetchErrorSerializer(allow_null=True)


class RenderSerializer(Input):
    params = serializers.DictField(required=False, default=dict)
    # Whose engine version decides the table-wiring keys (plugin_output/plugin_input from 2.3.9 on):
    cluster_id = serializers.CharField(max_length=64, required=False)
    engine_version = serializers.CharField(max_length=32, required=False)


class ParamSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["string", "int", "bool", "string_list", "secret", "enum"])
    required = serializers.BooleanField()
    default = serializers.JSONField(allow_null=True)
    description = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())
    minimum = serializers.IntegerField(allow_null=True)
    pattern = serializers.CharField(allow_null=True)


class TemplateSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    params = ParamSerializer(many=True)


class RenderedSerializer(serializers.Serializer):
    template = serializers.CharField()
    engine_version = serializers.CharField()
    format = serializers.CharField()
    config = serializers.CharField()


class TemplateListSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="always null: every template is in one answer")
    previous = serializers.CharField(allow_null=True)
    results = TemplateSerializer(many=True)
