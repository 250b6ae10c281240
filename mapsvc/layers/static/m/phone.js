// The grid worker's phone: report where you stand, with photos, also with no signal. Reports
// wait in IndexedDB (they survive a reload or a restart of the phone) and are sent in order
// when the signal returns; each carries its client id and its photos' hashes, so a retry
// never stores anything twice. Text that users typed is only ever set as text.
"use strict";

const API = "/api/v1";
let ACCURACY_M = 50;       // a worse fix asks before reporting (the service's setting)
let REFRESH_S = 60;        // my cases asked for again, while the page is open (its setting)
let STALL_S = 20;          // a send with no answer this long has stalled (its setting)
const CRAWL_BYTES_PER_S = 2000;  // and a photo's, that and the time it takes at 16 kbit/s
const PHOTO_PX = 1600;     // photos are shrunk on the phone before they travel
const FRESH_PHOTO_MS = 10 * 60 * 1000;  // a photo this new was taken where the worker stands
const $ = (id) => document.getElementById(id);
// what the phone keeps in localStorage under ``key`` (as JSON), or ``none`` when it keeps none
const stored = (key, none = null) => JSON.parse(localStorage.getItem(key)) ?? none;
const phone = { sent: 0, position: null };
window.mapsvcPhone = phone;  // what the page knows, for whoever looks on (tests)

function text(tag, value, className) {
  const el = document.createElement(tag);
  el.textContent = value == null ? "" : String(value);
  if (className) el.className = className;
  return el;
}

// ---- the queue, in IndexedDB ----
function openQueue() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("mapsvc-phone", 1);
    request.onupgradeneeded = () =>
      request.result.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function store(mode, work) {
  const db = await openQueue();
  return new Promise((resolve, reject) => {
    const tx = db.transaction("queue", mode);
    const result = work(tx.objectStore("queue"));
    tx.oncomplete = () => resolve(result && result.result);
    tx.onerror = () => reject(tx.error);
  });
}

// Each item waits for the account that made it: another signed in on the phone neither sees
// nor sends it (items from before accounts were kept are anyone's).
const me = () => localStorage.getItem("mapsvc.user");
const mine = (item) => !item.by || item.by === me();
const everything = () => store("readonly", (s) => s.getAll());
const queued = async () => (await everything()).filter(mine);
const enqueue = (item) => {
  const by = me();  // the account when it was made, though it signs out before it is stored
  return store("readwrite", (s) => s.add({ ...item, by }));
};
const dequeue = (seq) => store("readwrite", (s) => s.delete(seq));
const update = (item) => store("readwrite", (s) => s.put(item));

// A list (of my cases, my reports, the queue) brought to ``things``, in their order. The item
// of one that would be drawn as it is (``look``: what its item shows) is left in the page
// untouched, so a tap on it while the list is refreshed is never lost (a button taken out of
// the page between the finger's down and up is not clicked) nor undone (删除 tapped once); the
// others are built by ``build`` (their items told by ``id``), and what is listed no more is
// taken away.
function redraw(list, things, look, build, id = (thing) => thing.id) {
  const was = new Map([...list.querySelectorAll(":scope > li")].map((li) => [li.dataset.id, li]));
  const items = things.map((thing) => {
    const drawn = JSON.stringify(look(thing));
    const li = was.get(String(id(thing)));
    if (li && li.dataset.drawn === drawn) return li;
    const built = build(thing);
    built.dataset.drawn = drawn;
    return built;
  });
  const kept = new Set(items);
  for (const li of [...list.children]) if (!kept.has(li)) li.remove();
  items.forEach((li, i) => {
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
  });
}

async function showQueue() {
  const all = await everything();
  const items = all.filter(mine);
  const list = $("queue");
  const what = (item) => ({
    action: () => ` ${ACTION_NAME[item.action]} #${item.incident}`,
    visit: () => ` 走访 ${item.address}`,
    collect: () => ` 采集 ${item.name}`,
    correct: () => ` 更正 ${item.name}`,
    departure: () => ` ${DEPARTURE_NAME[item.reason]} ${item.name}`,
    newcomer: () => ` 登记新住户 ${item.name}`,
    details: () => ` 更正信息 ${item.name}`,
    move: () => ` 迁入 ${item.name}`,
    check: () => ` ${item.body.result === "hazard" ? "上报隐患" : "排查正常"} ${item.name}`,
    patrol: () => ` 巡查 ${Math.round(trackLength(item.body.points))} 米`,
    report: () => ` ${item.categoryName} ${item.body.description}`,
  }[item.kind]());
  // an item drawn as it was keeps its 删除 tapped once
  redraw(list, items, (item) => [item.failed, item.person, what(item)], (item) => {
    const li = text("li", item.failed ? `未能发送：${item.failed}` : "待发送",
                    item.failed ? "failed" : "");
    li.dataset.id = item.seq;
    li.appendChild(text("span", what(item)));
    if (item.failed && item.person && item.kind === "newcomer") li.appendChild(moveHere(item));
    if (item.failed) li.appendChild(discardButton(item));
    return li;
  }, (item) => item.seq);
  if (!items.length) list.append(text("li", "全部已发出", "none"));
  phone.queued = items.length;
  phone.held = all.length - items.length;  // another account's, waiting for it
  $("held").textContent = phone.held ? `另有 ${phone.held} 项待原账号登录后发送` : "";
  $("unkept").hidden = !all.length || phone.storageKept !== false;
}

// What waits on the phone is kept from the browser's clearing of a page's storage when the
// phone runs short of room: asked for as the account signs in (browsers grant it to a page
// added to the home screen, or used often). Not granted, the worker is told how, while
// something waits.
async function keepStorage() {
  phone.storageKept = Boolean(navigator.storage && navigator.storage.persist
                              && await navigator.storage.persist());
  showQueue();
}

// An item the service refused stays, saying why, until the worker drops it: two taps, the
// second on "确认删除", so that none is lost to a slip of the thumb.
function discardButton(item) {
  const button = text("button", "删除", "act");
  button.addEventListener("click", async () => {
    if (button.textContent !== "确认删除") {
      button.textContent = "确认删除";
      return;
    }
    await dequeue(item.seq);
    await showQueue();
  });
  return button;
}

// A newcomer the service knows, registered elsewhere in the jurisdiction (辖区内迁居): moved
// to the household the worker registered them to instead, keeping their number.
function moveHere(item) {
  const button = text("button", "迁入此户", "act");
  button.addEventListener("click", async () => {
    const { household_id, address_id, relation } = item.body;
    await enqueue({ kind: "move", person: item.person, name: item.name,
                    body: { household_id, address_id, relation, on: chinaDay(now()) } });
    await dequeue(item.seq);
    await showQueue();
    send();
  });
  return button;
}

// what the signal is like, beside the queue's heading (nothing said: good)
const reception = (said) => { $("online").textContent = said; };

// ---- the phone's clock ----
// A phone's clock may be set wrong by hand, hours or days off. The service's answers say its
// time (their Date header), and every time the phone stamps (a report, a step, a visit, a
// patrol, a photo) is put right by the difference last heard, also with no signal since.
const CLOCK_SLACK_MS = 30 * 1000;  // the header's whole seconds and the way: no error below
let clockOffset = Number(localStorage.getItem("mapsvc.clockOffset")) || 0;
phone.clockOffset = clockOffset;

function heard(response) {
  const said = Date.parse(response.headers.get("Date"));  // the second it was in, begun
  if (!Number.isNaN(said)) {
    const offset = said + 500 - Date.now();
    clockOffset = phone.clockOffset = Math.abs(offset) > CLOCK_SLACK_MS ? offset : 0;
    localStorage.setItem("mapsvc.clockOffset", String(clockOffset));
  }
  return response;
}

const now = () => Date.now() + clockOffset;
const stamp = (ms = now()) => new Date(ms).toISOString();

// ---- talking to the service ----
// The session signed in (its token): an answer asked for in one that has ended when it comes
// (signed out, maybe another signed in) is that session's, and is neither shown nor kept.
const signedIn = () => localStorage.getItem("mapsvc.token");
const myRole = () => localStorage.getItem("mapsvc.role");  // the account's signed in

// Each of its answers (never one the shell's cache kept) sets the clock right. One that says
// the session has ended (401: lapsed, or the account signed out everywhere), whatever it was
// asked for, signs the phone out, rather than leave a list that has stopped changing. A
// request with no time limit of its own (a send has one: ``patient``) is given up when no
// answer has begun to come in STALL_S (a stalled signal), as one with no signal: what was
// kept is shown instead. An answer that has begun takes as long as it takes.
function ask(url, options = {}) {
  const session = signedIn();
  const stalled = new AbortController();
  const timer = options.signal ? null : setTimeout(() => stalled.abort(), STALL_S * 1000);
  return fetch(url, { ...options, signal: options.signal || stalled.signal })
    .finally(() => clearTimeout(timer)).then(heard).then((response) => {
      if (response.status === 401 && session && signedIn() === session) signOut();
      return response;
    });
}

function authorised(options = {}) {
  return Object.assign({}, options, {
    headers: Object.assign({ Authorization: `Bearer ${signedIn()}` },
                           options.headers || {}),
  });
}

// On a weak signal a request may stall with no error (a connection lost between cells): a send
// with no answer in time is given up, and tried again with the queue, which stores nothing twice.
function patient(options, bytes = 0) {
  const wait = (STALL_S + bytes / CRAWL_BYTES_PER_S) * 1000;
  return authorised(Object.assign({}, options, { signal: AbortSignal.timeout(wait) }));
}

async function upload(photos, item) {
  const ids = [];
  for (const photo of photos) {  // the same photo again is answered 200, not stored twice
    const shot = photo.blob ? photo : { blob: photo };  // one queued by an older page: a blob
    const form = new FormData();
    form.append("file", shot.blob, "photo.jpg");
    if (shot.taken_at) form.append("taken_at", shot.taken_at);
    if (shot.lon != null) {
      form.append("lon", shot.lon);
      form.append("lat", shot.lat);
    }
    const r = await ask(`${API}/media`, patient({ method: "POST", body: form }, shot.blob.size));
    if (!r.ok) throw await refusal(r, item);
    ids.push((await r.json()).id);
  }
  return ids;
}

function sent(method, path, body) {
  return ask(`${API}${path}`, patient({
    method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }));
}
const post = (path, body) => sent("POST", path, body);

async function sendReport(item) {
  const attachments = await upload(item.photos, item);
  const r = await post("/incidents", Object.assign({}, item.body, { attachments }));
  if (!r.ok) throw await refusal(r, item);
  const incident = await r.json();
  if (item.onSpot && incident.status === "reported") {
    const done = await post(`/incidents/${incident.id}/actions/self_resolve`, {
      note: item.body.description || "当场处置", attachments,
      taken_at: item.body.reported_at });  // handled as it was reported
    if (!done.ok && done.status !== 409) throw await refusal(done, item);
  }
  $("result").textContent = `已上报，落入网格：${incident.grid ? incident.grid.name : "待分派"}`;
  if ($("reports").childElementCount) showReports();  // 我的上报, opened: with this one
}

