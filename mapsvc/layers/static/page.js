// What the signed-in map pages (the desk, the planner's, the pages of tables) share: the token
// their sign-in at /map/login kept, calls to the API with it, elements that hold text, never
// markup, and how a file refused whole or by its lines is said.
"use strict";

// Whether the page has its token; if not, it goes to the sign-in page, and on to /map/{page}
// with what its address asked of it (after #).
function signedIn(page) {
  if (sessionStorage.getItem("mapsvc.token")) return true;
  location.assign(`/map/login?next=/map/${page}${location.hash}`);
  return false;
}

// A new client id (a UUID, version 4) for what is to be stored once however often it is sent:
// crypto.randomUUID on a secure page (HTTPS, the machine itself), else from random bytes.
function clientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;  // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80;  // the RFC 4122 variant
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
          hex.slice(20)].join("-");
}

function text(tag, value, className) {
  const el = document.createElement(tag);
  el.textContent = value == null ? "" : String(value);
  if (className) el.className = className;
  return el;
}

// A department (as GET /api/v1/departments lists it) as the pages name it: with the region it
// serves where that is not ``own`` (a desk's region) and its name does not say it
// (城市管理和综合执法局（城区）).
function departmentName(d, own = null) {
  return d.region && d.region.code !== own && !d.name.includes(d.region.name)
    ? `${d.name}（${d.region.name}）` : d.name;
}

// A call to the API with ``body`` as JSON (or a form's data, files and all): the answer's
// JSON, or an Error with the reason the service gave (and its status, the field at fault and
// the answer), or why none came. A session that has ended goes back to
// the sign-in page.
async function callApi(page, method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem("mapsvc.token")}` };
  const sent = body === undefined || body instanceof FormData ? body : JSON.stringify(body);
  if (typeof sent === "string") headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: sent })
    .catch(() => { throw new Error("未能连上服务，请检查网络后再试"); });
  if (r.status === 503) {  // the database restarting: to be sent again shortly
    const error = new Error("服务暂时连不上数据库，请稍后再试");
    error.status = r.status;
    throw error;
  }
  if (r.status === 401) {
    location.assign(`/map/login?next=/map/${page}`);
    throw new Error("请重新登录");
  }
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) {
    const detail = data && data.detail;
    const error = new Error(Array.isArray(detail) ? detail.map((d) => d.msg).join("；")
                                                  : detail || r.statusText);
    error.status = r.status;
    error.field = Array.isArray(detail) && detail[0] && detail[0].loc.slice(-1)[0];
    error.answer = data;  // a refusal's own answer (a file's lines at fault, say)
    throw error;
  }
  return data;
}

// A file's line at fault in the words of every page that imports one, by its rule (``ctx``);
// null for a rule of the page's own.
function rowRule(ctx) {
  return {
    empty: "未填写", repeated: `与第 ${ctx.line} 行重复`, printable: "含不可打印的字符",
    longest: `超过 ${ctx.most} 个字`, number: "不是数字",
    range: `须在 ${ctx.low} 至 ${ctx.high} 之间`,
    one_of: `须为 ${(ctx.values || []).join("、")} 之一`,
  }[ctx.rule] || null;
}

// A whole file's refusal (``error``, callApi's) in the pages' words, by its rule, the columns
// it lacks named by ``column``; null for one with none.
function fileWords(error, column) {
  const said = error.answer && Array.isArray(error.answer.detail) && error.answer.detail[0];
  const ctx = (said && said.ctx) || {};
  return {
    format: "须为 CSV 或 Excel 文件（.csv、.xlsx、.xls）",
    unreadable: "文件无法读取（已损坏、未传完，或不是其扩展名所说的格式）",
    encoding: "CSV 文件须为 UTF-8 或 GBK 编码",
    columns: `缺少列 ${(ctx.columns || []).map(column).join("、")}`,
  }[ctx.rule] || null;
}
