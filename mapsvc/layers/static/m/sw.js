// The phone page's shell, kept on the phone so that it opens with no signal. Data (/api, /ogc)
// always goes to the network: what is not sent waits in the page's own queue.
const SHELL = "mapsvc-phone-v78";
const FILES = ["/m/", "/m/phone.js", "/m/phone.css", "/m/manifest.webmanifest", "/m/icon-192.png",
               "/static/mapsvc/names.js", "/static/mapsvc/times.js", "/static/mapsvc/steps.js",
               "/static/mapsvc/views.js", "/static/mapsvc/signin.js",
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

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin ||
      url.pathname.startsWith("/api/") || url.pathname.startsWith("/ogc/")) {
    return;
  }
  // the network first, so that a new version arrives; the shell when there is none
  event.respondWith(fetch(event.request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(SHELL).then((cache) => cache.put(event.request, copy));
    }
    return response;
  }).catch(() => caches.match(event.request, { ignoreSearch: true })));
});
