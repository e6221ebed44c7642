// The console's few scripts (no framework, nothing from the network): the browser's time zone for the server,
// copy buttons of shortened ids, and the run page's live state over the run's websocket (docs/LIVE.md).
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

  function follow(box) {
    var last = null;
    var pending = false;
    function refresh() {
      if (pending) return;
      pending = true;
      fetch(box.getAttribute("data-fragment"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) box.innerHTML = html; })
        .finally(function () { pending = false; });
    }
    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var url = scheme + location.host + box.getAttribute("data-live") + (last !== null ? "?after=" + last : "");
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
    connect();
    // What changes without an event (a run's metrics and log tail) is fetched again every few seconds too, until
    // the fragment says it has settled (``data-settled``: the run has ended).
    var every = parseInt(box.getAttribute("data-refresh") || "0", 10);
    if (every > 0) {
      var timer = setInterval(function () {
        if (box.querySelector("[data-settled]")) clearInterval(timer);
        else if (box.getAttribute("data-live-state") === "open") refresh();
      }, every * 1000);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-live]");
    if (box) follow(box);
  });
})();

// A part with no live stream of its own (a channel's deliveries): its server-rendered fragment (``data-poll``) is
// fetched again every 2 s until it says it has settled (``data-settled``: nothing queued, sending or retrying).
(function () {
  "use strict";
  function poll(box) {
    if (box.querySelector("[data-settled]")) return;
    setTimeout(function () {
      fetch(box.getAttribute("data-poll"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) box.innerHTML = html; poll(box); });
    }, 2000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();