async function sendAction(item, retry) {
  const attachments = await upload(item.photos, item);
  stepping.add(item.incident);
  try {
    const r = await post(`/incidents/${item.incident}/actions/${item.action}`,
                         Object.assign({}, item.body, { attachments }));
    // 409 on a retry: the first try went through and only its answer was lost
    if (!r.ok && !(r.status === 409 && retry)) throw await refusal(r, item);
    if (r.ok) tookStep(item.incident, (await r.json()).status);
  } finally {
    stepping.delete(item.incident);
  }
  $("result").textContent = `${ACTION_NAME[item.action]}：已提交`;
}

// A step the phone took is no news to it. While it is on its way (``stepping``), a list of
// the cases may already hold the state it led to; once answered, the case as last seen takes
// that state (none seen, as once signed out while it was sent: nothing kept), and a list asked
// before the answer came, older than it, shows the case in that state too (``stepped``: the
// state, and the last list asked by then).
const stepping = new Set();
const stepped = new Map();
function tookStep(id, status) {
  stepped.set(id, { status, asked: phone.casesAsked || 0 });
  const seen = stored("mapsvc.cases");
  if (!seen) return;
  for (const f of seen) if (f.id === id) f.properties.status = status;
  localStorage.setItem("mapsvc.cases", JSON.stringify(seen));
}

async function sendVisit(item) {
  const r = await post("/registry/visits", item.body);  // the same client id again: 200
  if (!r.ok) throw await refusal(r, item);
  $("result").textContent = `已记录走访：${item.address}`;
}

// The members of the households kept for no signal, as ``change`` makes them.
function keptMembers(change) {
  const near = stored(HOUSEHOLDS_NEAR);
  if (near) localStorage.setItem(HOUSEHOLDS_NEAR, JSON.stringify(near.map((household) => ({
    ...household, members: change(household.members) }))));
}

async function sendDeparture(item) {
  // the same departure sent again is answered as the first was, changing nothing
  const r = await post(`/registry/people/${item.person}/departure`, item.body);
  if (!r.ok) throw await refusal(r, item);
  keptMembers((members) => members.filter((p) => p.id !== item.person));
  $("result").textContent = `已登记${DEPARTURE_NAME[item.reason]}：${item.name}`;
}

async function sendNewcomer(item) {
  const r = await post("/registry/people", item.body);  // the same client id again: 200
  if (!r.ok) throw await refusal(r, item);
  $("result").textContent = `已登记新住户：${item.name}`;
}

async function sendDetails(item) {
  // corrected already, the same correction sent again changes nothing
  const r = await sent("PATCH", `/registry/people/${item.person}`, item.body);
  if (!r.ok) throw await refusal(r, item);
  const { care_tags: tags } = await r.json();
  keptMembers((members) => members.map((p) => (p.id === item.person
    ? { ...p, care_tags: tags } : p)));
  $("result").textContent = `已更正信息：${item.name}`;
}

async function sendMove(item) {
  // moved there already, the same move sent again changes nothing
  const r = await post(`/registry/people/${item.person}/move`, item.body);
  if (!r.ok) throw await refusal(r, item);
  $("result").textContent = `已迁入：${item.name}`;
}

async function sendPatrol(item) {
  const r = await post("/patrols", item.body);  // the same client id again: 200
  if (!r.ok) throw await refusal(r, item);
  const walked = (await r.json()).properties;
  $("result").textContent = `已记录巡查 ${Math.round(walked.length_m)} 米，经过 `
    + `${walked.grids.length} 个网格`;
  showPatrolDue();
}

async function sendCheck(item) {
  const r = await post(`/campaigns/${item.campaign}/checks`, item.body);  // again: 200
  if (!r.ok) throw await refusal(r, item);
  const checked = (await r.json()).properties;
  $("result").textContent = checked.result === "hazard"
    ? `已上报隐患：${item.name}（案件 ${checked.incident} 号）` : `已排查：${item.name}`;
  const campaigns = stored(CAMPAIGNS, []);  // as it now stands
  for (const c of campaigns.filter((c) => c.id === item.campaign && r.status === 201)) {
    c.checked += 1;
    c.things = c.things.filter((f) => f.id !== item.body.target);
  }
  localStorage.setItem(CAMPAIGNS, JSON.stringify(campaigns));
  showCampaigns();
}

async function send() {
  if (!navigator.onLine) return;
  if (phone.sending) {  // what was queued since this round read the queue goes after it
    phone.sendAgain = true;
    return;
  }
  phone.sending = true;
  phone.sendAgain = false;
  try {
    for (const item of await queued()) {  // in order: an action may need the report before it
      if (item.failed) continue;
      const retry = Boolean(item.tried);
      item.tried = true;
      await update(item);
      await { action: () => sendAction(item, retry), visit: () => sendVisit(item),
               report: () => sendReport(item), patrol: () => sendPatrol(item),
               departure: () => sendDeparture(item), check: () => sendCheck(item),
               newcomer: () => sendNewcomer(item), move: () => sendMove(item),
               collect: () => sendCollect(item), correct: () => sendCorrection(item),
               details: () => sendDetails(item),
             }[item.kind]();
      await dequeue(item.seq);
      phone.sent += 1;
      reception("");
    }
  } catch (error) {
    // no signal (a TypeError from fetch), or a send stalled: everything stays queued for the
    // next try
    if (error.name === "TimeoutError") reception("信号弱，稍后重发");
  } finally {
    phone.sending = false;
    await showQueue();
    loadCases();
    if (phone.sendAgain) send();
  }
}

// why the service refused an item, as the worker reads it; for another refusal (a field's
// content), the service's own words
const REFUSED = { 403: "无权办理", 404: "案件不在你的范围内", 409: "案件已有变化，此步已不能办理" };
const REFUSED_OF = {  // of items that are not about a case
  visit: { 404: "住户不在你的范围内" },
  collect: { 403: "此位置不在你的网格内" },
  correct: { 403: "此位置不在你的网格内", 404: "此单位或场所不在你的网格内" },
  departure: { 404: "此人不在你的范围内", 409: "此人已登记为其他变动" },
  newcomer: { 404: "住户或地址不在你的范围内", 409: "此身份证号已有人登记" },
  details: { 404: "此人不在你的范围内", 409: "此人已登记离开" },
  move: { 404: "此人或住户不在你的范围内", 409: "此人已登记离开" },
  check: { 404: "排查对象不在你的网格内", 409: "专项排查已结束，此次排查未被接收（隐患可直接上报）" },
};

async function refusal(response, item) {
  if (response.status === 401) return new Error("signed out");  // and so the phone is
  // the item itself is refused: kept, saying why
  if (response.status >= 400 && response.status < 500) {
    const body = await response.json().catch(() => ({}));
    const detail = typeof body.detail === "string" ? body.detail
      : body.detail && body.detail[0] && body.detail[0].msg;
    item.failed = { ...REFUSED, ...REFUSED_OF[item.kind] }[response.status] || detail
      || `HTTP ${response.status}`;
    item.ended = item.kind === "check" && response.status === 409;  // its campaign's end
    const known = Array.isArray(body.detail) && body.detail[0] && body.detail[0].ctx;  // named
    if (known && known.person) {
      item.person = known.person;
      item.failed = "此人已在辖区登记，可迁入此户（保留人员编号）";
    }
    await update(item);
  }
  return new Error(`HTTP ${response.status}`);
}

// ---- the report form ----
// Photos for a report or a step, taken one after another: the camera gives one photo at each
// tap, and a file input keeps only its last choosing, so each is kept as it comes
// (``box.taken``, up to PHOTOS_MOST), shown small with a button that leaves it out.
function photoBox(words) {
  const box = document.createElement("div");
  box.className = "photos";
  const label = text("label", words, "photo");
  const input = document.createElement("input");
  Object.assign(input, { type: "file", accept: "image/*", multiple: true });
  input.setAttribute("capture", "environment");
  label.appendChild(input);
  const taken = document.createElement("ul");
  box.append(label, taken);
  box.taken = [];
  const show = (said) => {
    taken.replaceChildren(...box.taken.map((file) => {
      const li = document.createElement("li");
      const img = document.createElement("img");
      img.alt = "照片";
      img.src = URL.createObjectURL(file);
      img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
      const drop = text("button", "×", "drop");
      drop.type = "button";
      drop.setAttribute("aria-label", "删除这张照片");
      drop.addEventListener("click", () => {
        box.taken = box.taken.filter((kept) => kept !== file);
        show("");
      });
      li.append(img, drop);
      return li;
    }));
    const count = box.taken.length;
    label.firstChild.textContent = count ? `${words}（已拍 ${count} 张）` : words;
    if (said) taken.appendChild(text("li", said, "full"));
  };
  input.addEventListener("change", () => {
    const room = PHOTOS_MOST - box.taken.length;
    box.taken.push(...[...input.files].slice(0, room));
    const full = input.files.length > room ? `最多附 ${PHOTOS_MOST} 张照片` : "";
    input.value = "";  // the next tap's photo comes as a change, this one already kept
    show(full);
  });
  box.clear = () => {
    box.taken = [];
    show("");
  };
  return box;
}

async function shrink(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, PHOTO_PX / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  // the shrunk copy has no EXIF: when the photo was taken goes with it, and, for one taken
  // just now, where (the worker's position)
  const taken = file.lastModified || Date.now();  // both by the phone's clock
  const fix = Date.now() - taken < FRESH_PHOTO_MS ? phone.position || {} : {};
  return { blob, taken_at: stamp(taken + clockOffset), lon: fix.lon, lat: fix.lat };
}

async function report(event) {
  event.preventDefault();
  const fix = phone.position;
  if (!fix) {
    $("result").textContent = "尚未定位";
    return;
  }
  if (fix.accuracy > ACCURACY_M &&
      !window.confirm(`定位精度约 ${Math.round(fix.accuracy)} 米，仍要上报吗？`)) {
    return;
  }
  const select = $("category");
  const photos = await Promise.all(phone.reportPhotos.taken.map(shrink));
  await enqueue({
    kind: "report",
    body: { client_id: crypto.randomUUID(), category: select.value,
            description: $("description").value.trim(), lon: fix.lon, lat: fix.lat,
            accuracy_m: fix.accuracy, reported_at: stamp(),
            source: "grid_worker" },
    categoryName: select.selectedOptions[0] ? select.selectedOptions[0].textContent : "",
    photos, onSpot: $("on-spot").checked,
  });
  $("report").reset();
  phone.reportPhotos.clear();
  $("result").textContent = navigator.onLine ? "正在上报…" : "无信号：已存入待发送，恢复后自动上报";
  await showQueue();
  send();
}

// The classes to report under: as last fetched at once (kept for no signal, and for one that
// stalls with no answer), and as the service has them when it answers.
async function loadCategories() {
  showCategories(stored("mapsvc.categories", []));
  try {
    const r = await ask(`${API}/categories`, authorised());
    if (!r.ok) return;
    const tree = await r.json();
    localStorage.setItem("mapsvc.categories", JSON.stringify(tree));
    phone.classesHeard = true;
    showCategories(tree);
  } catch (error) { /* offline: the last list */ }
}

