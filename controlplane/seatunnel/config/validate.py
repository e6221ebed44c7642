"""Validation of a job config: a list of problems, each with a stable code and a path in the config."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from controlplane.seatunnel.catalog import Catalog
from controlplane.seatunnel.config.errors import JobConfigFormatUnsupported, JobConfigInvalid, JobConfigParseError
from controlplane.seatunnel.config.normal import option_value
from controlplane.seatunnel.config.parse import ParsedConfig, parse_config
from controlplane.seatunnel.config.secrets import secret_references

MODES = ("BATCH", "STREAMING")
OUTPUT_KEYS = ("plugin_output", "result_table_name")  # new key first; old key is the engine's fallback
INPUT_KEYS = ("plugin_input", "source_table_name")

# Every code validate() can report (documented in docs/JOB_CONFIGS.md).
CODES = (
    "JOB_CONFIG_PARSE_ERROR",
    "JOB_CONFIG_FORMAT_UNSUPPORTED",
    "JOB_CONFIG_ENV_MISSING",
    "JOB_CONFIG_MODE_INVALID",
    "JOB_CONFIG_NO_SOURCE",
    "JOB_CONFIG_NO_SINK",
    "JOB_CONFIG_PLUGIN_UNKNOWN",
    "JOB_CONFIG_TABLE_NAME_INVALID",
    "JOB_CONFIG_INPUT_UNRESOLVED",
    "JOB_CONFIG_OUTPUT_DUPLICATE",
    "JOB_CONFIG_SECRET_UNKNOWN",
    "JOB_CONFIG_INCLUDE_FORBIDDEN",
    "JOB_CONFIG_VARIABLE_UNRESOLVED",
)


@dataclass(frozen=True)
class Problem:
    code: str
    path: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mode(env: Mapping[str, Any]) -> Any:
    return option_value(env, "job.mode")  # EnvCommonOptions.JOB_MODE, read through ReadonlyConfig


def _names(value: Any) -> list[str] | None:
    """Table names of a plugin_input/plugin_output value (string, comma list or list); None when malformed."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    return None


