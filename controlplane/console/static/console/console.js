// The console's few scripts (no framework, nothing from the network): the browser's time zone for the server,
// copy buttons of shortened ids, and the parts of a page kept up to date from the server (``follow``: over a
// websocket, docs/LIVE.md, and/or on a timer; docs/CONSOLE.md), and the invitation page's token from the link.
(function () {
  "use strict";
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("console_tz=" + zone) < 0) {
      // IANA names (Asia/Shanghai) are cookie-safe as they are; the server reads the name as sent.
      document.cookie = "console_tz=" + zone + "; path=/admin/; SameSite=Lax";
    }
  } catch (e) { /* an old browser: times stay in UTC */ }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (button && navigator.clipboard) {
      navigator.clipboard.writeText(button.getAttribute("data-copy"));
    }
  });

  // A part of a page that changes while it is shown: a box with ``data-fragment`` (the URL of its server-rendered
  // fragment) gets that fragment again on each event of the websocket ``data-live`` names (the run's, the
  // operation's, the tenant's activity), and/or every ``data-refresh`` seconds for what changes without an event
  // (a run's metrics and log tail; a channel's deliveries). The timer stops once the fragment says it has settled
  // (``data-settled``: the run has ended, nothing is on its way); beside a socket it runs only while that is open.
  function follow(box) {
    var live = box.getAttribute("data-live");
    var every = parseInt(box.getAttribute("data-refresh") || "0", 10);
    var last = null;
    var pending = false;
    var again = false;
    // One fetch at a time; a change announced while one is on its way may have been read before that change was
    // committed, so it is fetched once more when the first returns (dropping it left a finished operation's page
    // showing its last step running).
    function refresh() {
      if (pending) { again = true; return; }
      pending = true;
      again = false;
      fetch(box.getAttribute("data-fragment"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) box.innerHTML = html; })
        .finally(function () { pending = false; if (again) refresh(); });
    }
    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var url = scheme + location.host + live + (last !== null ? "?after=" + last : "");
      var socket = new WebSocket(url, ["controlplane.live.v1"]);
      socket.onopen = function () { box.setAttribute("data-live-state", "open"); refresh(); };
      socket.onmessage = function (message) {
        try { last = JSON.parse(message.data).position; } catch (e) { /* keep the last position */ }
        refresh();
      };
      socket.onclose = function (closed) {
        box.setAttribute("data-live-state", "closed");
        if (closed.code < 4400 || closed.code === 4408) setTimeout(connect, 2000);  // 44xx but 4408: no retry
      };
    }
    function tick() {
      if (box.querySelector("[data-settled]")) return;
      if (!live || box.getAttribute("data-live-state") === "open") refresh();
      setTimeout(tick, every * 1000);
    }
    if (live) connect();
    if (every > 0) setTimeout(tick, every * 1000);
  }
  // The invitation page: the handed-over link carries the token after "#", which the browser never sends. It goes
  // into the token field and out of the address bar (and so out of the history entry and any bookmark).
  function takeInvitationToken() {
    var field = document.querySelector("[data-invitation-token]");
    if (!field || location.hash.length < 2) return;
    if (!field.value) field.value = location.hash.slice(1);
    history.replaceState(null, "", location.pathname + location.search);
  }
  document.addEventListener("DOMContentLoaded", function () {
    takeInvitationToken();
    document.querySelectorAll("[data-fragment]").forEach(follow);
  });
})();
