"""Schemathesis over the whole API, in process: every operation of the OpenAPI document, positive and negative
inputs, as a platform administrator in a populated tenant (tests/api/world.py). No server errors, and every
answer conforms to the document (status codes, content type, response schema, headers).

Bounded and repeatable: a fixed number of examples per operation and mode, derandomized. It reads the whole
schema, so a new endpoint is fuzzed without being named here; a path parameter it cannot fill from the world
fails the test, so add it to ``PATH_OBJECTS``. Failures are collected and printed one block per operation: each
kind of failure once, with a curl command that reproduces it.

Not stateful in schemathesis' sense (the document declares no links between operations): instead every path names
a real object of the world, so detail and action endpoints are exercised on live objects, and deletions run last.
``FUZZ_EXAMPLES=50 pytest tests/api/test_fuzz.py -s`` runs a deeper pass locally.
"""

from __future__ import annotations

import functools
import os
import re
from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as openapi_checks

from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions as iam
from controlplane.iam.sessions import SID
from tests.api.world import World, build_world

pytestmark = pytest.mark.django_db

# per operation and generation mode: 6 x 2 x 87 operations is about a minute on one core
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "6"))
# The operations are dealt round-robin into this many tests, each with its own world, so that the workers of
# `pytest -n` share the pass; together they cover every operation once.
SHARDS = 4

# The error codes that mean "the request does not have the documented shape": a positive (schema-valid) case
# must never get them. Other 400s are domain rules the schema cannot express (a config that does not parse, a
# cron that never fires, a secret name that is taken), which schema-valid random input may break.
SHAPE_CODES = {"VALIDATION_FAILED", "MALFORMED_REQUEST", "UNSUPPORTED_MEDIA_TYPE", "PAGE_SIZE_INVALID"}

# The world object a path parameter names, by the collection it follows in the path.
PATH_OBJECTS = {
    "members": "acme_member",
    "alert-rules": "acme_alert_rule",
    "alerts": "acme_alert",
    "silences": "acme_silence",
    "object-grants": "acme_object_grant",
    "tokens": "root_token",
    "agent-actions": "acme_agent_action",
    "agent-bootstrap-tokens": "acme_agent_token",
    "agents": "acme_agent",
    "clusters": "acme_cluster",
    "jobs": "acme_job",
    "operations": "acme_operation",
    "diagnostic-archives": "acme_archive",
    "findings": "acme_finding",
    "secrets": "acme_secret",
    "invitations": "acme_invitation",
    "platform-tokens": "root_platform_token",
    "sessions": "root_session",
    "notification-channels": "acme_channel",
    "notification-deliveries": "acme_delivery",
}
# A run in the state each verb needs; any other run path uses the running one.
RUN_FOR_VERB = {"resume": "paused", "cancel": "pending", "retry": "failed", "reproduce": "failed", "resolve": "unknown"}
FIXED = {
    "tenant": "acme",
    "workspace": "etl",
    "slug": "etl",
    "name": "fake-to-console",
    "number": 1,
    "version": "2.3.12",
}


def path_parameters(path: str, world: World) -> dict:
    params: dict = {}
    for before, name in re.findall(r"([^/{}]+)/\{(\w+)\}", path):
        if name in FIXED and not (name == "slug" and before != "workspaces"):
            params[name] = FIXED[name]
        elif before == "runs":
            verb = path.rstrip("/").rsplit("/", 1)[-1]
            params[name] = world.objects[f"acme_run_{RUN_FOR_VERB.get(verb, 'running')}"]
        elif before in PATH_OBJECTS:
            params[name] = world.objects[PATH_OBJECTS[before]]
        else:
            raise AssertionError(f"{path}: no world object for {{{name}}}; add it to PATH_OBJECTS in {__file__}")
    return params


