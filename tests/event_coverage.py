"""Which test produces and asserts each registered event type.

Two checks keep this honest:
- tests/api/test_meta.py: every registered type has an entry here, and its test exists and names the type (its wire
  name, or its class) inside an ``assert`` of the test function;
- tests/event_recording.py (a plugin): when a test named here runs, it fails unless the event log holds every type
  mapped to it at the end of the test, whichever process appended them.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Iterable, Mapping

PROJECTIONS = "tests/eventlog/test_projections.py::test_read_models_follow_the_log_in_the_same_transaction"
DISABLE = "tests/api/test_tenants.py::test_disabled_tenant_refuses_its_users_and_tokens"
SECRET_ROUND_TRIP = "tests/secrets/test_secrets.py::test_round_trip_writes_metadata_events_and_ciphertext"
ROTATION = "tests/secrets/test_rotation.py::test_rotation_rewraps_everything_and_retires_the_old_key"

DIAGNOSE = (
    "tests/diagnostics/test_diagnose.py::"
    "test_diagnose_a_failed_run_packs_one_verified_redacted_archive_and_records_its_fault"
)

CLUSTERS = "tests/clusters/test_clusters.py::test_register_update_remove_through_the_log"

HEALTH = "tests/clusters/test_health.py::test_unreachable_once_then_reachable_again_with_the_new_version"
NODES = "tests/clusters/test_health.py::test_nodes_lost_returned_and_the_master_moving"
INSTALLED = "tests/clusters/test_install_registration.py::test_declared_installed_and_a_node_removed_through_the_log"

JOBS = "tests/jobs/test_jobs.py::test_a_job_through_its_versions"
RUNS = "tests/jobs/test_runs_e2e.py::test_jobs_and_runs_through_their_whole_life"
SCHEDULES = "tests/jobs/test_schedules.py::test_a_fire_time_starts_one_run_and_only_once"

AGENT_API = "tests/agents/test_agent_api.py::"
AGENT_REGISTERED = AGENT_API + "test_a_bootstrap_token_registers_one_agent_and_never_a_second"
LIVENESS = AGENT_API + "test_silence_makes_an_agent_stale_then_lost_and_a_heartbeat_brings_it_back"
AGENT_CANCEL = AGENT_API + "test_a_cancel_reaches_the_agent_in_its_progress_answer"

ENGINE = "tests/operations/test_runner.py::"
OPERATION_OK = ENGINE + "test_a_plan_of_control_plane_steps_succeeds_each_side_effect_once"
ROLLBACK = ENGINE + "test_a_final_failure_is_not_retried_and_compensates_in_reverse"
OPERATION_CANCEL = ENGINE + "test_cancel_between_steps_starts_nothing_new_and_compensates"

ALERTS = "tests/alerts/test_alerts_e2e.py::"
ALERT_FIRED = ALERTS + "test_a_failed_run_fires_once_and_a_later_success_resolves"
ALERT_MUTED = ALERTS + "test_a_cluster_down_alert_inhibits_its_run_alerts_and_a_silence_mutes"
ALERT_RULES = ALERTS + "test_reminders_acknowledgement_and_deleting_a_rule"

CHANNEL = "tests/notifications/test_channels.py::test_a_channel_through_its_life_in_the_log"

COVERED: dict[str, str] = {
    "alerts.rule_created": ALERT_RULES,
    "alerts.rule_updated": ALERT_RULES,
    "alerts.rule_disabled": ALERT_RULES,
    "alerts.rule_enabled": ALERT_RULES,
    "alerts.rule_deleted": ALERT_RULES,
    "alerts.alert_fired": ALERT_FIRED,
    "alerts.alert_resolved": ALERT_FIRED,
    "alerts.alert_acknowledged": ALERT_RULES,
    "alerts.alert_reminded": ALERT_RULES,
    "alerts.alert_suppression_changed": ALERT_MUTED,
    "alerts.silence_created": ALERT_MUTED,
    "alerts.silence_ended": ALERT_MUTED,
    "alerts.silence_expired": ALERTS + "test_silences_expire_and_alerts_time_out_on_the_evaluators_clock",
    "operations.operation_requested": OPERATION_OK,
    "operations.operation_started": OPERATION_OK,
    "operations.step_started": OPERATION_OK,
    "operations.step_succeeded": OPERATION_OK,
    "operations.operation_succeeded": OPERATION_OK,
    "operations.step_failed": ENGINE + "test_a_transient_error_is_retried_as_a_new_attempt",
    "operations.step_resumed": ENGINE + "test_a_lease_held_by_another_worker_is_left_alone_until_it_expires",
    "operations.step_progressed": ENGINE + "test_a_wait_step_frees_the_worker_and_notes_its_deadline",
    "operations.step_skipped": ROLLBACK,
    "operations.operation_rollback_started": ROLLBACK,
    "operations.step_compensation_started": ROLLBACK,
    "operations.step_compensation_succeeded": ROLLBACK,
    "operations.operation_rolled_back": ROLLBACK,
    "operations.step_compensation_failed": ENGINE
    + "test_a_failed_compensation_ends_the_operation_failed_after_the_others_ran",
    "operations.operation_cancel_requested": OPERATION_CANCEL,
    "operations.operation_cancelled": OPERATION_CANCEL,
    "operations.operation_failed": ENGINE + "test_a_failure_without_compensations_fails_the_operation",
    "agents.bootstrap_token_issued": AGENT_REGISTERED,
    "agents.bootstrap_token_used": AGENT_REGISTERED,
    "agents.bootstrap_token_revoked": AGENT_API + "test_unknown_expired_and_revoked_tokens_are_refused",
    "agents.agent_registered": AGENT_REGISTERED,
    "agents.agent_online": LIVENESS,
    "agents.agent_stale": LIVENESS,
    "agents.agent_lost": LIVENESS,
    "agents.agent_revoked": AGENT_API + "test_a_revoked_agent_gets_401_and_no_more_work",
    "agents.action_requested": AGENT_API + "test_the_same_key_is_the_same_action_and_writes_nothing",
    "agents.action_delivered": AGENT_API + "test_envelopes_verify_with_the_public_key_from_registration",
    "agents.action_progressed": AGENT_API + "test_progress_events_are_rate_limited_and_output_goes_to_its_own_table",
    "agents.action_succeeded": AGENT_API + "test_a_result_delivered_twice_is_acknowledged_and_changes_nothing",
    "agents.action_failed": AGENT_API + "test_a_failed_result_keeps_its_error",
    "agents.action_cancel_requested": AGENT_CANCEL,
    "agents.action_cancelled": AGENT_CANCEL,
    "agents.action_refused": AGENT_API + "test_a_refusal_is_recorded_and_audited",
    "agents.action_expired": AGENT_API + "test_actions_not_picked_up_in_time_expire",
    "jobs.job_created": JOBS,
    "jobs.job_version_added": JOBS,
    "jobs.job_updated": JOBS,
    "jobs.job_deleted": JOBS,
    "jobs.job_schedule_set": SCHEDULES,
    "jobs.job_schedule_fired": SCHEDULES,
    "jobs.job_schedule_removed": "tests/jobs/test_schedules.py::test_the_schedule_api",
    "jobs.run_requested": RUNS,
    "jobs.run_submission_started": RUNS,
    "jobs.run_submitted": RUNS,
    "jobs.run_stop_requested": RUNS,
    "jobs.run_state_changed": RUNS,
    "jobs.run_submit_outcome_unknown": (
        "tests/jobs/test_run_engine.py::test_a_lost_submit_answer_is_reconciled_by_id_and_never_sent_twice"
    ),
    "clusters.cluster_registered": CLUSTERS,
    "clusters.cluster_updated": CLUSTERS,
    "clusters.cluster_removed": CLUSTERS,
    "clusters.cluster_unreachable": HEALTH,
    "clusters.cluster_reachable": HEALTH,
    "clusters.node_joined": NODES,
    "clusters.node_lost": NODES,
    "clusters.node_returned": NODES,
    "clusters.node_role_changed": NODES,
    "clusters.node_installed": INSTALLED,
    "clusters.node_removed": INSTALLED,
    "tenancy.tenant_created": PROJECTIONS,
    "tenancy.tenant_renamed": PROJECTIONS,
    "tenancy.workspace_created": PROJECTIONS,
    "tenancy.tenant_disabled": DISABLE,
    "tenancy.tenant_enabled": DISABLE,
    "tenancy.quotas_set": "tests/api/test_tenants.py::test_quotas_are_set_and_enforced",
    "diagnostics.archive_packed": DIAGNOSE,
    "diagnostics.finding_recorded": DIAGNOSE,
    "diagnostics.archive_downloaded": "tests/diagnostics/test_diagnose.py::"
    "test_download_is_streamed_permission_checked_audited_and_hidden_from_other_tenants",
    "diagnostics.archive_expired": "tests/diagnostics/test_diagnose.py::"
    "test_an_expired_archive_is_deleted_by_the_retention_task_and_answers_a_clear_code",
    "diagnostics.fix_applied": "tests/diagnostics/test_diagnose.py::"
    "test_a_node_finding_offers_its_agent_action_fix_which_runs_after_confirmation",
    "secrets.secret_created": SECRET_ROUND_TRIP,
    "secrets.secret_version_added": SECRET_ROUND_TRIP,
    "secrets.secret_revealed": SECRET_ROUND_TRIP,
    "secrets.secret_deleted": "tests/secrets/test_secrets.py::test_delete_destroys_the_values_and_frees_the_name",
    "secrets.secret_rewrapped": ROTATION,
    "notifications.channel_created": CHANNEL,
    "notifications.channel_updated": CHANNEL,
    "notifications.channel_disabled": CHANNEL,
    "notifications.channel_enabled": CHANNEL,
    "notifications.channel_deleted": CHANNEL,
}


def by_test(covered: Mapping[str, str] = COVERED) -> dict[str, set[str]]:
    """test node id -> the event types it must produce."""
    tests: dict[str, set[str]] = {}
    for wire_name, test in covered.items():
        tests.setdefault(test, set()).add(wire_name)
    return tests


def _function(test: str):  # type: ignore[no-untyped-def]
    module_name, _, function = test.partition("::")
    module = importlib.import_module(module_name.removesuffix(".py").replace("/", "."))
    return module, getattr(module, function, None)


def _tokens(node: ast.AST) -> set[str]:
    """The string constants and the names in an expression or statement."""
    found: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            found.add(n.value)
        elif isinstance(n, ast.Name):
            found.add(n.id)
        elif isinstance(n, ast.Attribute):
            found.add(n.attr)
    return found


def asserted(module: object, function: object) -> set[str]:
    """What the test function's asserts name: their string constants and names, and those of the module-level
    constants they use."""
    constants: dict[str, ast.AST] = {
        target.id: node.value
        for node in ast.parse(inspect.getsource(module)).body  # type: ignore[arg-type]
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: set[str] = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):  # type: ignore[arg-type]
        if isinstance(node, ast.Assert):
            tokens = _tokens(node)
            found |= tokens
            for name in tokens & set(constants):
                found |= _tokens(constants[name])
    return found


def _mentions(tokens: set[str], wire_name: str, class_name: str | None) -> bool:
    # the wire name, the name within its app ("step_started", as some tests compare), or the event's class
    return bool({wire_name, wire_name.partition(".")[2], class_name} & tokens)


def problems(registered: Iterable[str], covered: Mapping[str, str] = COVERED) -> list[str]:
    """What is wrong with ``covered`` for these registered event types (empty: nothing)."""
    from controlplane.eventlog import types

    registered = set(registered)
    found = [
        f"{name}: no test produces and asserts it (add it to tests/event_coverage.py)"
        for name in sorted(registered - set(covered))
    ]
    found += [
        f"{name}: no longer registered (remove it from tests/event_coverage.py)"
        for name in sorted(set(covered) - registered)
    ]
    for test, names in sorted(by_test({n: t for n, t in covered.items() if n in registered}).items()):
        module, function = _function(test)
        if not callable(function):
            found.append(f"{', '.join(sorted(names))}: {test} does not exist")
            continue
        tokens = asserted(module, function)
        for name in sorted(names):
            spec = types.spec_for_name(name)
            class_name = spec.cls.__name__ if spec is not None else None
            if not _mentions(tokens, name, class_name):
                found.append(f"{name}: {test} does not assert on it (its wire name or {class_name} in an assert)")
    return found
