"""console.js's ``follow`` on its own, against a page and a websocket the test serves itself (Playwright's
routes): what the box shows when an event arrives while the fragment is still being fetched. The fetch on its way
may have read the database before that event's change committed; the box must fetch again, or it stays stale
until the next event, which for a finished operation never comes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.browser.conftest import ROOT, launched_chromium

SCRIPT = ROOT / "controlplane" / "console" / "static" / "console" / "console.js"
ORIGIN = "http://console.test"
PAGE = """<!doctype html><html><body>
<div id="box" data-fragment="/fragment/" data-live="/ws/v1/operations/o1/"><span id="shown">first</span></div>
<script src="/console.js"></script></body></html>"""
# Counts the messages the page's sockets received: a listener added when a socket is made runs in the same task as
# the page's own ``onmessage``, so once the count moves, the page has handled the message.
COUNT_MESSAGES = """(() => {
  window.messagesReceived = 0;
  const Original = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const socket = new Original(url, protocols);
    socket.addEventListener("message", () => { window.messagesReceived += 1; });
    return socket;
  };
})();"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launched_chromium()


def test_an_event_during_a_fetch_fetches_the_fragment_again(chromium):
    page = chromium.new_page()
    held: list[Any] = []  # the first fragment request, answered when the test says

    def fragment(route: Any) -> None:
        if not held:
            held.append(route)
        else:  # any later fetch reads the database after the event: the operation has finished
            route.fulfill(body='<span id="shown" data-settled>succeeded</span>')

    sockets: list[Any] = []
    page.route(f"{ORIGIN}/", lambda route: route.fulfill(content_type="text/html", body=PAGE))
    page.route(f"{ORIGIN}/console.js", lambda route: route.fulfill(path=str(SCRIPT)))
    page.route(f"{ORIGIN}/fragment/", fragment)
    page.route_web_socket("ws://console.test/ws/v1/operations/o1/", lambda socket: sockets.append(socket))
    page.add_init_script(COUNT_MESSAGES)  # after the socket's route, which puts its own WebSocket in the page

    # The socket opens and the page asks for the fragment once; the test holds that answer back.
    with page.expect_request(f"{ORIGIN}/fragment/"):
        page.goto(f"{ORIGIN}/")
    page.wait_for_selector("#box[data-live-state=open]")
    assert len(held) == 1 and len(sockets) == 1
    # The last event arrives while that fetch is on its way, and the page has handled it.
    sockets[0].send('{"position": 7}')
    page.wait_for_function("window.messagesReceived === 1")
    # The fetch on its way returns what it read before that event's change: the step still running.
    held[0].fulfill(body='<span id="shown">running</span>')
    # The box fetched again and shows the finished state; no further event was needed.
    page.wait_for_selector("#shown[data-settled]", timeout=10_000)
    assert page.inner_text("#box") == "succeeded"
    page.close()
