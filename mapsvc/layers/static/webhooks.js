// The webhooks (推送订阅), for administrators: another system told of each step of the cases
// it follows (a region's, a department's, some steps, sources or classes), made here with a secret
// shown once and tried with a test batch; listed with how their sending goes (failing since
// when, what the receiver said, what waits), paused and resumed, tried again at once, given a
// new secret, and removed; one's batches looked at. Everything shown is set as text: a name
// or an answer is what somebody typed or sent.
"use strict";

window.mapsvcWebhooks = { shown: null };

(function webhooksPage() {
  if (!signedIn("webhooks")) return;
  const $ = (id) => document.getElementById(id);
  const FIELD = { name: "名称", url: "推送地址", region: "区域", department: "部门编码",
                  actions: "环节", sources: "来源", categories: "类别编码", id: "推送" };
  const classNames = {};  // category code → name, for what a webhook follows
  const creating = $("webhooks-new");
  const REFRESH_MS = 10000;

  for (const [action, name] of Object.entries(ACTION_NAME)) {
    const option = text("option", name);
    option.value = action;
    creating.elements.actions.appendChild(option);
  }
  for (const [source, name] of Object.entries(SOURCE_NAME)) {
    const label = text("label", ` ${name}`, "check");
    const box = document.createElement("input");
    Object.assign(box, { type: "checkbox", name: "sources", value: source });
    label.prepend(box);
    $("webhooks-sources").appendChild(label);
  }
  callApi("webhooks", "GET", "/api/v1/categories").then((tree) => {
    for (const c of tree) classNames[c.code] = c.name;
    list.load();  // the classes named in what each webhook follows
  }).catch((error) => say(error.message, true));
  offerDepartments("webhooks", $("webhooks-department-list"))
    .catch((error) => say(error.message, true));
  const regionPicked = areaPicker($("webhooks-region"), creating.dataset, {
    page: "webhooks", lowest: "village", chosen: () => {} });

  // what a webhook follows, in words
  function scope(w) {
    const parts = [w.region ? w.region.name : "全部辖区"];
    if (w.department) parts.push(`派遣给${w.department.name}的案件`);
    if (w.sources) parts.push(`来源：${w.sources.map((s) => SOURCE_NAME[s] || s).join("、")}`);
    if (w.categories) {
      parts.push(`类别：${w.categories.map((c) => classNames[c] || c).join("、")}`);
    }
    parts.push(w.actions ? `环节：${w.actions.map((a) => ACTION_NAME[a] || a).join("、")}`
                         : "全部环节");
    return parts.join("；");
  }

  function state(w) {
    if (w.paused) return `已暂停（${localTime(w.paused_at)} 起，新环节仍排队）`;
    if (w.failing_since) {
      return `推送失败（${localTime(w.failing_since)} 起）：${w.last_error}` +
        (w.retry_at ? `；${localTime(w.retry_at)} 重试` : "");
    }
    return "正常";
  }

  function row(w) {
    const tr = document.createElement("tr");
    tr.dataset.webhook = w.id;
    const waiting = w.waiting ? `${w.waiting} 批（${w.waiting_steps} 个环节），` +
      `最早 ${localTime(w.waiting_since)}` : "无";
    for (const value of [w.name, w.url, scope(w), state(w), waiting,
                         w.last_delivered_at ? localTime(w.last_delivered_at) : "尚未送达"]) {
      tr.appendChild(text("td", value));
    }
    const path = `/api/v1/webhooks/${w.id}`;
    const acts = [w.paused
      ? ["恢复", () => list.change("PATCH", path, { paused: false }, `已恢复 ${w.name}`)]
      : ["暂停", () => list.change("PATCH", path, { paused: true },
                                   `已暂停 ${w.name}，恢复后从最早的一批接着推送`)]];
    if (w.failing_since && !w.paused) {
      acts.push(["立即重试", () => list.change("POST", `${path}/retry`, undefined,
                                            `已让 ${w.name} 立即重试`)]);
    }
    acts.push(["测试推送", () => ping(w)], ["推送记录", () => showBatches(w)],
              ["更换密钥", () => newSecret(w)], ["删除", () => remove(w)]);
    tr.appendChild(actions(acts));
    return tr;
  }

  const list = pagedList({
    page: "webhooks", id: "webhooks", unit: "个", path: () => "/api/v1/webhooks",
    show: (found) => {
      $("webhooks").tBodies[0].replaceChildren(...found.map(row));
      $("webhooks-none").hidden = found.length > 0;
    },
    watched: window.mapsvcWebhooks, fields: FIELD });

  function showSecret(secret) {
    $("webhooks-secret-value").textContent = secret;
    $("webhooks-secret").hidden = false;
  }

  // a test batch sent now: whether the address and the secret work
  async function ping(w) {
    try {
      const answer = await callApi("webhooks", "POST", `/api/v1/webhooks/${w.id}/ping`);
      say(answer.error ? `测试推送未被接收：${answer.error}`
                       : `测试推送已送达 ${w.name}（HTTP ${answer.status}）`, Boolean(answer.error));
    } catch (error) {
      say(error.message, true);
    }
  }

  async function newSecret(w) {
    if (!confirm(`更换 ${w.name} 的密钥？对接系统须改用新密钥核验签名`)) return;
    try {
      showSecret((await callApi("webhooks", "POST", `/api/v1/webhooks/${w.id}/secret`)).secret);
      say(`已更换 ${w.name} 的密钥`);
    } catch (error) {
      say(error.message, true);
    }
  }

  async function remove(w) {
    if (!confirm(`删除 ${w.name}？尚未送达的 ${w.waiting} 批将不再推送`)) return;
    if (await list.change("DELETE", `/api/v1/webhooks/${w.id}`, undefined,
                          `已删除 ${w.name}`)) $("webhooks-batches").hidden = true;
  }

  async function showBatches(w) {
    let found;
    try {
      found = await callApi("webhooks", "GET", `/api/v1/webhooks/${w.id}/deliveries?limit=100`);
    } catch (error) {
      say(error.message, true);
      return;
    }
    $("webhooks-batches-title").textContent = `${w.name} 的推送记录（最近 100 批）`;
    $("webhooks-batches").querySelector("tbody").replaceChildren(...found.map((b) => {
      const tr = document.createElement("tr");
      const answer = b.last_error || (b.last_status ? `HTTP ${b.last_status}` : "");
      for (const value of [b.id, localTime(b.queued_at), b.steps, b.attempts,
                           b.last_at ? localTime(b.last_at) : "", answer,
                           b.delivered_at ? localTime(b.delivered_at) : "未送达"]) {
        tr.appendChild(text("td", value));
      }
      return tr;
    }));
    $("webhooks-batches").hidden = false;
  }

  creating.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { client_id: clientId(), name: form.elements.name.value.trim(),
                   url: form.elements.url.value.trim() };
    const region = areaRegion($("webhooks-region"));
    const department = form.elements.department.value.trim();
    const classes = form.elements.categories.value.split(/[\s,，、]+/).filter(Boolean);
    const chosen = [...form.elements.actions.selectedOptions].map((o) => o.value);
    const sources = [...form.querySelectorAll("[name=sources]:checked")].map((b) => b.value);
    if (region) body.region = region;
    if (department) body.department = department;
    if (chosen.length) body.actions = chosen;
    if (sources.length) body.sources = sources;
    if (classes.length) body.categories = classes;
    let made;
    try {
      made = await callApi("webhooks", "POST", "/api/v1/webhooks", body);
    } catch (error) {
      const named = error.answer && Array.isArray(error.answer.detail) && error.answer.detail[0];
      const missing = named && named.ctx && named.ctx.missing;
      say(missing ? `${FIELD[error.field]}不存在：${missing.join("、")}`
        : FIELD[error.field] ? `${FIELD[error.field]}：${error.message}` : error.message, true);
      return;
    }
    showSecret(made.secret);
    form.reset();
    regionPicked.reset();
    await list.load();
    say(`已新建 ${made.name}，此后的环节即推送到 ${made.url}`);
  });

  list.find(new URLSearchParams());
  setInterval(list.load, REFRESH_MS);  // how the sending goes, as it goes
})();
