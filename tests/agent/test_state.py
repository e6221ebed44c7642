"""The state directory's outbox and credential file."""

from __future__ import annotations

import json
import os

import pytest

from agent.state import Credential, StateDir, StateError


@pytest.fixture
def state(tmp_path) -> StateDir:
    s = StateDir(tmp_path / "state")
    s.prepare()
    return s


def test_an_acknowledged_copy_does_not_delete_one_queued_again_meanwhile(state):
    state.put_outbox("a1", {"kind": "result", "body": {"status": "succeeded"}, "artifact": None})
    [sent] = state.outbox_items()
    state.put_outbox("a1", {"kind": "result", "body": {"status": "succeeded"}, "artifact": None})  # a duplicate
    state.remove_outbox("a1", sent=sent)  # the first send's acknowledgement
    [still] = state.outbox_items()
    assert still["copy"] != sent["copy"]
    state.remove_outbox("a1", sent=still)
    assert state.outbox_items() == []


def test_a_rejected_item_is_kept_aside(state):
    state.put_outbox("a2", {"kind": "refusal", "body": {"code": "X"}, "artifact": None})
    state.reject_outbox("a2", {"status": 409, "code": "AGENT_ACTION_TRANSITION_ILLEGAL"})
    assert state.outbox_items() == []
    kept = json.loads((state.rejected / "a2.json").read_text())
    assert kept["rejected_with"]["status"] == 409 and kept["body"] == {"code": "X"}


def test_ids_that_are_not_plain_become_hashed_file_names(state):
    state.put_outbox("../../etc/passwd", {"kind": "refusal", "body": {}, "artifact": None})
    [name] = [p.name for p in state.outbox.glob("*.json")]
    assert name.startswith("h-") and "/" not in name


def test_the_credential_file_is_0600_and_a_readable_one_is_refused(state):
    state.save_credential(Credential("http://cp", "a", "stag_a_s", "k", "cHVi"))
    assert oct(state.credential_path.stat().st_mode & 0o777) == "0o600"
    assert state.load_credential().agent_id == "a"
    os.chmod(state.credential_path, 0o644)
    with pytest.raises(StateError, match="mode 644"):
        state.load_credential()


def test_prepare_tightens_the_state_dir(tmp_path):
    path = tmp_path / "loose"
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)  # noqa: S103 - the loose mode under test
    StateDir(path).prepare()
    assert oct(path.stat().st_mode & 0o777) == "0o700"
