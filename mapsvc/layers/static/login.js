// The sign-in page: signs in (the pages' session, its cookie, and the token pages that change
// data send) and goes on to the page asked for, or the role's own.
"use strict";

const say = (words) => { document.getElementById("error").textContent = words; };
document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await posted(e.target, "/api/v1/auth/session", new FormData(e.target), say);
  if (!r) return;
  const next = new URLSearchParams(location.search).get("next") || "";
  if (!r.ok) {
    say(refusedSignIn(r, e.target.elements.username.value, next || "/map/"));
    return;
  }
  // pages that change data (the desk, the planner's) send it as a bearer token: the
  // cookie only reads
  sessionStorage.setItem("mapsvc.token", (await r.json()).access_token);
  // on to the page asked for, with what its address asked of it (the desk's view, a case,
  // a grid's door plates), or else the role's page
  location.assign(/^\/map\/[\w\/-]*(\?[\w=&%.-]*)?$/.test(next) ? next + location.hash
                                                                : "/map/");
});
