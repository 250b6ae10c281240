// A basemap drawn in GCJ-02 (AMap's, Tencent's: a tile layer with the option ``gcj02``) lies
// where the map's layers (WGS84) do: its tiles are fetched about the map's middle as GCJ-02
// gives it, and drawn shifted back by the offset there (gcoord's). The offset changes by at
// most 0.7 % of the way from the middle, so its tiles lie at most about 7 pixels off in the
// corners of a 1920 × 1080 wall, 3 on a phone; it is taken anew wherever the map comes to
// rest.
"use strict";

// where a GCJ-02 basemap shows the place at ``latlng`` (WGS84)
function gcj02(latlng) {
  const [lng, lat] = gcoord.transform([latlng.lng, latlng.lat], gcoord.WGS84, gcoord.GCJ02);
  return L.latLng(lat, lng);
}

L.TileLayer.addInitHook(function shiftGcj02() {
  if (!this.options.gcj02) return;
  const drawn = L.TileLayer.prototype;
  this._getTiledPixelBounds = (center) => drawn._getTiledPixelBounds.call(this, gcj02(center));
  this._setZoomTransform = (level, center, zoom) =>
    drawn._setZoomTransform.call(this, level, gcj02(center), zoom);
  this._onMoveEnd = () => {
    drawn._onMoveEnd.call(this);
    if (this._map && !this._map._animatingZoom) {
      this._setZoomTransforms(this._map.getCenter(), this._map.getZoom());
    }
  };
});