def _wiring_key(options: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((key for key in keys if key in options), None)


def output_names(options: Mapping[str, Any]) -> list[str]:
    key = _wiring_key(options, OUTPUT_KEYS)
    return (_names(options[key]) or []) if key else []


def _check_wiring(normalised: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    produced: dict[str, str] = {}
    for kind in ("source", "transform"):
        for index, item in enumerate(normalised[kind]):
            key = _wiring_key(item["options"], OUTPUT_KEYS)
            if key is None:
                continue
            path = f"{kind}[{index}].{item['plugin']}.{key}"
            names = _names(item["options"][key])
            if names is None:
                problems.append(
                    Problem("JOB_CONFIG_TABLE_NAME_INVALID", path, f"{key} must be a string or a list of strings.")
                )
                continue
            for name in names:
                if name in produced:
                    problems.append(
                        Problem(
                            "JOB_CONFIG_OUTPUT_DUPLICATE",
                            path,
                            f"Table '{name}' is already produced by {produced[name]}.",
                            {"table": name, "first": produced[name]},
                        )
                    )
                else:
                    produced[name] = path
    for kind in ("transform", "sink"):
        for index, item in enumerate(normalised[kind]):
            key = _wiring_key(item["options"], INPUT_KEYS)
            if key is None:
                continue
            path = f"{kind}[{index}].{item['plugin']}.{key}"
            names = _names(item["options"][key])
            if names is None:
                problems.append(
                    Problem("JOB_CONFIG_TABLE_NAME_INVALID", path, f"{key} must be a string or a list of strings.")
                )
                continue
            for name in names:
                if name not in produced:
                    problems.append(
                        Problem(
                            "JOB_CONFIG_INPUT_UNRESOLVED",
                            path,
                            f"No source or transform produces table '{name}'.",
                            {"table": name, "known": sorted(produced)},
                        )
                    )
    return problems


def validate_normalised(
    normalised: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
    secret_exists: Callable[[str], bool] | None = None,
) -> list[Problem]:
    problems: list[Problem] = []
    env = normalised.get("env") or {}
    if not env:
        problems.append(
            Problem("JOB_CONFIG_ENV_MISSING", "env", "The config has no env block (env.job.mode is needed).")
        )
    else:
        mode = _mode(env)
        if not isinstance(mode, str) or mode.upper() not in MODES:
            problems.append(
                Problem(
                    "JOB_CONFIG_MODE_INVALID",
                    "env.job.mode",
                    f"env.job.mode must be BATCH or STREAMING, not {mode!r}.",
                    {"value": mode, "allowed": list(MODES)},
                )
            )
    if not normalised.get("source"):
        problems.append(Problem("JOB_CONFIG_NO_SOURCE", "source", "The config has no source plugin."))
    if not normalised.get("sink"):
        problems.append(Problem("JOB_CONFIG_NO_SINK", "sink", "The config has no sink plugin."))
    if catalog is not None:
        for kind in ("source", "transform", "sink"):
            for index, item in enumerate(normalised.get(kind, [])):
                if catalog.knows(kind, item["plugin"]):
                    continue
                suggestions = catalog.suggest(kind, item["plugin"])
                hint = f" Did you mean {suggestions[0]}?" if suggestions else ""
                problems.append(
                    Problem(
                        "JOB_CONFIG_PLUGIN_UNKNOWN",
                        f"{kind}[{index}].{item['plugin']}",
                        f"SeaTunnel {catalog.version} has no {kind} plugin '{item['plugin']}'.{hint}",
                        {
                            "kind": kind,
                            "plugin": item["plugin"],
                            "version": catalog.version,
                            "suggestions": suggestions,
                        },
                    )
                )
    problems.extend(_check_wiring(normalised))
    if secret_exists is not None:
        for path, name in secret_references(normalised):
            if not secret_exists(name):
                problems.append(
                    Problem("JOB_CONFIG_SECRET_UNKNOWN", path, f"No secret named '{name}'.", {"secret": name})
                )
    return problems


def validate(
    config: str | ParsedConfig,
    *,
    fmt: str = "auto",
    catalog: Catalog | None = None,
    secret_exists: Callable[[str], bool] | None = None,
    variables: list[dict[str, Any]] | None = None,
) -> list[Problem]:
    """All problems of a config text (or an already parsed config); [] when it is valid.

    Parse errors come back as one JOB_CONFIG_PARSE_ERROR problem (path from the structure error or "", line/column in
    details). Without `catalog` plugin names are not checked; without `secret_exists` secret names are not checked.
    `variables`: the job's declared variables; a `${name}` naming none of them is JOB_CONFIG_VARIABLE_UNRESOLVED.
    """
    parsed, problems = _parsed(config, fmt, variables)
    if parsed is None:
        return problems
    return validate_normalised(parsed.normalised, catalog=catalog, secret_exists=secret_exists)


def _parsed(
    config: str | ParsedConfig, fmt: str, variables: list[dict[str, Any]] | None
) -> tuple[ParsedConfig | None, list[Problem]]:
    """The parsed config, or the one problem saying why the text does not parse."""
    if isinstance(config, ParsedConfig):
        return config, []
    try:
        return parse_config(config, fmt, variables), []
    except (JobConfigParseError, JobConfigFormatUnsupported) as exc:
        details = dict(exc.details)
        path = str(details.pop("path", "") or "")
        return None, [Problem(exc.code, path, exc.message, details)]


def check(
    config: str | ParsedConfig,
    *,
    fmt: str = "auto",
    catalog: Catalog | None = None,
    secret_exists: Callable[[str], bool] | None = None,
    variables: list[dict[str, Any]] | None = None,
) -> ParsedConfig:
    """The parsed config when valid; else JobConfigInvalid with every problem in details["problems"]."""
    parsed, problems = _parsed(config, fmt, variables)  # parsed once: parsing HOCON is the costly part
    if parsed is not None:
        problems = validate_normalised(parsed.normalised, catalog=catalog, secret_exists=secret_exists)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise JobConfigInvalid(
            f"The job config is invalid: {first.message}{more}", problems=[p.as_dict() for p in problems]
        )
    assert parsed is not None
    return parsed
