// The phone page's shell, kept on the phone so that it opens with no signal, and the basemap's
// tiles it has shown. Data (/api, /ogc) always goes to the network: what is not sent waits in
// the page's own queue.
const SHELL = "mapsvc-phone-v98";
const TILES = "mapsvc-basemap";  // kept across versions of the shell
const FILES = ["/m/", "/m/phone.js", "/m/phone.css", "/m/config.json", "/m/manifest.webmanifest",
               "/m/icon-192.png", "/static/mapsvc/names.js", "/static/mapsvc/times.js",
               "/static/mapsvc/steps.js", "/static/mapsvc/views.js", "/static/mapsvc/signin.js",
               "/static/mapsvc/basemap.js", "/static/vendor/gcoord/dist/gcoord.global.prod.js",
               "/static/vendor/leaflet/dist/leaflet.js", "/static/vendor/leaflet/dist/leaflet.css",
               "/static/vendor/leaflet/dist/images/marker-icon.png",
               "/static/vendor/leaflet/dist/images/marker-shadow.png",
               "/static/mapsvc/fonts/noto-sans-sc-400.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== SHELL && k !== TILES)
      .map((k) => caches.delete(k))))
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

// Whichever answers first: ``fresh`` (or, if it fails, what ``kept`` gives), or after
// NETWORK_WAIT_MS (at once once a request has stalled) what ``kept`` gives (if it gives nothing,
// the network's answer when it comes).
function sooner(fresh, kept) {
  let answered = false;
  fresh.then(() => { answered = true; stalled = false; }, () => null);
  const waited = new Promise((resolve) => setTimeout(resolve, stalled ? 0 : NETWORK_WAIT_MS))
    .then(kept).then((copy) => {
      if (!copy) return new Promise(() => {});
      stalled = stalled || !answered;
      return copy;
    });
  return Promise.race([fresh.catch(kept), waited]);
}

// The basemap's tiles: the images the page loads from other servers (its content policy allows
// the basemap's alone). Each is kept as it is shown, for use with no signal, and shown from the
// phone while fresher than TILE_DAYS, saving the worker's data; the TILES_KEPT last kept, the
// oldest let go. A tile is asked for with CORS, which Tianditu's and AMap's servers answer: one
// from a server that does not is drawn but not kept (an answer the page cannot read is counted
// at megabytes against the phone's storage, which the queue of reports and photos needs).
const TILE_DAYS = 30;
const TILES_KEPT = 3000;
const DAY_MS = 24 * 3600 * 1000;
const notCors = new Set();  // the servers found to answer without CORS
let tilesPut = 0;

async function tile(request) {
  const cache = await caches.open(TILES);
  const copy = await cache.match(request.url);
  const age = copy && Date.now() - Number(copy.headers.get("X-Kept"));
  if (copy && age < TILE_DAYS * DAY_MS) return copy;
  const server = new URL(request.url).origin;
  if (notCors.has(server)) return fetch(request);
  const fresh = fetch(request.url, { mode: "cors", credentials: "omit" }).then(async (r) => {
    if (!r.ok) return copy || r;
    const body = await r.blob();
    const stored = new Response(body, { headers: { "Content-Type": body.type,
                                                   "X-Kept": String(Date.now()) } });
    await cache.put(request.url, stored).catch(() => null);  // (the phone's storage full)
    if (++tilesPut % 50 === 0) await letGo(cache).catch(() => null);
    return new Response(body, { headers: { "Content-Type": body.type } });
  });
  try {
    return await (copy ? sooner(fresh, () => copy) : fresh);  // an old copy, if it must
  } catch {
    // no answer, or one without CORS: asked for as the page asked (with no signal, it fails as
    // it would have)
  }
  const response = await fetch(request);
  notCors.add(server);
  return response;
}

// The tiles the page hands over to keep (the basemap's over the worker's grids): those not kept
// fresh fetched, a few at a time; the page then told how many are kept.
const KEEPING_AT_ONCE = 4;
self.addEventListener("message", (event) => {
  const { keep } = event.data || {};
  if (!Array.isArray(keep)) return;
  event.waitUntil(keepTiles(keep).then((kept) => event.source.postMessage({ tilesKept: kept })));
});

async function keepTiles(urls) {
  const waiting = [...urls];
  let kept = 0;
  const keeping = async () => {
    for (let url = waiting.shift(); url; url = waiting.shift()) {
      if (notCors.has(new URL(url).origin)) continue;  // (a server answering without CORS)
      const answer = await tile(new Request(url, { mode: "no-cors" })).catch(() => null);
      if (answer && answer.ok) kept += 1;
    }
  };
  await Promise.all(Array.from({ length: KEEPING_AT_ONCE }, keeping));
  return kept;
}

async function letGo(cache) {  // the tiles kept longest ago, past TILES_KEPT
  const kept = await cache.keys();  // in the order put
  await Promise.all(kept.slice(0, Math.max(0, kept.length - TILES_KEPT))
    .map((request) => cache.delete(request)));
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method === "GET" && url.origin !== location.origin
      && event.request.destination === "image") {
    event.respondWith(tile(event.request));
    return;
  }
  if (event.request.method !== "GET" || url.origin !== location.origin ||
      url.pathname.startsWith("/api/") || url.pathname.startsWith("/ogc/")) {
    return;
  }
  const fresh = fetch(event.request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      event.waitUntil(caches.open(SHELL).then((cache) => cache.put(event.request, copy)));
    }
    return response;
  });
  event.waitUntil(fresh.catch(() => null));  // kept, also when answered after the shell's copy
  event.respondWith(sooner(fresh, () => kept(event.request)));
});
