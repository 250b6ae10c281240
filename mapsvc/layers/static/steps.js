// How the pages tell a step of a case's timeline, in the names of names.js (served from
// mapsvc.workflow.machine) and the times of times.js, where a case is, which steps an account
// may take on a case, and offer the common notes of a step being taken. Text a user typed (a
// step's note) is set as text.
"use strict";

// Where the case ``p`` (its document) is: the names of its regions from the one below a region
// of ``kind`` (the page's own: a city, a county …; any other kind, all of them) down to ``to``
// (its village, or its township where its grid is named next), as a Chinese address reads
const PLACE_LEVELS = ["city", "county", "township", "village"];
function casePlace(p, kind = null, to = "village") {
  return PLACE_LEVELS.slice(PLACE_LEVELS.indexOf(kind) + 1, PLACE_LEVELS.indexOf(to) + 1)
    .map((level) => p[level] && p[level].name).filter(Boolean).join(" ");
}

// an action's condition on a case (mapsvc.workflow.machine.CONDITIONS), read from its document
const HOLDS = { requested: (p) => !!p.extension_request,
                extendable: (p) => p.extensions < EXTENSIONS_MOST, suspended: (p) => p.suspended,
                running: (p) => !p.suspended, ordinary: (p) => !p.urgent_at,
                counted: (p) => !p.exempted_at,
                appealable: (p) => !p.exempted_at && !p.exemption_requested_at,
                appealed: (p) => !!p.exemption_requested_at, exempted: (p) => !!p.exempted_at };

// whether an account of ``role`` may take ``action`` on the case ``p`` (its document): by its
// role, the case's state and the action's condition, as the service judges it
function mayTake(action, p, role) {
  const a = ACTIONS[action];
  return a.roles.includes(role) && a.from.includes(p.status) && (!a.when || HOLDS[a.when](p));
}

// where a step moved the case (relocated, or its grid redrawn): the grid before and after
function stepMove(step) {
  const { from, to } = step.data || {};
  if (!from || !to) return "";
  const grid = (place) => place.code || "未入格";
  return `（${grid(from)} → ${grid(to)}）`;
}

// the class a step put the case in (reclassified), after the one it was in
function stepClass(step) {
  const { category } = step.data || {};
  return category && category.from ? `（${category.from.name} → ${category.to.name}）` : "";
}

// what the caller answered at a follow-up (回访): the rating, and whether it was resolved, if
// asked
const RESOLVED = { true: "已解决", false: "未解决" };
function stepAnswer(step) {
  const { satisfaction, resolved } = step.data || {};
  if (!satisfaction) return "";
  return `（满意度 ${satisfaction}${resolved in RESOLVED ? ` · ${RESOLVED[resolved]}` : ""}）`;
}

// when a step sent after the fact came, if a minute or more after it was taken (``full``: its
// time in full, as on paper)
function stepLate(step, full = false) {
  const received = step.received_at && new Date(step.received_at);
  if (!received || received - new Date(step.at) < 60000) return "";
  return `（${localTime(received, full)} 送达）`;
}

// a step of a case's timeline in one line: when, what and who
function stepLine(step, full = false) {
  const what = ACTION_NAME[step.action] || step.action;
  const when = localTime(step.at, full);
  return `${when} ${what}${stepMove(step)}${stepClass(step)}${stepAnswer(step)} · ${step.actor}`
    + stepLate(step, full);
}

// a photo of a step: its thumbnail, a link to the photo itself. Pages signed in with the
// session cookie read them as they are; the phone, whose token goes in a header, fetches them.
function stepPhoto(id) {
  const link = document.createElement("a");
  link.href = `/api/v1/media/${id}`;
  link.target = "_blank";
  const image = document.createElement("img");
  Object.assign(image, { src: `${link.href}/thumbnail`, alt: "现场照片", loading: "lazy" });
  link.appendChild(image);
  return link;
}

// when and where a step's photo was taken, as far as it is known
function photoCaption(attachment, full = false) {
  const when = attachment.taken_at ? `${localTime(attachment.taken_at, full)} 拍摄`
                                   : "拍摄时间不明";
  const where = attachment.distance_m == null ? "拍摄位置不明"
                                              : `距案件 ${attachment.distance_m} 米`;
  return `${when} · ${where}`;
}

// a step as an item of a case's timeline: its line, its note and its photos under it (each
// made by ``photo`` from its id), each with when and where it was taken; its times in full
// (``full``) on paper
function stepItem(step, photo = stepPhoto, full = false) {
  const item = document.createElement("li");
  item.textContent = stepLine(step, full);
  if (step.note) {
    const note = document.createElement("p");
    note.textContent = step.note;
    item.appendChild(note);
  }
  if (step.attachments && step.attachments.length) {
    const photos = document.createElement("div");
    photos.className = "step-photos";
    photos.append(...step.attachments.map((attachment) => {
      const figure = document.createElement("figure");
      const caption = document.createElement("figcaption");
      caption.textContent = photoCaption(attachment, full);
      figure.append(photo(attachment.id), caption);
      return figure;
    }));
    item.appendChild(photos);
  }
  return item;
}

// the common notes (常用语) of ``action``, each a button putting it in ``note`` to send or edit
function phraseButtons(phrases, note) {
  return phrases.map((phrase) => {
    const pick = document.createElement("button");
    Object.assign(pick, { type: "button", className: "phrase", textContent: phrase });
    pick.addEventListener("click", () => {
      note.value = phrase;
      note.dispatchEvent(new Event("input"));
      note.focus();
    });
    return pick;
  });
}
