"""The in-process wake-up of waiting polls: notify from another thread ends the wait; the watcher wakes the
agents its check names; nobody else is woken."""

from __future__ import annotations

import asyncio
import threading

from controlplane.agents import wakeup
from tests.waiting import wait_until_async


def test_notify_from_another_thread_wakes_only_that_agents_poll():
    async def scenario() -> tuple[bool, bool]:
        async def nothing(agent_ids: list[str]) -> set[str]:
            return set()

        woken = asyncio.create_task(wakeup.wait("a1", 20, nothing))
        other = asyncio.create_task(wakeup.wait("a2", 1.5, nothing))
        await wait_until_async(lambda: wakeup.waiting_count() == 2, message="both polls parked")
        threading.Thread(target=wakeup.notify, args=("a1",)).start()
        return await woken, await other

    assert asyncio.run(scenario()) == (True, False)
    assert wakeup.waiting_count() == 0


def test_the_watcher_wakes_the_agents_its_check_names_with_one_call_for_all():
    calls: list[list[str]] = []

    async def scenario() -> list[bool]:
        async def check(agent_ids: list[str]) -> set[str]:
            calls.append(sorted(agent_ids))
            return {"b"} & set(agent_ids)

        waits = [asyncio.create_task(wakeup.wait(agent, 3, check)) for agent in ("a", "b", "c")]
        return list(await asyncio.gather(*waits))

    assert asyncio.run(scenario()) == [False, True, False]
    assert calls[0] == ["a", "b", "c"]  # every waiting agent in one check
