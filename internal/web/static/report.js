// bootproof security report: optional enhancements. Everything works
// without this file; with it, filter menus apply at once and the fleet
// view refreshes itself when statuses change, keeping the URL (and so the
// filter) and the scroll position. It never writes to the console: the
// page says what happened in its live region instead.
(function () {
  "use strict";

  var form = document.querySelector("form.filters");
  if (form) {
    form.querySelectorAll("select").forEach(function (s) {
      s.addEventListener("change", function () { form.submit(); });
    });
  }

  var hosts = document.getElementById("hosts");
  if (!hosts || !window.fetch || !window.DOMParser) {
    return;
  }
  var latest = hosts.getAttribute("data-latest") || "";
  var every = parseInt(hosts.getAttribute("data-poll"), 10) || 5000;
  var fullEvery = 60000; // refresh anyway now and then, for "last attested"
  var lastFull = Date.now();
  var stopped = false;
  var live = document.getElementById("live");

  function say(text) {
    if (live) { live.textContent = text; }
  }

  // The parts that change; the filter form, and whatever has focus in it, stay.
  var parts = ["counts", "host-rows", "pager", "range"];

  function refresh() {
    return fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (!r.ok || r.redirected) { throw new Error("the server answered " + r.status); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        parts.forEach(function (id) {
          var fresh = doc.getElementById(id);
          var old = document.getElementById(id);
          if (fresh && old) { old.innerHTML = fresh.innerHTML; }
        });
        lastFull = Date.now();
        say("Updated " + new Date().toISOString().replace(/\.\d+Z$/, "Z") + ".");
      });
  }

  function poll() {
    if (stopped) { return; }
    if (document.hidden) { schedule(); return; }
    fetch("/events", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) {
          stopped = true;
          throw new Error("you are signed out; reload the page to sign in");
        }
        if (!r.ok) { throw new Error("the server answered " + r.status); }
        return r.json();
      })
      .then(function (ev) {
        if (ev.latest !== latest || Date.now() - lastFull > fullEvery) {
          latest = ev.latest;
          return refresh();
        }
      })
      .catch(function (e) { say("Live updates paused: " + e.message + "."); })
      .then(schedule);
  }

  function schedule() {
    if (!stopped) { window.setTimeout(poll, every); }
  }

  schedule();
})();
