// What the sign-in forms (the map pages', the phone's, the password page's) make of a refused
// sign-in: a password an administrator set leads to changing it; else what to say.
"use strict";

// Too many wrong passwords for the name lately (429): for how long, as the user reads it.
function heldBack(response) {
  return `登录失败次数过多，请 ${Math.ceil(response.headers.get("Retry-After") / 60)} 分钟后再试`;
}

// A sign-in that did not go through: one with a password an administrator set (403) goes to
// the password page, the account named, and back to ``next`` after; for the others, what to
// say under the form.
function refusedSignIn(response, username, next) {
  if (response.status === 403) {
    location.assign("/map/password?" + new URLSearchParams({ next, user: username, first: "1" }));
    return "";
  }
  return response.status === 429 ? heldBack(response) : "账号或密码不对";
}

// A sign-in form's ``fields`` sent: the answer, or null when none came (no signal, the service
// down, or no answer within ``stall`` seconds: a weak signal may stall with no error), the
// user told so through ``say``. Its button waits meanwhile: a second tap sends nothing more.
async function posted(form, url, fields, say, stall = 20) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  say("");
  try {
    return await fetch(url, { method: "POST", body: new URLSearchParams(fields),
                              credentials: "same-origin",
                              signal: AbortSignal.timeout(stall * 1000) });
  } catch {
    say("未能连上服务，请检查网络后再试");
    return null;
  } finally {
    button.disabled = false;
  }
}
