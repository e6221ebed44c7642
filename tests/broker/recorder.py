"""The control plane's own Celery app (its settings, so the embedded broker of CONTROLPLANE_DATA_DIR) with two
tasks that append each delivery to ``<data dir>/deliveries.jsonl``, a beat schedule that only ticks fast, and a
producer: ``python -m tests.broker.recorder produce SOURCE COUNT`` queues COUNT messages and exits.

The worker, beat and producers of tests/broker/test_soak.py and ``make soak`` run this module; the test process
itself reads their files through tests/broker/deliveries.py and never imports this one (it changes the app)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from celery.signals import after_task_publish, before_task_publish

from controlplane.celery import app
from tests.broker.deliveries import deliveries_file, payload, ticks_file

TICK_SECONDS = 0.02
# Only our tick: the control plane's schedule would run its real tasks against a database nobody migrated.
app.conf.beat_schedule = {
    "broker-test-tick": {"task": "broker_test.tick", "schedule": TICK_SECONDS, "options": {"expires": 3600}}
}
DATA_DIR = Path(os.environ["CONTROLPLANE_DATA_DIR"])


# Beat notes the id of each tick it has published. SIGTERM (how a test stops beat) waits from the start of a
# publish until its id is written, so the ids listed are exactly the ticks published, none half-way.
@before_task_publish.connect(sender="broker_test.tick")
def _hold_sigterm(**_: object) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


@after_task_publish.connect(sender="broker_test.tick")
def _note_tick(headers: dict, **_: object) -> None:
    with ticks_file(DATA_DIR).open("a") as file:
        file.write(headers["id"] + "\n")
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _append(record: dict) -> None:
    # One worker process (--pool=solo): one writer, so whole lines.
    with deliveries_file(DATA_DIR).open("a", encoding="utf-8") as file:
        file.write(json.dumps(record) + "\n")


@app.task(name="broker_test.record")
def record(source: str, seq: int, text: str) -> None:
    _append({"source": source, "seq": seq, "text": text, "id": record.request.id})


@app.task(name="broker_test.tick")
def tick() -> None:
    _append({"source": "beat", "id": tick.request.id})


def produce(source: str, count: int) -> None:
    for seq in range(count):
        record.apply_async(args=[source, seq, payload(source, seq)], retry=False)


if __name__ == "__main__":
    import django

    django.setup()
    command, source, count = sys.argv[1:]
    assert command == "produce", sys.argv
    produce(source, int(count))
