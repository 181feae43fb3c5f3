// Installable and offline: registers the service worker (sw.js) and hands it the files this page has
// loaded so far and `extra` (the on-device landmark path's files), so the next visit works with no
// network. Resolves once they are cached.
export async function registerOffline(extra = []) {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return false;
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  await navigator.serviceWorker.ready;
  const worker = registration.active;
  const urls = ["/", ...extra, ...performance.getEntriesByType("resource").map((entry) => entry.name)].filter(
    (u) => new URL(u, location.href).origin === location.origin,
  );
  return new Promise((resolve) => {
    const done = (event) => {
      if (event.data && event.data.type === "cached") {
        navigator.serviceWorker.removeEventListener("message", done);
        resolve(true);
      }
    };
    navigator.serviceWorker.addEventListener("message", done);
    worker.postMessage({ type: "cache", urls });
  });
}
