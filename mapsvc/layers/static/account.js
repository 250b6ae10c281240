// Signing out of a map page (the wall, the desk, the planner's): the session's cookie and
// token dropped, and the phone page's in this browser (a grid chief come from it), then back to
// the sign-in page. Any element marked data-sign-out does it. And links to the desk that keep
// the session.
"use strict";

// A link to the desk asking it for ``asked`` (#…: a case, a view), opened in a tab of its own
// in this page's session: a tab opened apart from its opener starts with no token, and would
// send the user to sign in again.
function deskLink(words, asked, className) {
  const link = document.createElement("a");
  link.textContent = words;
  if (className) link.className = className;
  Object.assign(link, { href: `/map/desk#${asked}`, target: "_blank", rel: "opener" });
  return link;
}

document.addEventListener("click", async (event) => {
  if (!event.target.closest("[data-sign-out]")) return;
  await fetch("/api/v1/auth/session", { method: "DELETE" }).catch(() => null);
  sessionStorage.removeItem("mapsvc.token");
  localStorage.removeItem("mapsvc.token");  // the phone page, opened next, forgets its account
  location.assign("/map/login");
});
