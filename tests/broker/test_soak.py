"""The embedded broker under load, with real processes: a Celery worker, Celery beat ticking fast and two
producers on one data directory. Every message arrives exactly once with its exact text and the worker lives.

``make soak`` runs the same test with SOAK_MESSAGES=20000 per producer (several minutes)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from tests.broker import processes
from tests.broker.deliveries import delivered, payload, ticks_published
from tests.waiting import wait_until

SOAK_MESSAGES = int(os.environ.get("SOAK_MESSAGES", "400"))
SOURCES = ("p1", "p2")


def broker_files(data_dir: Path, folder: str) -> list[str]:
    return sorted(os.listdir(data_dir / "broker" / folder))


def assert_worker_lived(worker: processes.Process) -> None:
    assert worker.alive(), f"the worker died:\n{worker.output()}"
    assert "Unrecoverable error" not in worker.output()
    assert "CRITICAL" not in worker.output()


@pytest.mark.timeout(120 + SOAK_MESSAGES // 10)
def test_every_message_arrives_exactly_once_while_beat_and_two_producers_publish(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    worker = processes.worker(data_dir)
    beat = processes.beat(data_dir)
    producers = [processes.producer(data_dir, source, SOAK_MESSAGES) for source in SOURCES]
    try:
        bound = 60 + SOAK_MESSAGES / 10  # only bounds a hang
        for producer in producers:
            wait_until(producer.exited, timeout=bound, interval=0.1, message=producer.output)
            assert producer.process.returncode == 0, producer.output()
        assert beat.stop() == 0, beat.output()
        ticks = ticks_published(data_dir)
        assert "Message Error" not in beat.output()
        assert ticks, beat.output()
        expected = len(SOURCES) * SOAK_MESSAGES + len(ticks)

        def all_delivered() -> bool:
            if worker.exited():
                raise AssertionError(f"the worker exited with {worker.process.poll()}:\n{worker.output()}")
            return len(delivered(data_dir)) >= expected

        wait_until(all_delivered, timeout=bound, interval=0.2, message=lambda: f"{expected} deliveries")
        wait_until(lambda: not broker_files(data_dir, "queue"), timeout=bound, message="an empty queue folder")

        records = delivered(data_dir)
        assert len(records) == expected
        sent = Counter((r["source"], r.get("seq")) for r in records if r["source"] != "beat")
        assert sent == Counter({(source, seq): 1 for source in SOURCES for seq in range(SOAK_MESSAGES)})
        assert all(r["text"] == payload(r["source"], r["seq"]) for r in records if r["source"] != "beat")
        assert sorted(r["id"] for r in records if r["source"] == "beat") == sorted(ticks)
        assert_worker_lived(worker)
        assert broker_files(data_dir, "dead") == []
        assert broker_files(data_dir, "tmp") == []
        assert broker_files(data_dir, "processed") == []
    finally:
        for process in [*producers, beat]:
            process.stop()
        code = worker.stop()
    assert code == 0, worker.output()


@pytest.mark.timeout(180)
def test_a_bad_message_file_goes_to_dead_letters_and_the_worker_delivers_the_next(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    worker = processes.worker(data_dir)
    try:
        processes.wait_ready(worker)
        queue = data_dir / "broker" / "queue"
        # Named to sort before anything a producer publishes now: the worker meets them first. What kombu's own
        # publisher could leave for a reader: a file created but not yet written, and one half written.
        (queue / "00000000000000000001_empty.celery.msg").write_bytes(b"")
        half = data_dir / "half.tmp"
        half.write_bytes(b'{"body": "eyJ0YXNrIjog", "properties": {"deliv')
        half.rename(queue / "00000000000000000002_half.celery.msg")
        producer = processes.producer(data_dir, "after", 1)
        wait_until(producer.exited, timeout=90, interval=0.1, message=producer.output)
        assert producer.process.returncode == 0, producer.output()

        wait_until(
            lambda: delivered(data_dir), timeout=90, interval=0.1, message=lambda: f"a delivery:\n{worker.output()}"
        )
        [after] = delivered(data_dir)
        assert (after["source"], after["seq"], after["text"]) == ("after", 0, payload("after", 0))
        dead = data_dir / "broker" / "dead"
        assert broker_files(data_dir, "dead") == [
            "00000000000000000001_empty.celery.msg",
            "00000000000000000002_half.celery.msg",
        ]
        assert (dead / "00000000000000000001_empty.celery.msg").read_bytes() == b""
        warnings = [line for line in worker.output().splitlines() if "not delivered" in line]
        assert len(warnings) == 2, worker.output()
        assert (
            "WARNING" in warnings[0]
            and "00000000000000000001_empty.celery.msg not delivered (empty file)" in warnings[0]
        )
        assert "WARNING" in warnings[1]
        assert "00000000000000000002_half.celery.msg not delivered (JSONDecodeError: Unterminated string" in warnings[1]
        assert all(f"moved to {dead}/" in line for line in warnings)
        assert_worker_lived(worker)
    finally:
        code = worker.stop()
    assert code == 0, worker.output()
