"""The emulator's fault injection (docs/EMULATOR.md) produces the engine's texts, and each matches its fingerprint
and no other: the texts as the emulator builds them, and the errorMsg a real emulator process answers."""

from __future__ import annotations

import pytest

from controlplane.diagnostics.domain.matcher import match
from controlplane.diagnostics.library import fault_library
from controlplane.seatunnel.client import ZetaClient, ZetaRequestRejected
from controlplane.seatunnel.emulator import faults
from controlplane.seatunnel.emulator.cluster import member_left_text
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.seatunnel.states import JobState
from tests.seatunnel.test_client import fake_source, wait_for

EXPECTED = {
    faults.MISSING_JDBC_DRIVER: "jdbc_driver_missing",
    faults.CHECKPOINT_TIMEOUT: "checkpoint_expired",
    faults.OUT_OF_MEMORY: "heap_out_of_memory",
    faults.NOT_ENOUGH_SLOTS: "not_enough_resources",
}


def only(text: str) -> list[str]:
    return [m.id for m in match(text, fault_library())]


def test_every_runtime_fault_of_the_emulator_has_its_fingerprint():
    assert set(EXPECTED) == set(faults.RUNTIME_FAULTS)


@pytest.mark.parametrize("fault", faults.RUNTIME_FAULTS)
def test_the_emulators_error_text_matches_its_fingerprint_and_no_other(fault):
    assert only(faults.error_text(fault, job_id=925126364582518785, driver="org.postgresql.Driver")) == [
        EXPECTED[fault]
    ]


def test_the_submit_rejection_and_the_member_loss_match_theirs():
    assert only(faults.plugin_not_found("sink", "Doris")) == ["plugin_not_found"]
    assert only(member_left_text("10.0.0.12:5802", 925126364582518785)) == ["worker_lost"]


@pytest.fixture(scope="module")
def client():
    with emulator_process() as emu, ZetaClient([emu.url], timeout=3.0, retries=1, backoff=0.05) as c:
        yield c


@pytest.mark.parametrize("fault", faults.RUNTIME_FAULTS)
def test_a_failed_job_of_a_real_emulator_is_matched_from_its_error_msg(client, fault):
    config = fake_source("STREAMING", **{faults.ENV_FAULT: fault, faults.ENV_FAULT_AFTER_MS: 100})
    failed = wait_for(client, client.submit_job(config).job_id, JobState.FAILED)
    assert only(failed.error_msg) == [EXPECTED[fault]]


def test_an_unknown_plugin_rejected_by_a_real_emulator_is_matched_from_the_answer(client):
    with pytest.raises(ZetaRequestRejected) as caught:
        client.submit_job(dict(fake_source(), source=[{"plugin_name": "Kafkaa"}]))
    assert only(caught.value.message) == ["plugin_not_found"]
