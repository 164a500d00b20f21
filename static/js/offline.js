// Registers the service worker (the app shell for offline use), and fills in the offline page.
(function () {
  "use strict";

  const worker = document.body && document.body.dataset.serviceWorker;
  if (worker && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(worker, { scope: "/" }).catch(function () {
      // Without a service worker the browser shows its own offline page: nothing is lost.
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const page = document.querySelector("[data-offline-page]");
    if (!page) return;
    // The visit form leaves the server's last save time (a time, nothing of the patient) in a
    // cookie scoped to the draft's own address, which is this page's address when it was reloaded.
    const saved = document.cookie.split("; ").find(function (c) { return c.startsWith("spastic-last-saved="); });
    if (saved) {
      page.querySelector("[data-saved-time]").textContent = decodeURIComponent(saved.split("=")[1]);
      page.querySelector("[data-draft-saved]").hidden = false;
      page.querySelector("[data-no-draft]").hidden = true;
    }
    page.querySelector("[data-retry]").addEventListener("click", function () { window.location.reload(); });
  });
})();