function showCategories(tree) {
  phone.categories = tree.filter((c) => c.leaf);
  phone.classes = new Map(tree.map((c) => [c.code, c]));
  pickCategories($("category-search").value.trim());
  if (phone.cases) showCases(phone.cases);  // listed before the names came: named now
}

// the classes whose name or code holds ``query``, the one chosen still chosen
function pickCategories(query) {
  const select = $("category");
  const chosen = select.value;
  select.replaceChildren(...phone.categories
    .filter((c) => !query || c.path.includes(query) || c.code.startsWith(query))
    .map((c) => { const o = text("option", c.path); o.value = c.code; return o; }));
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  guide();
}

// What the class chosen asks of a report (立案条件) and of its result (结案条件), for the worker
// to judge whether it is one to report, and when it is handled.
function guide() {
  const c = (phone.classes && phone.classes.get($("category").value)) || {};
  $("category-guide").textContent = [c.filing_condition && `立案条件：${c.filing_condition}`,
                                     c.closing_condition && `结案条件：${c.closing_condition}`]
    .filter(Boolean).join("；");
}

// ---- map, position, my cases ----
// Which grid a report from here lands in, asked again when the pin has moved 10 metres or
// was dragged, and outlined on the map; with no signal the phone says and shows nothing
// rather than something old.
let located = null;
let outlined = null;  // the grid outlined: its code and its layer
async function outline(code, at) {
  if (outlined && outlined.code === code) return;
  if (outlined) phone.map.removeLayer(outlined.layer);
  outlined = null;
  phone.outlined = null;
  if (!code) return frameFix(at, null);
  const near = 0.001;  // a grid the point lies near (within the assignment tolerance) meets it
  const box = [at.lon - near, at.lat - near, at.lon + near, at.lat + near].join(",");
  const r = await ask(`${API}/grids?bbox=${box}`, authorised()).catch(() => null);
  if (!r || !r.ok) return frameFix(at, null);
  const feature = (await r.json()).features.find((f) => f.properties.code === code);
  if (phone.grid !== code || outlined) return;  // not if the answer is old
  if (!feature) return frameFix(at, null);
  outlined = { code, layer: L.geoJSON(feature, { interactive: false, style: {
    color: "#ef6c00", weight: 3, dashArray: "6 4", fill: false } }).addTo(phone.map) };
  phone.outlined = code;
  frameFix(at, outlined.layer);
}

// The page's first fix shows the grid it lies in whole, the fix in it (with no basemap the
// grids are all there is to see: a street's width of one is blank), at most as near as a
// street's; in no grid, or with no answer, the street about it.
function frameFix(at, grid) {
  if (phone.framed) return;
  phone.framed = true;
  const here = L.latLng(at.lat, at.lon);
  phone.moveMap(() => (grid ? phone.map.fitBounds(grid.getBounds().extend(here), { maxZoom: 17 })
    : phone.map.setView(here, 17)));
}

async function where(force) {
  const at = phone.position;
  if (!at || (!force && located && phone.map.distance(located, [at.lat, at.lon]) < 10)) return;
  const asked = located = L.latLng(at.lat, at.lon);
  if (!phone.campaignsNear) showCampaigns();  // listed before the first fix: nearest first now
  try {
    // with the fix's accuracy: the grids it may be off into are named too (a pin placed by
    // hand has none)
    const query = new URLSearchParams({ lon: at.lon, lat: at.lat });
    if (at.accuracy > 0) query.set("accuracy_m", at.accuracy);
    const r = await ask(`${API}/locate?${query}`, authorised());
    if (!r.ok) throw new Error(r.statusText);
    const { method, grid, nearby } = await r.json();
    if (located !== asked) return;  // a fix since, 10 metres off or placed by hand, asks anew
    phone.grid = grid ? grid.code : null;
    const near = (nearby || [])[0];
    phone.near = near ? near.code : null;
    $("where").textContent = (!grid ? "不在任何网格内：上报后待分派"
      : `将报入 ${grid.name}` + (method === "nearest" ? "（格外，就近入格）" : ""))
      + (near ? `。距${near.name}仅 ${Math.round(near.distance_m)} 米，定位精度约 `
                + `${Math.round(at.accuracy)} 米：请核对位置，可拖动图钉` : "");
  } catch {
    if (located !== asked) return;
    located = null;  // asked again with the next fix
    phone.grid = undefined;
    phone.near = undefined;
    $("where").textContent = "";
  }
  outline(phone.grid, at);
}

// A layer the phone keeps (phone[name]: the account's grids, the case marked) taken off
// the map.
function drop(name) {
  if (phone[name]) phone.map.removeLayer(phone[name]);
  phone[name] = null;
}

// Once a page: the map and the position serve whoever signs in on it.
function startMap() {
  if (phone.map) return;
  const map = L.map("map", { zoomControl: false }).setView([30, 114], 14);
  phone.map = map;
  const moveMap = phone.moveMap = viewMover(map);
  let pin = null;
  let circle = null;
  navigator.geolocation.watchPosition((p) => {
    const { latitude: lat, longitude: lon, accuracy } = p.coords;
    if (!pin) {
      pin = L.marker([lat, lon], { draggable: true }).addTo(map);
      pin.on("dragend", () => {  // the worker moved the pin: that is where it is
        const at = pin.getLatLng();
        phone.position = { lon: at.lng, lat: at.lat, accuracy: 0 };
        where(true);
      });
      circle = L.circle([lat, lon], { radius: accuracy }).addTo(map);
      moveMap(() => map.panTo([lat, lon]));  // framed once its grid is known (frameFix)
    } else {
      pin.setLatLng([lat, lon]);
      circle.setLatLng([lat, lon]).setRadius(accuracy);
    }
    phone.position = { lon, lat, accuracy };
    walked(lon, lat, accuracy);
    $("fix").textContent = `定位精度约 ${Math.round(accuracy)} 米`;
    where(false);
  }, () => { $("fix").textContent = "无法定位：请允许定位"; }, { enableHighAccuracy: true });
}

// The grids of the account signed in on the map: as last fetched at once (kept for no signal,
// with the session), and as the service has them when it answers.
const MY_GRIDS = "mapsvc.grids";
function showMyGrids() {
  const session = signedIn();
  const draw = (grids) => {
    drop("grids");
    phone.grids = L.geoJSON(grids, { style: GRID_STYLE }).addTo(phone.map);
    // with no fix yet (or none allowed), the map shows the worker's grids
    if (!phone.position && grids.features.length) {
      const bounds = phone.grids.getBounds();
      phone.moveMap(() => phone.map.fitBounds(bounds));
    }
  };
  const kept = stored(MY_GRIDS);
  if (kept) draw(kept);
  ask(`${API}/grids?mine=true&limit=1000`, authorised())
    .then((r) => (r.ok ? r.json() : null))
    .then((grids) => {
      if (!grids || signedIn() !== session) return;
      draw(grids);
      showPatrolDue();
      localStorage.setItem(MY_GRIDS, JSON.stringify(grids));  // (a phone out of room: not kept)
      configured.then(({ basemap }) => keepBasemap(basemap, grids));
    })
    .catch(() => {});
}

// The basemap's tiles over the account's grids, from a town's view down to a street's (zooms
// KEEP_ZOOMS), handed to the service worker to keep (sw.js), so that a worker sees the streets
// of their grids with no signal: at most KEEP_MOST, the farther views first. The worker says
// how many it keeps (phone.tilesKept).
const KEEP_ZOOMS = [12, 18];
const KEEP_MOST = 1500;
function keepBasemap(basemap, grids) {
  if (!basemap || !grids.features.length || !("serviceWorker" in navigator)) return;
  const shown = (latlng) => (basemap.gcj02 ? gcj02(latlng) : latlng);  // (basemap.js)
  const corners = grids.features.map((grid) => {
    const bounds = L.geoJSON(grid).getBounds();
    return [shown(bounds.getNorthWest()), shown(bounds.getSouthEast())];
  });
  const tiles = new Set();
  for (let z = KEEP_ZOOMS[0]; z <= KEEP_ZOOMS[1]; z += 1) {
    for (const grid of corners) {
      const [from, to] = grid.map((corner) => phone.map.project(corner, z).divideBy(256).floor());
      for (let x = from.x; x <= to.x; x += 1) {
        for (let y = from.y; y <= to.y; y += 1) {
          const s = basemap.subdomains[Math.abs(x + y) % basemap.subdomains.length];
          tiles.add(L.Util.template(basemap.url, { ...basemap, r: "", s, x, y, z }));
        }
      }
    }
  }
  navigator.serviceWorker.ready.then((registration) => {
    registration.active.postMessage({ keep: [...tiles].slice(0, KEEP_MOST) });
  });
}

// What those working on the phone (grid workers and chiefs, departments) do next with a case in
// each state; each action's rules (what it needs) come with the names (names.js).
const NEXT = {
  reported: ["self_resolve", "escalate", "relocate"], verifying: ["confirm", "relocate"],
  dispatched: ["accept", "contact", "hand_back", "request_extension", "request_exemption"],
  in_progress: ["report_handled", "contact", "hand_back", "request_extension",
                "request_exemption"],
  handled: ["check"], checking: ["check_pass", "check_fail"],
};
// whether a case has a caller: the public's cases (a citizen's, the hotline's)
const hasCaller = (p) => PUBLIC_SOURCES.includes(p.source);
// steps that concern a case's caller, taken on those alone: contacting them (联系诉求人), and
// asking that what they say of the case count not (申请不纳入考核, 申诉)
const CALLERS_STEPS = ["contact", "request_exemption"];
// the steps of a case an account of ``role`` may take, as the service would
const stepsOf = (p, role) => (NEXT[p.status] || []).filter(
  (action) => mayTake(action, p, role) && (!CALLERS_STEPS.includes(action) || hasCaller(p)));
// steps that judge whether a case is done, by its class's 结案条件
const JUDGED = new Set(["self_resolve", "report_handled", "check_pass", "check_fail"]);

async function act(incident, action, photos, item) {
  const body = { note: "" };
  const moving = ACTIONS[action].needs.includes("point");  // to where the pin is
  if (moving) {
    if (!phone.position) {
      $("result").textContent = "尚未定位：请先定位或拖动标记";
      return;
    }
    body.point = { lon: phone.position.lon, lat: phone.position.lat };
  }
  if (ACTIONS[action].note) {
    const said = await askNote(item, action, moving);
    if (!said) return;
    Object.assign(body, said);
  }
  const shrunk = await Promise.all((photos ? photos.taken : []).map(shrink));
  body.taken_at = stamp();  // sent after a wait for signal, it keeps its time
  await enqueue({ kind: "action", incident, action, body, photos: shrunk });
  if (photos) photos.clear();  // gone with the step
  $("result").textContent = navigator.onLine ? "正在提交…" : "无信号：已存入待发送";
  await showQueue();
  send();
}

