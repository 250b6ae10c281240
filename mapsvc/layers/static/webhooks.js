// The webhooks (推送订阅), for administrators: another system told of each step of the cases
// it follows (a region's, a department's, some steps, sources or classes), made here with a secret
// shown once and tried with a test batch; listed with how their sending goes (failing since
// when, what the receiver said, what waits), changed in the same form, paused and resumed,
// tried again at once, given a new secret, and removed; one's batches looked at; the record of
// who made and changed them. Everything shown is set as text: a name or an answer is what
// somebody typed or sent.
"use strict";

window.mapsvcWebhooks = { shown: null, recorded: null };

(function webhooksPage() {
  if (!signedIn("webhooks")) return;
  const $ = (id) => document.getElementById(id);
  const FIELD = { name: "名称", url: "推送地址", region: "区域", department: "部门编码",
                  actions: "环节", sources: "来源", categories: "类别编码", id: "推送" };
  const classNames = {};  // category code → name, for what a webhook follows
  const creating = $("webhooks-new");
  const REFRESH_MS = 10000;
  const RECORDED = 50;
  const EVENT_NAME = { made: "新建", changed: "修改", paused: "暂停", resumed: "恢复",
                       new_secret: "更换密钥", removed: "删除", resent: "重新推送" };
  let editing = null;  // the webhook the form changes; null: the form makes one

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

  // a value of what a webhook follows, in words (none: all of them)
  function followed(field, value) {
    if (value == null) return "全部";
    const names = { actions: ACTION_NAME, sources: SOURCE_NAME, categories: classNames }[field];
    return Array.isArray(value) ? value.map((v) => (names && names[v]) || v).join("、")
                                : String(value);
  }

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
    acts.push(["修改", () => edit(w)], ["测试推送", () => ping(w)],
              ["推送记录", () => showBatches(w)],
              ["更换密钥", () => newSecret(w)], ["删除", () => remove(w)]);
    tr.appendChild(actions(acts));
    return tr;
  }

  const list = pagedList({
    page: "webhooks", id: "webhooks", unit: "个", path: () => "/api/v1/webhooks",
    show: (found) => {
      $("webhooks").tBodies[0].replaceChildren(...found.map(row));
      $("webhooks-none").hidden = found.length > 0;
      showRecord().catch((error) => say(error.message, true));
    },
    watched: window.mapsvcWebhooks, fields: FIELD });

  // what an event of the record changed, in words
  function detail(e) {
    const d = e.detail;
    if (e.event === "changed") {
      return Object.keys(FIELD).filter((field) => d[field]).map((field) => {
        const { from, to } = d[field];
        return field === "name" || field === "url" ? `${FIELD[field]}：${from} → ${to}`
          : `${FIELD[field]}：${followed(field, from)} → ${followed(field, to)}`;
      }).join("；");
    }
    if (e.event === "made") return `推送到 ${d.url}`;
    if (e.event === "resent") return `批次 ${d.delivery} 重新推送为批次 ${d.as}`;
    if (e.event === "removed") {
      return d.dropped ? `未送达的 ${d.dropped} 批（${d.dropped_steps} 个环节）一并删除` : "";
    }
    return "";
  }

  async function showRecord() {
    const found = await callApi("webhooks", "GET", `/api/v1/webhooks/events?limit=${RECORDED}`);
    $("webhooks-record").querySelector("tbody").replaceChildren(...found.map((e) => {
      const tr = document.createElement("tr");
      for (const value of [localTime(e.at), e.name, e.by, EVENT_NAME[e.event], detail(e)]) {
        tr.appendChild(text("td", value));
      }
      return tr;
    }));
    window.mapsvcWebhooks.recorded = found.length;
  }

  // the form changes ``w`` (null: makes a webhook again); a region not chosen is kept
  function edit(w) {
    editing = w;
    creating.reset();
    regionPicked.reset();
    $("webhooks-secret").hidden = true;
    $("webhooks-cancel").hidden = !w;
    creating.querySelector("button[type=submit]").textContent = w ? `保存对 ${w.name} 的修改`
                                                                 : "新建推送";
    const kept = $("webhooks-region-kept");
    kept.hidden = !w;
    if (!w) return;
    kept.textContent = `当前：${w.region ? w.region.name : "全部辖区"}，不选则不变`;
    const fields = creating.elements;
    fields.name.value = w.name;
    fields.url.value = w.url;
    fields.department.value = w.department ? w.department.code : "";
    fields.categories.value = (w.categories || []).join(" ");
    for (const option of fields.actions.options) {
      option.selected = Boolean(w.actions && w.actions.includes(option.value));
    }
    for (const box of creating.querySelectorAll("[name=sources]")) {
      box.checked = Boolean(w.sources && w.sources.includes(box.value));
    }
    fields.name.focus();
  }
  $("webhooks-cancel").addEventListener("click", () => edit(null));

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
      await list.load();
      say(`已更换 ${w.name} 的密钥`);
    } catch (error) {
      say(error.message, true);
    }
  }

  async function remove(w) {
    if (!confirm(`删除 ${w.name}？尚未送达的 ${w.waiting} 批将不再推送`)) return;
    if (await list.change("DELETE", `/api/v1/webhooks/${w.id}`, undefined,
                          `已删除 ${w.name}`)) {
      $("webhooks-batches").hidden = true;
      if (editing && editing.id === w.id) edit(null);
    }
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
      tr.dataset.batch = b.id;
      for (const value of [b.resent_from ? `${b.id}（重发批次 ${b.resent_from}）` : b.id,
                           localTime(b.queued_at), b.steps, b.attempts,
                           b.last_at ? localTime(b.last_at) : "", answer,
                           b.delivered_at ? localTime(b.delivered_at) : "未送达"]) {
        tr.appendChild(text("td", value));
      }
      // one taken sent again (its receiver lost it): queued behind those waiting
      tr.appendChild(b.delivered_at ? actions([["重新推送", () => resendBatch(w, b)]])
                                    : document.createElement("td"));
      return tr;
    }));
    $("webhooks-batches").hidden = false;
  }

  // a refusal of the form's values, said naming the field (a class unknown: which)
  function refused(error) {
    const named = error.answer && Array.isArray(error.answer.detail) && error.answer.detail[0];
    const missing = named && named.ctx && named.ctx.missing;
    say(missing ? `${FIELD[error.field]}不存在：${missing.join("、")}`
      : FIELD[error.field] ? `${FIELD[error.field]}：${error.message}` : error.message, true);
  }

  async function resendBatch(w, b) {
    try {
      const copy = await callApi("webhooks", "POST",
                                 `/api/v1/webhooks/${w.id}/deliveries/${b.id}/resend`);
      await list.load();
      await showBatches(w);
      say(`已将批次 ${b.id} 重新排队推送给 ${w.name}（批次 ${copy.id}）`);
    } catch (error) {
      say(error.message, true);
    }
  }

  creating.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const region = areaRegion($("webhooks-region"));
    const department = form.elements.department.value.trim();
    const classes = form.elements.categories.value.split(/[\s,，、]+/).filter(Boolean);
    const chosen = [...form.elements.actions.selectedOptions].map((o) => o.value);
    const sources = [...form.querySelectorAll("[name=sources]:checked")].map((b) => b.value);
    // what it follows: on a change, what is left blank follows all (the region: is kept)
    const body = { name: form.elements.name.value.trim(), url: form.elements.url.value.trim(),
                   department: department || null, categories: classes.length ? classes : null,
                   actions: chosen.length ? chosen : null,
                   sources: sources.length ? sources : null };
    if (region) body.region = region;
    const changed = editing;
    let done;
    try {
      done = changed
        ? await callApi("webhooks", "PATCH", `/api/v1/webhooks/${changed.id}`, body)
        : await callApi("webhooks", "POST", "/api/v1/webhooks", { client_id: clientId(),
                                                                  ...body });
    } catch (error) {
      refused(error);
      return;
    }
    edit(null);
    if (!changed) showSecret(done.secret);
    await list.load();
    say(changed ? `已修改 ${done.name}，此后的环节按修改后的设置推送`
                : `已新建 ${done.name}，此后的环节即推送到 ${done.url}`);
  });

  list.find(new URLSearchParams());
  setInterval(list.load, REFRESH_MS);  // how the sending goes, as it goes
})();
