// Signing out of a map page (the wall, the desk, the planner's): the session's cookie and
// token dropped, then back to the sign-in page. Any element marked data-sign-out does it.
"use strict";

document.addEventListener("click", async (event) => {
  if (!event.target.closest("[data-sign-out]")) return;
  await fetch("/api/v1/auth/session", { method: "DELETE" }).catch(() => null);
  sessionStorage.removeItem("mapsvc.token");
  location.assign("/map/login");
});