// What a step needs said, asked under its case on the list: a note, typed or one of the
// common notes picked, and for more time the working days (1 to 10). Resolves to what was
// said, or null if the worker cancels (or takes another step of the case instead).
function askNote(item, action, moving) {
  const open = item.querySelector("form.step");
  if (open) open.cancel();
  return new Promise((resolve) => {
    const form = document.createElement("form");
    form.className = "step";
    form.dataset.action = action;
    const note = document.createElement("textarea");
    Object.assign(note, { name: "note", rows: 2, maxLength: 2000, required: true,
                          placeholder: "情况说明" });
    note.setAttribute("aria-label", "情况说明");
    const filled = () => note.setCustomValidity(note.value.trim() ? "" : "请填写情况说明");
    note.addEventListener("input", filled);
    filled();
    const title = moving ? `${ACTION_NAME[action]}到地图标记处` : ACTION_NAME[action];
    form.append(text("strong", title), note, ...phraseButtons(PHRASES[action] || [], note));
    const days = ACTIONS[action].needs.includes("working_days")
      ? document.createElement("input") : null;
    if (days) {
      Object.assign(days, { type: "number", name: "working_days", min: 1, max: 10, value: 2,
                            required: true });
      const label = text("label", "延期工作日 ");
      label.appendChild(days);
      form.appendChild(label);
    }
    const send = text("button", "提交", "act");
    send.type = "submit";
    const cancel = text("button", "取消", "act");
    cancel.type = "button";
    form.append(send, cancel);
    form.cancel = () => { form.remove(); resolve(null); };
    cancel.addEventListener("click", form.cancel);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      form.remove();
      const said = { note: note.value.trim() };
      if (days) said.working_days = Number(days.value);
      resolve(said);
    });
    item.appendChild(form);
    note.focus();
  });
}

// A step's photo (its thumbnail), fetched with the worker's token.
function photoOf(id) {
  const image = text("img", "");
  image.alt = "现场照片";
  ask(`${API}/media/${id}/thumbnail`, authorised())
    .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.statusText))))
    .then((blob) => {
      image.onload = () => URL.revokeObjectURL(image.src);  // drawn: the blob is let go
      image.src = URL.createObjectURL(blob);
    })
    .catch(() => { image.alt = "照片（有信号时再看）"; });
  return image;
}

// A part under a case's item (a ``tag`` of class ``className``), opened and closed by a tap:
// what ``fill`` makes of the service's answer to ``path``, asked again each time it is opened.
async function toggleUnder(li, tag, className, path, fill) {
  const shown = li.querySelector(`${tag}.${className}`);
  if (shown) {
    shown.remove();
    return;
  }
  const part = text(tag, "", className);
  li.appendChild(part);
  try {
    const r = await ask(`${API}${path}`, authorised());
    if (!r.ok) throw new Error(r.statusText);
    part.replaceChildren(...fill(await r.json()));
  } catch {
    part.replaceChildren(text(tag === "ol" ? "li" : "p", "无信号：有信号时再看"));
  }
}

// What each item of a list of cases (``list``: my cases, my reports) holds under
// ``selector``, by its case's id: kept when its item is drawn anew.
function heldUnder(list, selector) {
  return new Map([...list.querySelectorAll(":scope > li")].map(
    (li) => [li.dataset.id, li.querySelector(selector)]));
}

// A case's steps so far (who did what, when, and why).
function showSteps(li, id) {
  return toggleUnder(li, "ol", "steps", `/incidents/${id}/timeline`,
                     (steps) => steps.map((step) => stepItem(step, photoOf)));
}

// Of the cases waiting on the account, the phone lists the most urgent and the newest.
const CASES_LISTED = 50;
const NEWEST = 10;

// The cases arrived since the list was last drawn (a case dispatched to me, a report in my
// grids), marked urgent (加急) or urged by their caller (催办) since, or come to a task on site
// since (the centre asks the field to verify it, 核实; the department has handled it, to be
// checked, 核查), marked until the worker touches them.
const unseen = new Set(stored("mapsvc.unseen", []));
const TASKS = { verifying: "待核实", handled: "待核查" };

function noticed(id) {
  if (id !== undefined) unseen.delete(id);
  localStorage.setItem("mapsvc.unseen", JSON.stringify([...unseen]));
  const news = (phone.cases || []).filter((f) => unseen.has(f.id));
  const among = [["加急", news.filter((f) => f.properties.urgent_at).length],
                 ["催办", news.filter((f) => f.properties.urged).length],
                 ...Object.values(TASKS).map((task) => [task, news.filter(
                   (f) => TASKS[f.properties.status] === task).length])]
    .filter(([, n]) => n).map(([what, n]) => `${what} ${n} 件`);
  $("news").textContent = unseen.size
    ? `新到 ${unseen.size} 件案件${among.length ? `，其中${among.join("，")}` : ""}` : "";
}

// My cases as the service has them (until it first answers, as last seen: kept for no
// signal, and for one that stalls with no answer); the phone says when new ones arrive or one
// is marked urgent or urged (and buzzes, where it can: at length for an urgent one).
async function loadCases() {
  if (!phone.cases) showCases(stored("mapsvc.cases", []));
  // on a weak signal answers may come back out of order: one asked before the answer shown
  // last is older than it, and is dropped
  const asked = phone.casesAsked = (phone.casesAsked || 0) + 1;
  try {
    // when more wait than the list holds: the most urgent, and the newest (news)
    const answers = await Promise.all([`order=due&limit=${CASES_LISTED}&count=true`,
                                       `limit=${NEWEST}`]
      .map((asking) => ask(`${API}/incidents?queue=mine&${asking}`, authorised())));
    if (answers.some((r) => !r.ok)) return;
    const [first, newest] = await Promise.all(answers.map((r) => r.json()));
    const held = new Set(first.features.map((f) => f.id));
    const cases = [...first.features, ...newest.features.filter((f) => !held.has(f.id))];
    if (asked < (phone.casesShown || 0)) return;
    phone.casesShown = asked;
    for (const f of cases) {  // asked before a step of the phone's was answered: older than it
      const step = stepped.get(f.id);
      if (step && asked <= step.asked) f.properties.status = step.status;
    }
    const seen = stored("mapsvc.cases");
    localStorage.setItem("mapsvc.cases", JSON.stringify(cases));
    const was = new Map((seen || []).map((f) => [f.id, f.properties]));
    const fresh = seen ? cases.filter((f) => !was.has(f.id)) : [];
    const expedited = cases.filter((f) => was.has(f.id) && f.properties.urgent_at
                                          && !was.get(f.id).urgent_at);
    const urged = cases.filter((f) => was.has(f.id)
                                      && f.properties.urged > (was.get(f.id).urged || 0));
    const tasked = cases.filter((f) => was.has(f.id) && f.properties.status in TASKS
                                       && was.get(f.id).status !== f.properties.status
                                       && !stepping.has(f.id));
    const listed = new Set(cases.map((f) => f.id));
    for (const id of unseen) if (!listed.has(id)) unseen.delete(id);
    for (const f of [...fresh, ...expedited, ...urged, ...tasked]) unseen.add(f.id);
    showCases(cases);
    $("cases-count").textContent = first.numberMatched > cases.length
      ? `共 ${first.numberMatched} 件，列出最急和最新的 ${cases.length} 件` : "";
    noticed();
    phone.refreshed = (phone.refreshed || 0) + 1;
    if (navigator.vibrate) {  // an urgent one at length
      if (expedited.length || fresh.some((f) => f.properties.urgent_at)) {
        navigator.vibrate([300, 100, 300]);
      } else if (fresh.length || urged.length || tasked.length) navigator.vibrate(200);
    }
  } catch (error) {  // offline: the cases as last seen
    showCases(stored("mapsvc.cases", []));
  }
}

// asked again while the page is in view and has a signal, and whenever it comes back to view;
// so are the grids due for a patrol, my reports once opened, and the classes until heard
function followCases() {
  setTimeout(followCases, REFRESH_S * 1000);
  if (document.visibilityState === "visible" && navigator.onLine) {
    loadCases();
    showPatrolDue();
    showMonth();
    if ($("reports").childElementCount) showReports();
    if (!phone.classesHeard) loadCategories();  // asked with no answer as the page opened
  }
}

// a class by its name, as the categories last loaded have it (else its code)
const className = (code) => ((phone.classes && phone.classes.get(code)) || { name: code }).name;

// My cases, most urgent first: those the centre marked urgent (加急), then by their clocks:
// past a deadline, near one, then the rest (no clock running, as a case not yet filed: named
// by its state alone).
const URGENCY = [["red", "超期"], ["yellow", "即将到期"], ["green", "时限内"], [null, ""]];

function showCases(cases) {
  phone.cases = cases;
  // the case marked is no longer mine
  const marked = phone.placeMark && phone.placeMark.caseId;
  if (marked && !cases.some((f) => f.id === marked)) drop("placeMark");
  const clock = (f) => URGENCY.findIndex(([colour]) => colour === (f.properties.colour || null));
  const rank = (f) => clock(f) + (f.properties.urgent_at ? 0 : URGENCY.length);
  cases = [...cases].sort((a, b) => rank(a) - rank(b));
  // photos already chosen for a case, and the steps opened, stay when the list is drawn anew
  const list = $("cases");
  const chosen = heldUnder(list, "div.photos");
  const opened = heldUnder(list, "ol.steps");
  const asking = heldUnder(list, "form.step");
  const called = heldUnder(list, "div.caller");
  const role = myRole();
  const readsCallers = CALLER_READERS.includes(role);
  const closingOf = (p) => phone.classes && phone.classes.get(p.category);
  const look = (f) => [f, role, className(f.properties.category),
                       (closingOf(f.properties) || {}).closing_condition];
  redraw(list, cases, look, (f) => {
    const p = f.properties;
    const urgency = URGENCY[clock(f)][1];
    const li = text("li", [p.urgent_at && "加急", urgency, STATUS[p.status] || p.status,
                           p.urged && `催办 ${p.urged} 次`, `#${f.id} ${className(p.category)}`,
                           p.description]
      .filter(Boolean).join(" · "), p.colour || "");
    li.dataset.id = f.id;
    if (p.urgent_at) li.classList.add("urgent");
    // where it is: its grid, after its county and township for a department's crew, who go
    // wherever their cases are
    li.appendChild(text("small", [role === "department" && casePlace(p, "city", "township"),
                                  p.grid ? p.grid.name : "未入格"].filter(Boolean).join(" "),
                        "place"));
    const due = soonestDeadline(p);
    const late = due && overdueFor(due);  // (of a clock running)
    if (due) li.appendChild(text("small", `时限 ${dueTime(due)}${late ? `（${late}）` : ""}`, "due"));
    const next = stepsOf(p, role);
    if (next.includes("contact") && p.response_deadline && !p.contacted_at) {  // 响应
      li.appendChild(text("small", `联系诉求人时限 ${dueTime(p.response_deadline)}`, "due"));
    }
    const closing = closingOf(p);
    if (closing && closing.closing_condition && next.some((action) => JUDGED.has(action))) {
      li.appendChild(text("small", `结案条件：${closing.closing_condition}`, "guide"));
    }
    li.addEventListener("click", () => {
      li.classList.remove("new");
      noticed(f.id);
    });
    let photos = null;
    if (next.some((action) => ACTIONS[action].photo)) {  // the result, photographed
      photos = chosen.get(String(f.id)) || photoBox("现场照片");
      li.appendChild(photos);
    }
    placeAndSteps(li, f);
    if (readsCallers && hasCaller(p)) {
      const caller = text("button", "来电人", "act");
      caller.type = "button";
      caller.dataset.show = "caller";
      caller.addEventListener("click", () => showCaller(li, f.id));
      li.appendChild(caller);
    }
    for (const action of next) {
      const button = text("button", ACTION_NAME[action], "act");
      button.type = "button";
      button.dataset.action = action;
      button.addEventListener("click", () => act(f.id, action, photos, li));
      li.appendChild(button);
    }
    if (called.get(String(f.id))) li.appendChild(called.get(String(f.id)));
    if (opened.get(String(f.id))) li.appendChild(opened.get(String(f.id)));
    const form = asking.get(String(f.id));  // a step being said stays, while the case allows it
    if (form && next.includes(form.dataset.action)) li.appendChild(form);
    else if (form) form.cancel();
    return li;
  });
  for (const li of list.children) li.classList.toggle("new", unseen.has(Number(li.dataset.id)));
}

