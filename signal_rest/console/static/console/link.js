// The link page waits for the phone: it asks how the link goes every second and shows the outcome.
(function () {
  "use strict";
  var root = document.getElementById("link");
  if (!root || root.dataset.status !== "waiting") {
    return;
  }
  var url = root.dataset.statusUrl;
  var progress = document.getElementById("link-progress");
  var misses = 0;

  function show(id, visible) {
    document.getElementById(id).hidden = !visible;
  }

  function finish(state) {
    show("link-waiting", false);
    show("link-restart", true);
    if (state.status === "linked") {
      document.getElementById("linked-number").textContent = state.number || "";
      show("link-linked", true);
      document.getElementById("linked-as").focus();
    } else {
      document.getElementById("link-ended-title").textContent =
        state.status === "timeout" ? "Timed out" : "The link failed";
      document.getElementById("link-error").textContent = state.error || "";
      show("link-ended", true);
    }
    root.dataset.status = state.status;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (state) {
        misses = 0;
        if (state.status === "waiting") {
          setTimeout(poll, 1000);
        } else {
          finish(state);
        }
      })
      .catch(function () {
        misses += 1;
        progress.textContent = "The service does not answer; still trying…";
        setTimeout(poll, Math.min(10000, 1000 * misses));
      });
  }

  document.getElementById("linked-as").setAttribute("tabindex", "-1");
  setTimeout(poll, 1000);
})();
