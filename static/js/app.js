// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function liveSearch(input) {
    const target = document.getElementById(input.getAttribute("aria-controls"));
    const base = input.dataset.liveSearch;
    // The worklist comes back when the search box is emptied again.
    const original = "restoreEmpty" in input.dataset ? target.innerHTML : null;
    let timer = null;
    let latest = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(async function () {
        const ticket = ++latest;
        if (original !== null && input.value.trim() === "") {
          target.innerHTML = original;
          return;
        }
        const url = base + "&q=" + encodeURIComponent(input.value.trim());
        try {
          const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } });
          if (!response.ok || ticket !== latest) return;
          target.innerHTML = await response.text();
          const next = new URL(window.location.href);
          next.searchParams.set("q", input.value.trim());
          window.history.replaceState(null, "", next);
        } catch (error) {
          // Offline: keep the current results; the search button still submits the form.
        }
      }, 200);
    });
  }

  // Warn two minutes before the idle timeout; any contact with the server starts the clock again.
  function idleWarning() {
    const minutes = Number(document.body.dataset.idleMinutes || 0);
    const box = document.querySelector("[data-idle-warning]");
    if (!minutes || !box) return;
    const warnAfter = Math.max(minutes - 2, 1) * 60 * 1000;
    let timer = null;
    function restart() {
      box.hidden = true;
      clearTimeout(timer);
      timer = setTimeout(function () { box.hidden = false; box.querySelector("button").focus(); }, warnAfter);
    }
    box.querySelector("[data-stay]").addEventListener("click", async function () {
      try {
        const response = await fetch(document.body.dataset.ping, {
          credentials: "same-origin", headers: { "Accept": "application/json" },
        });
        if (response.ok) restart();
        else window.location.reload();
      } catch (error) {
        box.querySelector("p").textContent = "No connection. Your input stays on this page.";
      }
    });
    document.addEventListener("spastic:server-contact", restart);
    restart();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-search]").forEach(liveSearch);
    idleWarning();
  });
})();