// A case's buttons to show where it is on the map and the steps it has been through, on its
// item ``li`` (of my cases, of my reports).
function placeAndSteps(li, f) {
  const place = text("button", "位置", "act");
  place.type = "button";
  place.dataset.show = "place";
  place.addEventListener("click", () => {
    const [lon, lat] = f.geometry.coordinates;
    showOnMap(L.latLng(lat, lon), `#${f.id}`, f.id);
  });
  const steps = text("button", "进度", "act");
  steps.type = "button";
  steps.addEventListener("click", () => showSteps(li, f.id));
  li.append(place, steps);
}

// Who called about a public case: masked, as the service shows them to a department (to call
// them back, 联系诉求人); their phone in full, to dial, once a reason is given (the reveal
// audited).
function showCaller(li, id) {
  return toggleUnder(li, "div", "caller", `/incidents/${id}`, ({ caller }) => {
    const said = caller && [caller.name, caller.phone].filter(Boolean).join(" · ");
    const shown = [text("p", said ? `来电人 ${said}` : "未留来电人信息")];
    return caller && caller.phone ? [...shown, revealForm(`/incidents/${id}/caller/reveal`,
                                                         "phone", REVEAL_REASONS)] : shown;
  });
}

// The form that asks why a number is needed in full (``reasons``: those commonly said), and
// then offers it to dial: the ``field`` that ``path`` reveals.
function revealForm(path, field, reasons) {
  const form = text("form", "", "reveal");
  const reason = document.createElement("textarea");
  Object.assign(reason, { name: "reason", rows: 1, minLength: 2, maxLength: 500,
                          required: true, placeholder: "查看号码的原因" });
  reason.setAttribute("aria-label", "查看号码的原因");
  const send = text("button", "查看号码", "act");
  send.type = "submit";
  form.append(reason, ...phraseButtons(reasons, reason), send);
  const said = text("small", "");
  form.append(said);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const r = await ask(`${API}${path}`, authorised({
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ field, reason: reason.value.trim() }) }));
      if (!r.ok) {
        said.textContent = `未能查看号码（${r.status}）`;
        return;
      }
      const { value } = await r.json();
      const dial = text("a", `拨打 ${value}`, "act");
      dial.href = `tel:${value}`;
      form.replaceWith(dial);
    } catch {
      said.textContent = "无信号：有信号时再查看号码";
    }
  });
  return form;
}

// The soonest deadline of the case's clocks running (its stage's, the whole case's), if any.
function soonestDeadline(p) {
  const running = Object.values(p.clocks || {}).filter((c) => c && c.colour && c.deadline);
  const deadlines = running.map((c) => new Date(c.deadline)).sort((a, b) => a - b);
  return deadlines[0] || null;
}

// A place shown on the map (``at``, a latlng): marked and named (``label``), the map brought
// to it and into view; of a case (``caseId``), the mark goes once the case is no longer the
// worker's.
function showOnMap(at, label, caseId = null) {
  drop("placeMark");
  phone.placeMark = L.circleMarker(at, PLACE_MARK).addTo(phone.map)
    .bindTooltip(text("span", label), { permanent: true, direction: "top" });  // as text
  phone.placeMark.caseId = caseId;
  phone.framed = true;  // where the worker asked to look: the first fix, answered since, keeps it
  phone.moveMap(() => phone.map.setView(at, Math.max(phone.map.getZoom(), 17)));
  $("map").scrollIntoView({ block: "nearest" });
}
const PLACE_MARK = { radius: 11, color: "#c62828", weight: 3, fillColor: "#ef5350",
                     fillOpacity: 0.45 };

// ---- my reports: the cases the worker reported in the last 30 days, in whatever state they
// are, closed and followed up too (where each went, the rating it was given), the steps of
// each at a tap; as last seen with no signal ----
const REPORTS = "mapsvc.reports";
const REPORTS_DAYS = 30;
const REPORTS_LISTED = 50;

async function showReports() {
  const session = signedIn();
  // asked anew (a report sent, the list's refresh): an answer older than the one shown is
  // dropped, as my cases' are
  const asked = phone.reportsAsked = (phone.reportsAsked || 0) + 1;
  const since = chinaMidnights(chinaDay(now() - REPORTS_DAYS * 864e5))[0];
  const kept = stored(REPORTS);
  if (kept && !$("reports").childElementCount) listReports(kept);  // until the service answers
  const r = await ask(`${API}/incidents?reporter=me&from=${encodeURIComponent(since)}`
                      + `&limit=${REPORTS_LISTED}&count=true`, authorised()).catch(() => null);
  if (!r || !r.ok || signedIn() !== session || asked < (phone.reportsShown || 0)) return;
  phone.reportsShown = asked;
  const reports = await r.json();
  localStorage.setItem(REPORTS, JSON.stringify(reports));
  listReports(reports);
}

function listReports(reports) {
  const listed = reports.features.length;
  $("reports-count").textContent = `近${REPORTS_DAYS}天 ${reports.numberMatched} 件`
    + (reports.numberMatched > listed ? `，列出最新的 ${listed} 件` : "");
  const list = $("reports");
  const opened = heldUnder(list, "ol.steps");  // stay when a report's item is drawn anew
  redraw(list, reports.features, (f) => [f, className(f.properties.category)], (f) => {
    const p = f.properties;
    const li = text("li", [STATUS[p.status] || p.status, `#${f.id} ${className(p.category)}`,
                           p.description].filter(Boolean).join(" · "));
    li.dataset.id = f.id;
    li.appendChild(text("small", [`上报 ${localTime(p.reported_at)}`,
                                  p.closed_at && `办结 ${localTime(p.closed_at)}`,
                                  p.satisfaction && `满意度 ${p.satisfaction}`]
      .filter(Boolean).join(" · ")));
    placeAndSteps(li, f);
    if (opened.get(String(f.id))) li.appendChild(opened.get(String(f.id)));
    return li;
  });
  if (!listed) list.append(text("li", "近期没有上报", "none"));
}

// ---- household visits: two taps; a member who moved away or died: two more; a member's
// details corrected; a newcomer, to a household or as the first of a new one ----
const HOUSEHOLDS_NEAR = "mapsvc.households-near";  // those last seen here, for no signal
const ADDRESSES_NEAR = "mapsvc.addresses-near";  // the standard addresses, likewise

// What the service lists within 80 m of the phone (``what``: households, addresses, …; ``asked``
// more of it), kept under ``key`` for no signal; with no signal, what was kept.
async function listedNear(what, key, asked = "") {
  const fix = phone.position;
  const session = signedIn();
  try {
    const r = await ask(`${API}/registry/${what}?near=${fix.lon},${fix.lat},80&limit=200${asked}`,
                        authorised());
    if (r.ok) {
      const found = await r.json();
      if (signedIn() !== session) return null;  // signed out meanwhile: kept nowhere
      localStorage.setItem(key, JSON.stringify(found));
      return found;
    }
  } catch (error) { /* offline: what was last seen here */ }
  return stored(key);
}

async function nearbyHouseholds() {
  if (!phone.position) return;
  const session = signedIn();
  const [households, addresses] = await Promise.all([
    listedNear("households", HOUSEHOLDS_NEAR), listedNear("addresses", ADDRESSES_NEAR)]);
  if (signedIn() !== session) return;
  await showHouseholds(households || []);
  showAddresses(addresses ? addresses.features : []);
}

// A door plate scanned (门牌二维码: the phone's camera opens /m/#address=ID): the households
// at that standard address, to visit, whatever the fix indoors.
async function householdsAtPlate() {
  const plate = /^#address=(\d+)$/.exec(location.hash);
  if (!plate || !signedIn()) return;
  history.replaceState(null, "", location.pathname);  // a reload shows it no more
  const session = signedIn();
  const r = await ask(`${API}/registry/households?address=${plate[1]}&limit=200`, authorised())
    .catch(() => null);
  if (signedIn() !== session) return;
  if (!r || !r.ok) {
    $("result").textContent = r ? "读不到该门牌的住户" : "无信号：读不到该门牌的住户";
    return;
  }
  const homes = await r.json();  // none of those out of the worker's grids
  $("result").textContent = homes.length ? `门牌：${homes[0].address}`
    : "该门牌的地址没有你可走访的住户";
  await showHouseholds(homes);
  showAddresses([]);
  $("households").scrollIntoView();
}

// The households listed to visit (``homes``, as GET /registry/households lists them), each
// with its members (those whose departure is waiting to be sent left out).
async function showHouseholds(homes) {
  const leaving = new Set((await queued()).filter((item) => item.kind === "departure")
    .map((item) => item.person));
  $("households").replaceChildren(...homes.map(({ id, number, address, members, ...home }) => {
    const li = document.createElement("li");
    // households of one house told apart by their number (户号)
    const button = text("button", `走访 ${address}${number ? `（户号 ${number}）` : ""}`, "act");
    button.type = "button";
    button.dataset.household = id;
    button.addEventListener("click", () => visit(id, address));
    li.appendChild(button);
    const micro = home.micro_grid;
    if (micro) {  // its micro-grid (微网格) and who leads it (联户长), to call
      li.appendChild(text("small", `微网格 ${micro.name}`
        + `${micro.leader ? `，联户长 ${micro.leader.name}` : ""}`, "micro"));
      if (micro.leader) {  // the number asked for once the worker means to call
        const call = text("button", "联系联户长", "act quiet");
        call.type = "button";
        call.addEventListener("click", () => call.replaceWith(revealForm(
          `/registry/people/${micro.leader.id}/reveal`, "mobile", LEADER_REASONS)));
        li.appendChild(call);
      }
    }
    const list = document.createElement("ul");
    list.className = "members";
    list.append(...members.filter((person) => !leaving.has(person.id)).map(member));
    li.appendChild(list);
    const joining = text("button", "登记新住户", "act quiet");
    joining.type = "button";
    joining.addEventListener("click", () => askNewcomer({ household_id: id }, address));
    li.appendChild(joining);
    return li;
  }));
}

