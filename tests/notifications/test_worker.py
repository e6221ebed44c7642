"""The delivery task in a real Celery worker: a notice queued to its broker is sent to a real receiver, a failed
attempt is queued again by the worker itself (the countdown of the backoff, shortened here to 0) and delivered."""

from __future__ import annotations

import base64

import pytest

from controlplane.notifications import actions
from controlplane.notifications.models import Delivery
from tests.conftest import _TEST_MASTER_KEY
from tests.notifications.conftest import firing, make_place
from tests.notifications.receiver import receiver
from tests.operations.processes import Broker, Worker
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def test_a_worker_delivers_and_retries_on_its_own(tmp_path):
    place = make_place("acme")
    answers = iter([503, 204])
    with receiver(lambda r: (next(answers, 204), b"")) as hook:
        channel_id = actions.do_create_channel(
            metadata=place.admin,
            tenant_id=place.tenant_id,
            workspace_id=place.workspace_id,
            name="hook",
            kind="webhook",
            webhook_url=f"{hook.url}/h",
            signing_secret="worker-secret",
        )
        delivery_id = actions.do_send_notification(
            metadata=place.meta, channel_id=channel_id, notice=firing(), dedup_key="fp:firing"
        )
        broker = Broker(tmp_path / "data", None)
        worker = Worker(
            "notify",
            broker,
            tmp_path / "worker.log",
            CONTROLPLANE_MASTER_KEYS=f"test:{base64.b64encode(_TEST_MASTER_KEY).decode()}",
            CONTROLPLANE_NOTIFY_BACKOFF_SECONDS="0",
        )
        try:
            worker.wait_ready()
            assert broker.send("notifications.deliver", delivery_id)
            delivery = wait_until(
                lambda: Delivery.unscoped.filter(id=delivery_id, state="delivered").first(),
                timeout=60,
                message=lambda: f"the delivery delivered:\n{worker.output()}",
            )
        finally:
            worker.stop()
    assert delivery.attempts == 2
    assert len(hook.requests) == 2
    assert "worker-secret" not in worker.output() and f"{hook.url}/h" not in worker.output()
