// How the map pages move their map, which regions within a region they show and where they
// write a region's name on it. Leaflet drops a view asked for while it draws a zoom (a quarter
// of a second, as right after a region was framed or the wheel turned): asked for through
// here, it is set once the zoom ends, the last one asked for.
"use strict";

// The zoom buttons named in Chinese (as their tips show it and a screen reader reads it)
if (window.L) L.Control.Zoom.mergeOptions({ zoomInTitle: "放大", zoomOutTitle: "缩小" });

// The query (GET /api/v1/regions) of the regions of ``level`` within the region ``code``;
// with no code, within the whole deployment: its top regions, its cities and its counties of
// no city, each going on by its own level.
function regionsWithin(code, level) {
  return new URLSearchParams(code ? { level, parent: code, limit: 1000 }
                                  : { top: true, limit: 1000 });
}

// ``map``'s mover: a function taking a change of view (a function that sets it).
function viewMover(map) {
  let zooming = false;
  let next = null;
  map.on("zoomanim", () => { zooming = true; });
  map.on("zoomend", () => {
    zooming = false;
    const change = next;
    next = null;
    if (change) change();
  });
  return (change) => {
    if (zooming) next = change;
    else change();
  };
}

// ``layer`` (a region's, of ``feature``) with its name written in the middle of its largest
// part (its ``label``, as the service finds it, the centre of the widest circle within it, of
// radius ``label_radius``), not of its first part, as Leaflet would: at times an island off
// the coast; and framed, when a map shows it, by its largest part and the parts near it (its
// ``frame``), not by islands or reefs far off its coast.
function placed(layer, feature) {
  const { label, label_radius: radius, frame } = feature.properties;
  if (label) layer.getCenter = () => L.latLng(label[1], label[0]);
  if (radius) layer.labelRadius = radius;
  if (frame) layer.getBounds = () => L.latLngBounds([frame[1], frame[0]], [frame[3], frame[2]]);
  return layer;
}

// The box of a name's letters: as wide as its words, as high as its font, whatever room its
// line leaves above and below them (a marker's words are its span, set about its anchor).
function lettersOf(label) {
  const words = label.firstElementChild || label;
  const box = words.getBoundingClientRect();
  const half = parseFloat(getComputedStyle(words).fontSize) / 2;
  const middle = (box.top + box.bottom) / 2;
  return { left: box.left, right: box.right, top: middle - half, bottom: middle + half };
}
const NAME_GAP_PX = 4;  // the least room between two names' letters: closer, they read as one

// Region names kept apart on ``map``: of the names ``labels()`` gives (each a region's layer
// and its label, an element on the map), each whose letters would come nearer those of a
// larger region's than NAME_GAP_PX is moved, up, down or to a side, within the widest circle
// round its label point inside its region (placed) to where they would not, or, with no such
// place, hidden (class ``crowded``, views.css) until a zoom gives it room; never written over
// another. Done in the frame after a move or zoom ends (a view asked for as one ends has then
// begun), a name is placed anew or has glided to its place, or its size changes (its font's
// glyphs arrived: its width is its own), and when the function returned is called (as the
// regions are drawn).
function namesApart(map, labels) {
  const extent = (layer) => {
    const b = layer.getBounds();
    return (b.getEast() - b.getWest()) * (b.getNorth() - b.getSouth());
  };
  // how far a name may move from its label point, in pixels at the map's zoom: most of the
  // radius of the circle within its region (in degrees: on the map, an ellipse; its shorter
  // half-axis)
  const room = (layer) => {
    if (!layer.labelRadius) return 0;
    const c = layer.getCenter(), r = layer.labelRadius;
    const at = map.latLngToContainerPoint(c);
    return 0.9 * Math.min(at.distanceTo(map.latLngToContainerPoint([c.lat + r, c.lng])),
                          at.distanceTo(map.latLngToContainerPoint([c.lat, c.lng + r])));
  };
  const moves = (reach) => [[0, 0], ...[0.5, 1].flatMap((part) => [[0, -1], [0, 1], [-1, 0], [1, 0]]
    .map(([x, y]) => [Math.round(x * part * reach), Math.round(y * part * reach)]))];
  const shifted = (box, [x, y]) => ({ left: box.left + x, right: box.right + x,
                                      top: box.top + y, bottom: box.bottom + y });
  let asked = false;
  const soon = () => {
    if (asked) return;
    asked = true;
    requestAnimationFrame(() => {
      asked = false;
      apart();
    });
  };
  const resized = new ResizeObserver(soon);  // a name's glyphs arrived: its width its own
  // (whatever placed it: Leaflet places a label anew as it opens or updates it)
  const placedAnew = new MutationObserver(soon);
  for (const pane of ["tooltipPane", "markerPane"]) {
    placedAnew.observe(map.getPane(pane), { subtree: true, attributeFilter: ["style"] });
    map.getPane(pane).addEventListener("transitionend", soon);
  }
  const apart = () => {
    const kept = [];
    const covers = (box) => kept.some((k) => k.left - NAME_GAP_PX < box.right
                                             && box.left - NAME_GAP_PX < k.right
                                             && k.top - NAME_GAP_PX < box.bottom
                                             && box.top - NAME_GAP_PX < k.bottom);
    const named = labels().filter(([, label]) => label)
      .map(([layer, label]) => [extent(layer), layer, label]).sort((a, b) => b[0] - a[0]);
    for (const [, layer, label] of named) {
      resized.observe(label);
      // its words moved by a translation of their own (Leaflet places the label itself)
      const words = label.firstElementChild || label;
      const now = [Number(words.dataset.movedX || 0), Number(words.dataset.movedY || 0)];
      const at = shifted(lettersOf(label), [-now[0], -now[1]]);  // at its label point
      const move = moves(room(layer)).find((m) => !covers(shifted(at, m)));
      // (a class, not the element's own visibility, which Leaflet sets as it updates a label)
      label.classList.toggle("crowded", !move);
      const [x, y] = move || [0, 0];
      if (x !== now[0] || y !== now[1]) {  // (written only when changed: it is observed)
        Object.assign(words.dataset, { movedX: x, movedY: y });
        words.style.translate = x || y ? `${x}px ${y}px` : "";
      }
      if (move) kept.push(shifted(at, move));
    }
  };
  map.on("zoomend moveend viewreset", soon);
  return soon;
}