// The standard addresses near, to start a new household (新立户) at one: a flat newly let
// where nobody is registered yet (those first). Its first member is registered as any
// newcomer.
function showAddresses(addresses) {
  const choice = $("new-household").querySelector("select");
  const inhabited = (a) => (a.properties.households ? 1 : 0);
  choice.replaceChildren(...[...addresses].sort((a, b) => inhabited(a) - inhabited(b)).map(({
    properties: a }) => {
    const held = a.households ? `${a.households} 户` : "无住户";
    const option = text("option", `${a.address}（${held}）`);
    option.value = a.id;
    option.dataset.address = a.address;
    return option;
  }));
  $("new-household").hidden = !addresses.length;
}

function askNewHousehold() {
  const chosen = $("new-household").querySelector("select").selectedOptions[0];
  askNewcomer({ address_id: Number(chosen.value) }, `${chosen.dataset.address}（新立户）`);
}

// A newcomer (流动人口登记) to a household, or the first of a new one at an address (``to``:
// household_id or address_id): the form under the households, sent with the queue.
function askNewcomer(to, address) {
  const form = $("newcomer");
  form.reset();
  form.dataset.to = JSON.stringify(to);
  $("newcomer-home").textContent = address;
  form.hidden = false;
  form.elements.name.focus();
}

// A resident ID number's 18th character (GB 11643), so that a digit mistyped at the door is
// caught there, not once the worker has gone.
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const idChecks = (id) => !/^\d{17}[\dXx]$/.test(id) || "10X98765432"[  // else the pattern says
  ID_WEIGHTS.reduce((sum, w, i) => sum + w * Number(id[i]), 0) % 11] === id[17].toUpperCase();

function checkIdNumber(input) {
  input.setCustomValidity(idChecks(input.value.trim()) ? "" : "身份证号校验位不符，请核对");
}

async function registerNewcomer(event) {
  event.preventDefault();
  const form = event.target;
  checkIdNumber(form.elements.id_number);
  if (!form.reportValidity()) return;
  const given = Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, v.trim()]));
  const body = { ...JSON.parse(form.dataset.to), client_id: crypto.randomUUID(),
                 name: given.name, registration: given.registration, relation: given.relation };
  for (const key of ["id_number", "mobile", "birth_date", "sex"]) {
    if (given[key]) body[key] = given[key];
  }
  // shown masked on the phone, as the service shows people: the family name's first character
  await enqueue({ kind: "newcomer", name: `${given.name[0]}${"*".repeat(given.name.length - 1)}`,
                  body });
  form.reset();
  form.hidden = true;
  await showQueue();
  send();
}

// A member of a household (masked, as the service lists them), with their care tags and what
// may befall them: the first tap asks "确认…", the second records it, so a slip of the thumb
// records nothing; or their details corrected as found at the door.
function member(person) {
  const tags = person.care_tags && person.care_tags.length ? `（${person.care_tags.join("、")}）`
    : "";
  const li = document.createElement("li");
  li.appendChild(text("span", `${person.name}${person.birth_year ? ` ${person.birth_year}年生` : ""}`
    + tags, "who"));  // on a line of its own, the buttons in a row under it
  li.dataset.person = person.id;
  const correcting = text("button", "更正", "act quiet");
  correcting.type = "button";
  correcting.addEventListener("click", () => askDetails(person));
  li.appendChild(correcting);
  for (const [reason, word] of Object.entries(DEPARTURE_NAME)) {
    const button = text("button", word, "act quiet");
    button.type = "button";
    button.dataset.reason = reason;
    button.addEventListener("click", () => {
      if (button.textContent === word) button.textContent = `确认${word}`;
      else leave(person, reason, li);
    });
    li.appendChild(button);
  }
  return li;
}

// A member's details corrected (信息更正): a mobile typed anew, the care tags as found; sent
// with the queue, what changed alone, with the reason, which the service audits.
function askDetails(person) {
  const form = $("person-details");
  form.reset();
  form.dataset.person = JSON.stringify({ id: person.id, name: person.name,
                                         care_tags: person.care_tags || [] });
  $("person-details-name").textContent = person.name;
  form.elements.care_tags.value = (person.care_tags || []).join("、");
  form.hidden = false;
  form.scrollIntoView();
  form.elements.mobile.focus();
}

async function correctDetails(event) {
  event.preventDefault();
  const form = event.target;
  if (!form.reportValidity()) return;
  const person = JSON.parse(form.dataset.person);
  const body = { reason: form.elements.reason.value.trim() };
  if (form.elements.mobile.value.trim()) body.mobile = form.elements.mobile.value.trim();
  // care tags written as a registry file writes them
  const tags = form.elements.care_tags.value.split(/[|、,，;；]/).map((t) => t.trim())
    .filter(Boolean);
  if (tags.join("、") !== person.care_tags.join("、")) body.care_tags = tags;
  if (Object.keys(body).length === 1) {
    $("person-details-said").textContent = "未改动任何信息";
    return;
  }
  await enqueue({ kind: "details", person: person.id, name: person.name, body });
  form.hidden = true;
  $("person-details-said").textContent = "";
  await showQueue();
  send();
}

async function leave(person, reason, li) {
  await enqueue({ kind: "departure", person: person.id, name: person.name, reason,
                  body: { reason, on: chinaDay(now()) } });
  li.remove();
  await showQueue();
  send();
}

async function visit(household, address) {
  const fix = phone.position || {};
  await enqueue({ kind: "visit", address, body: {
    household_id: household, lon: fix.lon, lat: fix.lat, client_id: crypto.randomUUID(),
    visited_at: stamp() } });
  $("households").replaceChildren();
  showAddresses([]);
  await showQueue();
  send();
}

// ---- an organisation or place recorded where the worker stands (动态采集: a shop opened, a
// market set up), in the grid the service finds for it; or one already recorded near (listed
// under the form, so that none is recorded twice) corrected: renamed, of another kind, moved to
// where the worker stands, or closed (注销、停业). Sent with the queue. ----
const RECORDED_NEAR = { organisations: "mapsvc.organisations-near", places: "mapsvc.places-near" };
const CLOSED_NEAR = { organisations: "mapsvc.organisations-closed-near",  // 注销、停业
                      places: "mapsvc.places-closed-near" };

async function askCollecting() {
  const form = $("collecting");
  form.reset();
  delete form.dataset.correcting;
  form.elements.organisation_kind.replaceChildren(...Object.entries(ORGANISATION_KIND).map(
    ([kind, name]) => Object.assign(text("option", name), { value: kind })));
  collectingKind();
  form.hidden = false;
  form.elements.name.focus();
  if (!phone.position) return;
  const session = signedIn();
  const near = async (keys, asked = "") => (await Promise.all(Object.entries(keys).map(
    async ([layer, key]) => ((await listedNear(layer, key, asked)) || { features: [] })
      .features.map((f) => ({ layer, ...f.properties }))))).flat();
  const [open, closed] = await Promise.all([near(RECORDED_NEAR),
                                            near(CLOSED_NEAR, "&closed=true")]);
  if (signedIn() !== session) return;
  const named = (recorded) => `${recorded.name}（${recorded.layer === "organisations"
    ? ORGANISATION_KIND[recorded.kind] || recorded.kind : recorded.kind}）`;
  const item = (said, word, act) => {
    const li = text("li", said);
    const button = text("button", word, "act quiet");
    button.type = "button";
    button.addEventListener("click", act);
    li.appendChild(button);
    return li;
  };
  // those open, to correct; those closed (one closed by mistake, or open again), to reopen
  $("recorded-near").replaceChildren(
    ...open.map((recorded) => item(named(recorded), "更正", () => askCorrecting(recorded))),
    ...closed.map((recorded) => item(`${named(recorded)} · 已注销或停业`, "恢复",
                                     (event) => reopen(recorded, event.target.parentElement))));
}

async function reopen(recorded, li) {  // queued as any correction, with no signal too
  li.remove();
  await enqueue({ kind: "correct", layer: recorded.layer, id: recorded.id, name: recorded.name,
                  body: { closed: false } });
  await showQueue();
  send();
}

function askCorrecting(recorded) {  // the form filled with one recorded near, to correct
  const form = $("collecting");
  form.dataset.correcting = JSON.stringify({ layer: recorded.layer, id: recorded.id });
  form.elements.layer.value = recorded.layer;
  collectingKind();
  form.elements.name.value = recorded.name;
  form.elements[recorded.layer === "organisations" ? "organisation_kind" : "place_kind"].value =
    recorded.kind;
  form.elements.name.focus();
}

function collectingKind() {  // an organisation's kind chosen from the registry's, a place's typed
  const form = $("collecting");
  const given = form.elements;
  const organisation = given.layer.value === "organisations";
  const correcting = Boolean(form.dataset.correcting);
  Object.assign(given.organisation_kind, { hidden: !organisation, required: organisation });
  Object.assign(given.place_kind, { hidden: organisation, required: !organisation });
  given.layer.disabled = correcting;
  given.move.parentElement.hidden = given.closed.parentElement.hidden = !correcting;
  $("collecting-title").textContent = correcting ? "更正单位或场所" : "采集单位或场所（在当前位置）";
  form.querySelector("button[type=submit]").textContent = correcting ? "保存更正" : "采集";
  $("recorded-near").hidden = correcting;
}

async function collect(event) {
  event.preventDefault();
  const form = event.target;
  const given = form.elements;
  const correcting = form.dataset.correcting && JSON.parse(form.dataset.correcting);
  const fix = phone.position;
  const here = !correcting || given.move.checked;  // where the worker stands is asked for
  if (here && !fix) {
    $("result").textContent = "尚未定位，定位后再采集";
    return;
  }
  if (!form.reportValidity() || (here && fix.accuracy > ACCURACY_M &&
      !window.confirm(`定位精度约 ${Math.round(fix.accuracy)} 米，仍要以此为其位置吗？`))) return;
  const layer = given.layer.value;
  const name = given.name.value.trim();
  const body = { name, kind: layer === "organisations" ? given.organisation_kind.value
    : given.place_kind.value.trim() };
  if (here) body.point = { lon: fix.lon, lat: fix.lat };
  if (correcting && given.closed.checked) body.closed = true;  // off the lists, kept
  await enqueue(correcting ? { kind: "correct", layer, id: correcting.id, name, body }
    : { kind: "collect", layer, name, body: { ...body, client_id: crypto.randomUUID() } });
  form.reset();
  delete form.dataset.correcting;
  form.hidden = true;
  $("recorded-near").replaceChildren();
  await showQueue();
  send();
}

