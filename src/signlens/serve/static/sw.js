// The service worker (served at /sw.js so that it controls the whole site): after one visit the page,
// its scripts, the models and the WebAssembly are in a cache, so the page opens and recognises on this
// device with no network. Online, every file still comes from the server first (conditional requests,
// so unchanged files are not downloaded again) and the cache is refreshed; the API never is cached.
const CACHE = "signlens-offline-v2";
const ONDEVICE = "/static/ondevice/";

function cacheable(url, method = "GET") {
  return (
    method === "GET" &&
    url.origin === self.location.origin &&
    !url.pathname.startsWith("/v1/") &&
    url.pathname !== "/sw.js"
  );
}

async function store(urls) {
  const cache = await caches.open(CACHE);
  const wanted = [...new Set(urls)].filter((u) => cacheable(new URL(u, self.location.origin)));
  await Promise.all(
    wanted.map(async (u) => {
      const response = await fetch(u, { credentials: "same-origin" });
      if (response.ok) await cache.put(new URL(u, self.location.origin).pathname === "/" ? "/" : u, response);
    }),
  );
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      let files = [];
      try {
        // The files every visit needs; the landmark path's own files come from the page (offline.mjs).
        files = (await (await fetch(`${ONDEVICE}files.json`, { cache: "no-store" })).json()).common.map(
          (f) => ONDEVICE + f,
        );
      } catch {
        files = []; // no on-device build on this server: the page alone is cached
      }
      await store(["/", "/static/manifest.webmanifest", "/static/icon.svg", ...files]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

// The page sends the files it loaded before this worker controlled it (its scripts and styles).
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "cache" && Array.isArray(event.data.urls)) {
    event.waitUntil(
      store(event.data.urls).then(() => event.source && event.source.postMessage({ type: "cached" })),
    );
  }
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (!cacheable(url, event.request.method)) return;
  const key = event.request.mode === "navigate" ? "/" : event.request;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(event.request);
        if (response.ok && response.status === 200) await cache.put(key, response.clone());
        return response;
      } catch (error) {
        const cached = await cache.match(key, { ignoreSearch: event.request.mode === "navigate" });
        if (cached) return cached;
        throw error;
      }
    })(),
  );
});
