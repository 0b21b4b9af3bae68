// Service worker of the redemption screen (served at /distribution/sw.js, scope /distribution/). It keeps the screen
// and its scripts so that a distribution point without a connection can still open it, scan and record. It never
// caches the API: answers about entitlements and stock come from the server or not at all, and redemptions made
// offline wait in the page's IndexedDB until they are sent.
const CACHE = "spmis-redeem-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  const isScreen = request.mode === "navigate" && /^\/distribution\/points\/\d+\/redeem\/$/.test(url.pathname);
  const isAsset = url.pathname.startsWith("/static/");
  if (!isScreen && !isAsset) return;
  // The screen: the network first (a signed-out user is sent to sign in), the kept copy when there is no network.
  // Assets: the kept copy first; they are versioned by name in production.
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      if (isAsset) {
        const kept = await cache.match(request);
        if (kept) return kept;
      }
      try {
        const response = await fetch(request);
        if (response.ok && !response.redirected) await cache.put(request, response.clone());
        return response;
      } catch (error) {
        const kept = await cache.match(request, { ignoreSearch: isScreen });
        if (kept) return kept;
        throw error;
      }
    })(),
  );
});
