// Live updates for the incident board: poll the fragment endpoint and swap the live region (no full reload).
// A static file so the Content-Security-Policy needs no inline script.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch) {
    return;
  }
  var url = live.getAttribute("data-live");
  var seconds = parseInt(live.getAttribute("data-poll"), 10) || 5;
  var every = Math.min(10, Math.max(2, seconds)) * 1000;
  var status = document.getElementById("live-status");

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function swap(html) {
    // Keep keyboard focus on the same link across the swap.
    var focused = document.activeElement;
    var href = focused && live.contains(focused) ? focused.getAttribute("href") : null;
    live.innerHTML = html;
    if (href) {
      var links = live.querySelectorAll("a[href]");
      for (var i = 0; i < links.length; i++) {
        if (links[i].getAttribute("href") === href) {
          links[i].focus();
          break;
        }
      }
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (answer.status === 401) {
          say("Signed out: reload the page to sign in again.");
          return null;
        }
        if (!answer.ok) {
          throw new Error("HTTP " + answer.status);
        }
        return answer.json();
      })
      .then(function (data) {
        if (data) {
          swap(data.html);
          say("Updated " + data.updated);
        }
      })
      .catch(function () {
        say("Live updates paused: the server did not answer; retrying.");
      })
      .then(function () {
        window.setTimeout(poll, every);
      });
  }

  window.setTimeout(poll, every);
})();
