// Service worker: the app shell (styles, scripts, fonts, icons, the offline page) and nothing
// else. Pages, drafts, visits and every other answer of the server go to the network only and
// are never stored, so no patient data is ever in Cache Storage. When a page cannot be
// fetched, the offline page is shown instead of the browser's error page.
"use strict";

const SHELL = "spastic-shell-v1";
const OFFLINE_URL = "/offline";
const PRECACHE = [
  OFFLINE_URL,
  "/static/css/app.css",
  "/static/css/print.css",
  "/static/js/app.js",
  "/static/js/offline.js",
  "/static/js/print.js",
  "/static/js/dates.js",
  "/static/fonts/NotoSans-Regular.ttf",
  "/static/fonts/NotoSans-Bold.ttf",
  "/static/fonts/NotoSans-Italic.ttf",
  "/static/icons/icon.svg",
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(PRECACHE); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== SHELL; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function isShell(url) {
  return url.origin === self.location.origin
    && (url.pathname.startsWith("/static/") || url.pathname === OFFLINE_URL);
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") return; // saves and forms go straight to the server
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      return caches.match(OFFLINE_URL);
    }));
    return;
  }
  if (!isShell(url)) return; // never cached: it may hold patient data
  // Network first, so a new release is used at once; the copy serves only when offline.
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && response.type === "basic") {
      const copy = response.clone();
      caches.open(SHELL).then(function (cache) { return cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request);
  }));
});
