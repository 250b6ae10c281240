// The phone page's shell, kept on the phone so that it opens with no signal. Data (/api, /ogc)
// always goes to the network: what is not sent waits in the page's own queue.
const SHELL = "mapsvc-phone-v90";
const FILES = ["/m/", "/m/phone.js", "/m/phone.css", "/m/config.json", "/m/manifest.webmanifest",
               "/m/icon-192.png", "/static/mapsvc/names.js", "/static/mapsvc/times.js",
               "/static/mapsvc/steps.js", "/static/mapsvc/views.js", "/static/mapsvc/signin.js",
               "/static/mapsvc/basemap.js", "/static/vendor/gcoord/dist/gcoord.global.prod.js",
               "/static/vendor/leaflet/dist/leaflet.js", "/static/vendor/leaflet/dist/leaflet.css",
               "/static/vendor/leaflet/dist/images/marker-icon.png",
               "/static/vendor/leaflet/dist/images/marker-shadow.png",
               "/static/vendor/@fontsource/noto-sans-sc/400.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// The network first, so that a new version arrives; the shell when there is none, and when the
// network has not answered within NETWORK_WAIT_MS: on a weak signal a request may stall with no
// error (a connection lost between cells), and a page waiting on it would not open at all. Once
// one has stalled, the shell is served at once until the network answers again (an answer that
// comes late is kept for the next time).
const NETWORK_WAIT_MS = 3000;
let stalled = false;

function kept(request) {
  return caches.match(request, { ignoreSearch: true });
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin ||
      url.pathname.startsWith("/api/") || url.pathname.startsWith("/ogc/")) {
    return;
  }
  let answered = false;
  const fresh = fetch(event.request).then((response) => {
    answered = true;
    stalled = false;
    if (response.ok) {
      const copy = response.clone();
      event.waitUntil(caches.open(SHELL).then((cache) => cache.put(event.request, copy)));
    }
    return response;
  });
  event.waitUntil(fresh.catch(() => null));  // kept, also when answered after the shell's copy
  const waited = new Promise((resolve) => setTimeout(resolve, stalled ? 0 : NETWORK_WAIT_MS))
    .then(() => kept(event.request)).then((copy) => {
      if (!copy) return new Promise(() => {});  // none kept: the network's answer, when it comes
      stalled = stalled || !answered;
      return copy;
    });
  event.respondWith(Promise.race([fresh.catch(() => kept(event.request)), waited]));
});