async function sendCollect(item) {
  const r = await post(`/registry/${item.layer}`, item.body);  // the same client id again: 200
  if (!r.ok) throw await refusal(r, item);
  const made = await r.json();
  $("result").textContent = `已采集：${item.name}（${made.grid_name || "未落入网格"}）`;
}

async function sendCorrection(item) {
  const r = await sent("PATCH", `/registry/${item.layer}/${item.id}`, item.body);  // again: same
  if (!r.ok) throw await refusal(r, item);
  const made = await r.json();
  $("result").textContent = made.closed_on ? `已注销或停业：${item.name}`
    : item.body.closed === false ? `已恢复：${item.name}（${made.grid_name || "未落入网格"}）`
    : `已更正：${item.name}（${made.grid_name || "未落入网格"}）`;
}

// ---- campaigns (专项排查): each thing of the worker's grids a campaign asks to be checked,
// listed until it is; a check waits in the queue as any other work; as last seen offline ----
const CAMPAIGNS = "mapsvc.campaigns";
const CAMPAIGN_THINGS = 200;  // listed of a campaign at a time, the rest once those are checked

async function loadCampaigns() {
  if (myRole() === "department") return;  // checks nothing
  const session = signedIn();
  try {
    const r = await ask(`${API}/campaigns`, authorised());
    if (!r.ok) throw new Error(r.statusText);
    const open = (await r.json()).filter((c) => !c.ended_at && c.checked < c.targets);
    const things = await Promise.all(open.map(async (c) => {
      const t = await ask(`${API}/campaigns/${c.id}/targets?result=none&limit=${CAMPAIGN_THINGS}`,
                          authorised());
      if (!t.ok) throw new Error(t.statusText);
      return (await t.json()).features;
    }));
    if (signedIn() !== session) return;
    localStorage.setItem(CAMPAIGNS, JSON.stringify(open.map((c, i) => ({ ...c,
                                                                         things: things[i] }))));
    await sendAgainReopened(open);
  } catch { /* offline: as last seen */ }
  showCampaigns();
}

// The checks refused because their campaign had ended, sent again once it runs again (the
// centre reopened it): the check was done, and is taken now.
async function sendAgainReopened(running) {
  const ids = new Set(running.map((c) => c.id));
  const again = (await queued()).filter((item) => item.ended && ids.has(item.campaign));
  for (const item of again) {
    delete item.failed;
    delete item.ended;
    await update(item);
  }
  if (again.length) send();
}

async function showCampaigns() {
  const campaigns = stored(CAMPAIGNS, []);
  const waiting = new Set((await queued()).filter((item) => item.kind === "check")
    .map((item) => `${item.campaign} ${item.body.target}`));
  $("campaigns-count").textContent = campaigns.length ? `${campaigns.length} 项进行中` : "";
  phone.campaignsNear = Boolean(phone.position);
  $("campaigns").replaceChildren(...campaigns.map((c) => {
    const li = document.createElement("li");
    li.dataset.campaign = c.id;
    const late = c.due < chinaDay(now()) ? "（已过截止日期）" : "";
    li.append(text("strong", c.title), text("p", `截止 ${c.due}${late} · 已排查 ${c.checked}/`
                                                 + `${c.targets}`), text("p", c.instructions));
    const list = document.createElement("ol");
    list.append(...nearestFirst(c.things.filter((f) => !waiting.has(`${c.id} ${f.id}`)))
      .map(([f, metres]) => campaignThing(c, f, metres)));
    li.appendChild(list);
    return li;
  }));
}

// Where a thing to check stands: its point, or the middle of its outline.
function standsAt(f) {
  if (f.geometry.type === "Point") return L.latLng(f.geometry.coordinates[1],
                                                   f.geometry.coordinates[0]);
  return L.geoJSON(f).getBounds().getCenter();
}

// Things to check, the nearest to the phone first, each with how far it is (in metres; none
// while the phone has no fix): the worker goes round them in that order.
function nearestFirst(things) {
  const here = phone.position && L.latLng(phone.position.lat, phone.position.lon);
  const far = things.map((f) => [f, here ? here.distanceTo(standsAt(f)) : null]);
  return here ? far.sort((a, b) => a[1] - b[1]) : far;
}

function distanceWords(metres) {
  return metres < 1000 ? `约 ${Math.round(metres / 10) * 10} 米`
    : `约 ${(metres / 1000).toFixed(1)} 公里`;
}

function campaignThing(c, f, metres) {
  // a component is told apart from others of its type by its id
  const name = c.layer === "things" ? `${f.properties.name} ${f.id}` : f.properties.name;
  const item = text("li", name);
  item.dataset.target = f.id;
  item.appendChild(text("small", [f.properties.grid_name,
                                  metres === null ? "" : distanceWords(metres)]
    .filter(Boolean).join(" · ")));
  const fine = text("button", "正常", "act");
  const hazard = text("button", "有隐患", "act hazard");
  const place = text("button", "位置", "act");
  for (const button of [fine, hazard, place]) button.type = "button";
  place.dataset.show = "place";
  fine.addEventListener("click", () => check(c, f, name, item, { result: "normal" }));
  hazard.addEventListener("click", () => askHazard(c, f, name, item));
  place.addEventListener("click", () => showOnMap(standsAt(f), name));
  item.append(fine, hazard, place);
  return item;
}

// A hazard's case: the class it is reported as, and what was found.
function askHazard(c, f, name, item) {
  if (item.querySelector("form.check")) return;
  const form = document.createElement("form");
  form.className = "check";
  const category = document.createElement("select");
  category.setAttribute("aria-label", "案件类别");
  category.required = true;
  category.replaceChildren(...[["", "选择案件类别"], ...(phone.categories || []).map(
    (k) => [k.code, k.path])].map(([code, path]) => {
    const option = text("option", path);
    option.value = code;
    return option;
  }));
  const note = document.createElement("textarea");
  Object.assign(note, { rows: 2, maxLength: 2000, required: true, placeholder: "发现的隐患" });
  note.setAttribute("aria-label", "发现的隐患");
  const sent = text("button", "上报隐患", "act hazard");
  const cancel = text("button", "取消", "act quiet");
  cancel.type = "button";
  cancel.addEventListener("click", () => form.remove());
  form.append(category, note, sent, cancel);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check(c, f, name, item, { result: "hazard", category: category.value,
                              note: note.value.trim() });
  });
  item.appendChild(form);
  note.focus();
}

async function check(c, f, name, item, said) {
  const fix = phone.position || {};
  await enqueue({ kind: "check", campaign: c.id, name, body: {
    client_id: crypto.randomUUID(), target: f.id, at: stamp(), lon: fix.lon, lat: fix.lat,
    ...said } });
  item.remove();
  await showQueue();
  send();
}

// ---- patrols (日常巡查): the positions walked between start and end, kept on the phone ----
const PATROL_STEP_M = 10;  // a position kept each time the worker is this far from the last
const patrolling = () => stored("mapsvc.patrol");

function trackLength(points) {
  let metres = 0;
  for (let i = 1; i < points.length; i += 1) {
    metres += L.latLng(points[i - 1][1], points[i - 1][0])
      .distanceTo(L.latLng(points[i][1], points[i][0]));
  }
  return metres;
}

function showPatrol() {
  const patrol = patrolling();
  $("patrol").textContent = patrol ? "结束巡查" : "开始巡查";
  $("patrol-state").textContent = patrol
    ? `巡查中：已走 ${Math.round(trackLength(patrol.points))} 米` : "";
  const line = (patrol ? patrol.points : []).map(([lon, lat]) => [lat, lon]);
  if (!phone.track && phone.map) {
    phone.track = L.polyline([], { color: "#2e7d32", weight: 4, interactive: false })
      .addTo(phone.map);
  }
  if (phone.track) phone.track.setLatLngs(line);
}

// a position from the phone, kept when a patrol is on and the worker has moved on (a fix
// worse than the phone's accuracy setting is left out)
function walked(lon, lat, accuracy) {
  const patrol = patrolling();
  if (!patrol || accuracy > ACCURACY_M) return;
  const last = patrol.points[patrol.points.length - 1];
  if (last && L.latLng(last[1], last[0]).distanceTo(L.latLng(lat, lon)) < PATROL_STEP_M) return;
  patrol.points.push([lon, lat]);
  localStorage.setItem("mapsvc.patrol", JSON.stringify(patrol));
  showPatrol();
}

// The worker's grids no patrol passed through lately, named under the patrol button and drawn
// dashed on the map: asked for with the grids, with the cases, and once a patrol is sent.
const PATROL_DUE_DAYS = 7;
const GRID_STYLE = { color: "#1565c0", weight: 2, fillOpacity: 0.05, dashArray: null };
const DUE_STYLE = { color: "#e65100", weight: 3, fillOpacity: 0.05, dashArray: "6 6" };

async function showPatrolDue() {
  if (myRole() === "department") return;  // no grids to patrol
  const session = signedIn();
  const r = await ask(`${API}/patrols/coverage?days=${PATROL_DUE_DAYS}`, authorised())
    .catch(() => null);
  if (!r || !r.ok) return;  // offline: as last seen
  const due = await r.json();
  if (signedIn() !== session) return;
  const listed = new Map(due.longest_unpatrolled.map((g) => [g.code, g]));
  phone.due = [...listed.keys()];
  if (phone.grids) {
    phone.grids.eachLayer((layer) => layer.setStyle(
      listed.has(layer.feature.properties.code) ? DUE_STYLE : GRID_STYLE));
  }
  const since = (g) => (g.last_patrolled
    ? `${Math.floor((now() - new Date(g.last_patrolled)) / 864e5)}天前` : "从未巡查");
  const names = [...listed.values()].map((g) => `${g.name}（${since(g)}）`).join("、");
  $("patrol-due").classList.toggle("done", due.unpatrolled === 0);
  $("patrol-due").textContent = due.grids === 0 ? ""
    : due.unpatrolled === 0 ? `所辖网格${PATROL_DUE_DAYS}天内均已巡查`
    : `${PATROL_DUE_DAYS}天未巡查 ${due.unpatrolled} 个网格：${names}`
      + (due.unpatrolled > listed.size ? " 等" : "");
}

