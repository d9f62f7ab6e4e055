// Contigo service worker: keeps the app shell on the device so the app
// opens without a connection. API calls always go to the network (the app
// queues visits itself); the shell is served from the cache and refreshed
// in the background.
"use strict";
const CACHE = "contigo-shell-v1";
const SHELL = ["/app/", "/app/app.css", "/app/common.js", "/app/app.js", "/app/manifest.webmanifest", "/app/icon.svg",
  "/app/lead/", "/app/lead/lead.js",
  "/app/messages/es.json", "/app/messages/pt.json", "/app/messages/en.json", "/app/messages/fr.json"];

self.addEventListener("install", (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (ev) => {
  ev.waitUntil(caches.keys().then((ks) => Promise.all(ks.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});
self.addEventListener("fetch", (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/app/")) return;
  ev.respondWith(caches.open(CACHE).then(async (c) => {
    const hit = await c.match(ev.request, { ignoreSearch: true });
    const net = fetch(ev.request).then((r) => { if (r.ok) c.put(ev.request, r.clone()); return r; });
    if (hit) { net.catch(() => {}); return hit; }
    return net;
  }));
});
