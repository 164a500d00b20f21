// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function liveSearch(input) {
    const target = document.getElementById(input.getAttribute("aria-controls"));
    const base = input.dataset.liveSearch;
    let timer = null;
    let latest = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(async function () {
        const ticket = ++latest;
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

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-search]").forEach(liveSearch);
  });
})();