// This month's own figures, as the centre's evaluation counts them (GET /stats answers a grid
// worker or chief their own, with the share of the cases filed in their grids that the public
// reported, 漏报率, their findings on verify tasks and checks on site made in time, 按时核实率
// and 按时核查率, and the four weighed together, 综合指标值, and the things of its campaigns due
// checked in time; a department its own); as last seen while offline.
const NONE = "—";  // a figure with nothing yet to count, as the evaluation's tables write it
async function showMonth() {
  const session = signedIn();
  const today = chinaDay(now());
  const r = await ask(`${API}/stats?from=${today.slice(0, 8)}01&to=${today}`, authorised())
    .catch(() => null);
  if (!r || !r.ok || signedIn() !== session) return;
  const { kind, figures: f, patrols, missed, verifies, checks, score, campaigns } = await r.json();
  const rate = (v) => (v == null ? NONE : `${(v * 100).toFixed(1)}%`);
  const figures = kind === "worker" ? [
    ["上报", `${f.reported} 件`], ["有效上报率", rate(f.valid_report_rate)],
    ["漏报率", rate(missed?.rate)], ["按时核实率", rate(verifies?.rate)],
    ["按时核查率", rate(checks?.rate)], ["综合指标值", score == null ? NONE : score.toFixed(1)],
    ["巡查", `${patrols.count} 次 ${patrols.km.toFixed(1)} 公里`],
    ["专项排查按期", campaigns.due ? `${campaigns.on_time}/${campaigns.due}` : NONE],
  ] : [
    ["派遣", `${f.dispatched} 件`], ["及时签收率", rate(f.on_time_accept_rate)],
    ["按时处置率", rate(f.on_time_handling_rate)], ["按期结案率", rate(f.on_time_closure_rate)],
    ["响应率", rate(f.response_rate)], ["超期在办", `${f.overdue_now} 件`],
  ];
  $("month").querySelector("h3").textContent = kind === "worker" ? "本月" : "本部门本月";
  $("month").querySelector("dl").replaceChildren(...figures.map(([name, value]) => {
    const figure = document.createElement("div");
    figure.append(text("dt", name), text("dd", value));
    return figure;
  }));
  $("month").hidden = false;
}

async function togglePatrol() {
  const patrol = patrolling();
  if (!patrol) {
    localStorage.setItem("mapsvc.patrol", JSON.stringify({
      client_id: crypto.randomUUID(), started_at: stamp(), points: [] }));
    if (phone.position) walked(phone.position.lon, phone.position.lat, phone.position.accuracy);
    $("result").textContent = "巡查开始：走过的路线记在手机上，结束后上报";
  } else {
    const waiting = endPatrol(patrol);
    if (!waiting) {
      $("result").textContent = "巡查太短，未记录";
    } else {
      await waiting;
      $("result").textContent = navigator.onLine ? "正在提交巡查…" : "无信号：巡查已存入待发送";
      await showQueue();
      send();
    }
  }
  showPatrol();
}

// A patrol ended, by hand or with the session, waits to be sent for the account that walked
// it, as a report does (null: too short to be one, dropped).
function endPatrol(patrol) {
  localStorage.removeItem("mapsvc.patrol");
  return patrol.points.length < 2 ? null
    : enqueue({ kind: "patrol", body: { ...patrol, ended_at: stamp() } });
}

// ---- signing in ----
// The session's cookie dropped, and its token for the pages it opened (with no signal, the
// cookie lapses with its token)
function closeSession() {
  sessionStorage.removeItem("mapsvc.token");
  fetch(`${API}/auth/session`, { method: "DELETE" }).catch(() => null);
}

function signOut() {
  const walking = patrolling();
  if (walking) endPatrol(walking);  // the walk so far kept, sent once its account signs in
  // the worker's grids, cases, reports and campaigns and the households, addresses,
  // organisations and places near go with the session: the next to sign in on this phone may
  // be another, working other grids (mapsvc.people-near: where pages before v22 kept them)
  for (const key of ["mapsvc.token", "mapsvc.user", "mapsvc.role", "mapsvc.cases",
                     "mapsvc.unseen", "mapsvc.patrol", HOUSEHOLDS_NEAR, ADDRESSES_NEAR,
                     ...Object.values(RECORDED_NEAR), ...Object.values(CLOSED_NEAR), REPORTS,
                     CAMPAIGNS, MY_GRIDS,
                     "mapsvc.people-near"]) {
    localStorage.removeItem(key);
  }
  unseen.clear();
  phone.cases = null;
  phone.casesShown = (phone.casesAsked || 0) + 1;  // an answer on its way was for that session
  $("cases").replaceChildren();
  drop("grids");
  drop("placeMark");
  $("patrol-due").textContent = "";
  $("month").hidden = true;
  $("month").querySelector("dl").replaceChildren();
  $("cases-count").textContent = "";
  $("households").replaceChildren();
  $("reports").replaceChildren();
  $("reports-count").textContent = "";
  $("campaigns").replaceChildren();
  $("campaigns-count").textContent = "";
  showAddresses([]);
  $("report").reset();  // what was being typed of a report, and its photos
  phone.reportPhotos.clear();
  $("newcomer").reset();  // of a newcomer, or of a member's details
  $("newcomer").hidden = true;
  $("person-details").reset();
  $("person-details").hidden = true;
  $("collecting").reset();  // and of an organisation or place, with those near
  $("collecting").hidden = true;
  $("recorded-near").replaceChildren();
  showPatrol();  // none going on
  $("app").hidden = true;
  $("login").hidden = false;
}

// Signing out by hand (a phone shared between shifts): what waits to be sent, and a patrol
// going on, which signing out ends, stay for the account that made them, the worker told so.
function signOutByHand() {
  const walking = patrolling();
  const waiting = (phone.queued || 0) + (walking ? 1 : 0);
  if (waiting && !window.confirm(`有 ${waiting} 项待发送${walking ? "（含进行中的巡查）" : ""}，`
                                 + "将在你再次登录后发送。确定退出吗？")) {
    return;
  }
  closeSession();  // of the pages opened from here too
  signOut();
}

// The accounts the phone serves: those who report, follow cases and walk the grids (a
// centre's and an administrator's too); a planner's and an auditor's work is on a computer.
const PHONE_ROLES = ["grid_worker", "grid_chief", "department", "command", "admin"];

async function signIn(event) {
  event.preventDefault();
  const fields = new FormData(event.target);
  const say = (words) => { $("login-error").textContent = words; };
  // a session as the pages' (their cookie too): the pages the phone links to open in it
  const r = await posted(event.target, `${API}/auth/session`, fields, say, STALL_S);
  if (!r) return;
  heard(r);
  if (!r.ok) {
    say(refusedSignIn(r, fields.get("username"), "/m/"));
    return;
  }
  const { access_token: token, role } = await r.json();
  if (!PHONE_ROLES.includes(role)) {  // nothing here to do: its pages are on a computer
    closeSession();
    say(`${ROLE_NAME[role] || role}账号不使用手机端，请在电脑上打开 ${location.origin}/map/`);
    return;
  }
  localStorage.setItem("mapsvc.token", token);
  localStorage.setItem("mapsvc.user", fields.get("username").trim());
  localStorage.setItem("mapsvc.role", role);
  start();
}

// The service's settings for the phone (the sign-in's wait is one): as last seen as the page
// opens, and as the service has them once it answers (with no signal: as last seen).
function configure(config) {
  ACCURACY_M = config.accuracy_m || ACCURACY_M;
  REFRESH_S = config.refresh_seconds || REFRESH_S;
  STALL_S = config.stall_seconds || STALL_S;
  return config;
}
const keptConfig = () => stored("mapsvc.config", {});
configure(keptConfig());
const configured = fetch("/m/config.json").then((r) => r.json()).then((config) => {
  localStorage.setItem("mapsvc.config", JSON.stringify(config));
  return config;
}).catch(keptConfig).then(configure);

// The deployment's basemap, when it has one, under the grids (the tiles shown are kept for use
// with no signal, by the service worker, sw.js)
function showBasemap({ basemap }) {
  if (!basemap || phone.basemap) return;
  const { url, attribution, subdomains, gcj02 } = basemap;
  phone.basemap = L.tileLayer(url, { attribution, subdomains, gcj02 }).addTo(phone.map);
}

function start() {
  // the pages it links to (案件处置, 人口台账, 考核评价…), opened in this tab, find its token
  // where their sign-in keeps it
  sessionStorage.setItem("mapsvc.token", localStorage.getItem("mapsvc.token"));
  configured.then((config) => {
    showBasemap(config);
    if (!phone.following) setTimeout(followCases, REFRESH_S * 1000);
    phone.following = true;
  });
  $("login").hidden = true;
  $("app").hidden = false;
  $("signed-in-as").textContent = `已登录：${me()}`;
  // the pages of those who work here: a department's desk (its office's), a grid chief's
  // grids' people and campaigns, and their evaluation; a department's own
  const role = myRole();
  $("to-desk").hidden = role !== "department";
  for (const link of ["to-people", "to-units", "to-campaigns"]) {
    $(link).hidden = role !== "grid_chief";
  }
  $("to-stats").hidden = !["grid_chief", "department"].includes(role);
  // a department handles the cases dispatched to it: it neither reports, nor visits, nor
  // patrols, and has no reports of its own to follow
  for (const el of document.querySelectorAll(".field")) el.hidden = role === "department";
  startMap();
  showMyGrids();
  showPatrol();  // a patrol going on goes on after a reload
  loadCategories();
  showQueue();
  keepStorage();
  loadCases();
  showMonth();
  send();
  householdsAtPlate();
  loadCampaigns();
}

$("login").addEventListener("submit", signIn);
phone.reportPhotos = photoBox("拍照");
phone.reportPhotos.querySelector("input").id = "photos";
$("on-spot").parentNode.before(phone.reportPhotos);
$("report").addEventListener("submit", report);
$("visit").addEventListener("click", nearbyHouseholds);
window.addEventListener("hashchange", householdsAtPlate);
$("my-reports").addEventListener("click", showReports);
$("new-household").querySelector("button").addEventListener("click", askNewHousehold);
$("newcomer").addEventListener("submit", registerNewcomer);
$("newcomer").elements.id_number.addEventListener("input", (e) => checkIdNumber(e.target));
$("newcomer-cancel").addEventListener("click", () => { $("newcomer").hidden = true; });
$("person-details").addEventListener("submit", correctDetails);
$("person-details-cancel").addEventListener("click", () => {
  $("person-details").hidden = true;
});
$("patrol").addEventListener("click", togglePatrol);
$("collect").addEventListener("click", askCollecting);
$("collecting").addEventListener("submit", collect);
$("collecting").elements.layer.addEventListener("change", collectingKind);
$("collecting-cancel").addEventListener("click", () => { $("collecting").hidden = true; });
$("sign-out").addEventListener("click", signOutByHand);
$("category-search").addEventListener("input", (e) => pickCategories(e.target.value.trim()));
$("category").addEventListener("change", guide);
window.addEventListener("online", () => { reception(""); send(); });
window.addEventListener("offline", () => reception("无信号"));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible" || !signedIn()) return;
  loadCases();
  loadCampaigns();  // one the centre made since
});
setInterval(send, 15000);
// Browsers locate a phone and keep a page for use offline on secure pages alone (https, or
// this very machine): opened otherwise, the worker is told why neither works.
$("insecure").hidden = window.isSecureContext;
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" })
    .then(() => navigator.serviceWorker.ready).then(() => { phone.offlineReady = true; });
  navigator.serviceWorker.addEventListener("message", ({ data }) => {
    if ("tilesKept" in data) phone.tilesKept = data.tilesKept;
  });
}
if (signedIn()) start(); else signOut();
