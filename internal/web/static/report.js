// bootproof security report: optional enhancements. Everything works
// without this file; with it, the fleet view refreshes itself when statuses
// change, keeping the URL (and so the filter), the scroll position and the
// focus. (Filter menus do not apply on change: a keyboard user moving
// through a menu would leave the page at every arrow key, WCAG 3.2.2.)
// It never writes to the console: the page says what happened in its live
// region instead.
(function () {
  "use strict";

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

  // The parts that change; the filter form, and whatever has focus in it,
  // stay. store-state holds the banner shown while the verifier cannot
  // write its store: it comes and goes with the full refresh (at least
  // every fullEvery), as do hosts turning stale.
  var parts = ["counts", "host-rows", "pager", "range", "store-state"];

  function refresh() {
    return fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (!r.ok || r.redirected) { throw new Error("the server answered " + r.status); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        // A keyboard user may be on a link inside a part that is replaced:
        // put the focus back on the link to the same place.
        var focused = document.activeElement;
        var focusHref = focused && focused.getAttribute && focused.getAttribute("href");
        var focusPart = null;
        parts.forEach(function (id) {
          var fresh = doc.getElementById(id);
          var old = document.getElementById(id);
          if (fresh && old) {
            if (focusHref && old.contains(focused)) { focusPart = old; }
            old.innerHTML = fresh.innerHTML;
          }
        });
        if (focusPart) {
          var again = Array.prototype.find.call(focusPart.querySelectorAll("a[href]"), function (a) {
            return a.getAttribute("href") === focusHref;
          });
          if (again) { again.focus({ preventScroll: true }); }
        }
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