@schemathesis.check
def shape_errors_only_for_invalid_input(ctx, response, case) -> bool | None:
    """A schema-valid request refused as malformed means the document and the serializer disagree."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    error = (response.json() or {}).get("error", {})
    assert error.get("code") not in SHAPE_CODES, f"a request valid by the schema was refused: {error.get('details')}"
    return None


CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.positive_data_acceptance,
    shape_errors_only_for_invalid_input,
]


def load_schema() -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            # NUL characters are refused by design (PostgreSQL cannot store them; docs/API.md), in bodies as in
            # paths and queries: tests/api/test_limits_and_envelope.py checks that refusal.
            "generation": {"allow-x00": False},
            "checks": {
                # 501, 502 and 504 are the engine's failures passed on as ZETA_* codes (documented gateway answers,
                # e.g. a context path the emulator does not serve); a 500 is ours and always a failure.
                "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "501", "502", "504"]},
                # A schema-valid request may still break a domain rule (see SHAPE_CODES), lose a race with an
                # earlier case (409), name a stale version (412) or be throttled (429); shape_errors_only_for_
                # invalid_input keeps the first honest.
                # A schema-invalid body may also be refused for its size (413) before its fields are read.
                "negative_data_rejection": {
                    "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428"]
                },
                "positive_data_acceptance": {
                    "expected-statuses": [
                        "2xx",
                        "400",
                        "401",
                        "403",
                        "404",
                        "409",
                        "412",
                        "422",
                        "429",
                        "501",
                        "502",
                        "504",
                    ]
                },
            },
        }
    )
    document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(document, config=config)


def fuzz(strategy, label: str, app: WSGIHandler, cases: Counter, failures: dict[str, dict[str, str]]) -> None:
    """Run the cases of one strategy; failures[label] maps each kind of failure to its first example."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):  # type: ignore[no-untyped-def]
        cases[label] += 1
        response = case.call(app=app)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            cases["failing"] += 1
            for failure in group.exceptions:
                kind = f"{failure.code} {failure.title}: {failure.message.splitlines()[0] if failure.message else ''}"
                failures[label].setdefault(
                    kind, f"{case.as_curl_command()}\n    -> {response.status_code} {response.text[:300]}"
                )

    run()


@functools.cache
def all_operations() -> list:
    """Every operation of the document, deletions last (the rest keep their objects)."""
    operations = [result.ok() for result in load_schema().get_all_operations()]
    return sorted(operations, key=lambda op: op.method.upper() == "DELETE")


def test_the_shards_cover_every_operation_once():
    dealt = [op.label for shard in range(SHARDS) for op in all_operations()[shard::SHARDS]]
    assert sorted(dealt) == sorted(op.label for op in all_operations()) and len(set(dealt)) == len(dealt)


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_conforms_to_the_openapi_document(shard):
    cache.clear()  # login throttling counts per address
    world = build_world()
    token, _ = iam.do_create_api_token(
        metadata=Metadata.for_system(None, reason="tests"), user=world.users["root"], tenant=world.acme, name="fuzz"
    )
    world.objects["root_token"] = token.id  # a token of root's to read and delete, not the one it signs in with
    platform, _ = iam.do_create_api_token(
        metadata=Metadata.for_system(None, reason="tests"),
        user=world.users["root"],
        tenant=None,
        name="fuzz",
        kind="platform",
    )
    world.objects["root_platform_token"] = platform.id
    # a login of root's to list and end (through the real login action), not the one the fuzzer signs in with
    world.users["root"].set_password("fuzz-login-password")
    world.users["root"].save()
    login = RequestFactory().post("/api/v1/auth/token/", REMOTE_ADDR="127.0.0.1")
    refresh = iam.do_log_in(request=login, username="root", password="fuzz-login-password")
    world.objects["root_session"] = refresh[SID]
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(world.users['root']).access_token}"}
    app = WSGIHandler()
    operations = all_operations()[shard::SHARDS]  # deletions stay last in each shard
    cases: Counter[str] = Counter()
    failures: dict[str, dict[str, str]] = defaultdict(dict)
    # As django.test.Client does: the test's transaction must outlive each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        for operation in operations:
            fixed = path_parameters(operation.path, world)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed, headers=headers)
                try:
                    fuzz(strategy, operation.label, app, cases, failures)
                except Unsatisfiable:
                    # Every input of the operation is fixed here (its path parameters): nothing to make invalid.
                    assert mode is GenerationMode.NEGATIVE, operation.label
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)

    failing = cases.pop("failing", 0)
    total = sum(cases.values())
    kinds = sum(len(v) for v in failures.values())
    print(
        f"\nschemathesis: {total} cases over {len(operations)} operations, {failing} failing: "
        f"{kinds} kinds of failure in {len(failures)} operations"
    )
    report = "\n".join(
        f"== {label}\n" + "\n".join(f"  {kind}\n    {example}" for kind, example in found.items())
        for label, found in sorted(failures.items())
    )
    assert not failures, f"{kinds} kinds of failure in {len(failures)} of {len(operations)} operations:\n{report}"
