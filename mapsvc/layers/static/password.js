// The password page: an account changes its own password, then signs in again with it.
"use strict";

// Back to where the user came from: the phone (/m/) or a map page, never elsewhere.
const asked = new URLSearchParams(location.search);
const next = asked.get("next") || "";
const back = /^\/m\/$/.test(next) ? next
  : /^\/map\/[\w\/-]*$/.test(next) ? `/map/login?next=${next}` : "/map/login";
document.getElementById("back").href = back;
const form = document.getElementById("password");
// sent here by a sign-in with a password an administrator set
document.getElementById("first").hidden = asked.get("first") !== "1";
form.elements.username.value = asked.get("user") || "";
const say = (words) => { document.getElementById("error").textContent = words; };
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const fields = new FormData(form);
  if (fields.get("new_password") !== fields.get("again")) {
    say("两次输入的新密码不一致");
    return;
  }
  fields.delete("again");
  const r = await posted(form, "/api/v1/auth/password", fields, say);
  if (!r) return;
  if (r.status === 204) {
    // signed out everywhere: this browser's sessions (the pages', the phone's) end too
    await fetch("/api/v1/auth/session", { method: "DELETE" }).catch(() => null);
    sessionStorage.removeItem("mapsvc.token");
    localStorage.removeItem("mapsvc.token");
    form.replaceChildren(Object.assign(document.createElement("h1"), {
      textContent: "密码已修改，请用新密码重新登录" }), document.getElementById("back"));
    return;
  }
  say(r.status === 429 ? heldBack(r)
    : r.status === 401 ? "账号或原密码不对"
    : r.status === 422 ? "新密码不符合要求：" + document.getElementById("rule").textContent
      + "，且不能与原密码相同"
    : `未能修改（HTTP ${r.status}）`);
});
