"""Vector tiles decoded as a map client would: features and their properties, zoom policy,
ETag and 304, heat and bin counts that add up to the incidents in the tile, jurisdiction."""

import asyncio
import itertools
import json
import math
import uuid
from datetime import datetime, timedelta

import mapbox_vector_tile
import morecantile
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import mapping
from sqlalchemy import text

from tests.conftest import PASSWORD
from tests.test_patrols import _patrol

TMS = morecantile.tms.get("WebMercatorQuad")
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


def _url(collection, tile):
    return f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"


def _root(client, path: str) -> str:
    """``path`` on the server's root (the clients speak to /api/v1)."""
    return str(client.base_url.join(path))


def _get(client, collection, tile, **params):
    r = client.get(_root(client, _url(collection, tile)), params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return r


def _features(client, collection, tile, **params) -> list[dict]:
    layers = mapbox_vector_tile.decode(_get(client, collection, tile, **params).content)
    return layers.get(collection, {"features": []})["features"]


def _report(client, lon, lat, category="0601", description="井盖缺失", **more) -> int:
    r = client.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": category,
                                        "lon": lon, "lat": lat, "description": description,
                                        **more})
    assert r.status_code == 201
    return r.json()["id"]


# A case counted here as open (not closed) and as overdue (red, the way its own JSON shows it).
_OPEN = "i.status NOT IN ('closed', 'evaluated', 'self_resolved', 'rejected', 'void')"
_OVERDUE = "coalesce(incident_colour(i) = 'red', false)"


# the bins of a tile a side: the low-zoom incidents', and the heat's, twice as wide
SIDE = {"incidents": 64, "heat": 32}


def _incidents_by_bin(db, tile, where: str = "true", side: int = SIDE["incidents"],
                     **params) -> dict[tuple[int, int], tuple[int, int, int]]:
    """Incidents (those matching ``where``) whose point lies in the tile, counted here per bin
    (``side`` a side, column from the west, row from the south): pyproj for the projection,
    morecantile for the tile's bounds (left and lower edges inside, of the tile and of each
    bin). Each bin's cases, open cases (not closed) and overdue cases (red, the way a case's
    own JSON shows it)."""
    bounds = TMS.xy_bounds(tile)
    width = (bounds.right - bounds.left) / side
    with db.connect() as conn:
        rows = conn.execute(text(f"SELECT ST_X(geom), ST_Y(geom), {_OPEN}, {_OVERDUE} "
                                 f"FROM incident i WHERE {where}"), params).all()
    bins: dict[tuple[int, int], tuple[int, int, int]] = {}
    for lon, lat, is_open, overdue in rows:
        x, y = TO_MERCATOR.transform(lon, lat)
        if bounds.left <= x < bounds.right and bounds.bottom <= y < bounds.top:
            at = math.floor((x - bounds.left) / width), math.floor((y - bounds.bottom) / width)
            cases, opened, late = bins.get(at, (0, 0, 0))
            bins[at] = cases + 1, opened + is_open, late + overdue
    return bins


def _drawn_bins(features, *properties, side: int = SIDE["incidents"]) -> dict:
    """Each bin where the tile draws it (its south-west corner, in bins of ``side`` a side, of
    the tile's 4096 units) with its ``properties``."""
    return {tuple(c // (4096 // side) for c in min(f["geometry"]["coordinates"][0])):
            tuple(f["properties"][p] for p in properties) for f in features}


def test_a_grid_tile_carries_each_grid_with_its_backlog_and_coverage(clients, lattice):
    admin = clients["admin"]
    cx, cy = lattice.X0 + 0.5 * lattice.STEP, lattice.Y0 + 0.5 * lattice.STEP  # cell (0, 0)
    tile = TMS.tile(cx, cy, 15)
    code = lattice.cell_code(0, 0)
    before = {f["properties"]["code"]: f["properties"] for f in _features(admin, "grids", tile)}
    assert code in before and before[code]["name"] == "测试网格001"
    _report(admin, cx, cy)
    after = {f["properties"]["code"]: f["properties"] for f in _features(admin, "grids", tile)}
    assert after[code]["open"] == before[code]["open"] + 1
    assert after[code]["recent"] == before[code]["recent"] + 1
    assert (after[code]["households"], after[code]["visited"]) == (0, 0)
    grid = next(f for f in _features(admin, "grids", tile) if f["properties"]["code"] == code)
    assert grid["geometry"]["type"] == "Polygon"


def test_a_grid_tile_names_the_grids_active_workers_as_they_change(clients, lattice, db):
    from mapsvc.accounts.model import Role
    from mapsvc.accounts.store import create_account
    from mapsvc.db.engine import in_transaction
    from tests.conftest import run

    admin = clients["admin"]
    x, y = lattice.X0 + 2.5 * lattice.STEP, lattice.Y0 + 2.5 * lattice.STEP  # cell (2, 2)
    code, tile = lattice.cell_code(2, 2), TMS.tile(x, y, 15)
    visits = iter(range(100, 366))  # a query of its own each time: drawn afresh, not cached

    def workers() -> str | None:
        features = _features(admin, "grids", tile, visit_days=next(visits))
        return next(f for f in features if f["properties"]["code"] == code)["properties"].get(
            "workers")

    assert workers() is None

    async def hire(conn):
        for username, role, name in (("tile_worker_b", Role.grid_worker, "乙网格员"),
                                     ("tile_worker_a", Role.grid_worker, "甲网格员"),
                                     ("tile_chief", Role.grid_chief, "网格长")):
            await create_account(conn, username, PASSWORD, role, grid_codes=[code],
                                 display_name=name, origin="tests")

    run(in_transaction(hire))
    assert workers() == "乙网格员、甲网格员"  # grid workers only, in name order
    with db.begin() as conn:
        conn.execute(text("UPDATE account SET active = false WHERE username = 'tile_worker_b'"))
        conn.execute(text("UPDATE account SET display_name = '甲' WHERE username = 'tile_worker_a'"))
    assert workers() == "甲"
    with db.begin() as conn:
        conn.execute(text("UPDATE account SET display_name = '' WHERE username = 'tile_worker_a'"))
    assert workers() == "tile_worker_a"  # a worker with no name: by their username
    with db.begin() as conn:
        conn.execute(text("DELETE FROM account_grid WHERE account_id IN "
                          "(SELECT id FROM account WHERE username = 'tile_worker_a')"))
    assert workers() is None


def test_a_grid_tile_shows_a_grids_name_and_kind_as_a_boundary_import_changes_them(
        clients, lattice, tmp_path):
    """Re-imported under a new name and as a dedicated grid, with its geometry unchanged, a
    grid shows so at every zoom: in the tiles drawn ahead (11 to 15) as in those clipped when
    asked (16); and its figures are still given to a command centre of its region only."""
    from mapsvc.accounts.model import Account, Role
    from mapsvc.boundaries.reading import FieldNames, read_boundaries
    from mapsvc.boundaries.store import import_boundaries
    from mapsvc.db.engine import in_transaction
    from mapsvc.db.reads import Reads
    from mapsvc.settings import TileSettings
    from mapsvc.tiles.layers import COLLECTIONS, TileQuery
    from mapsvc.tiles.service import TileService
    from tests.conftest import run

    x, y = lattice.X0 + 2.5 * lattice.STEP, lattice.Y0 + 1.5 * lattice.STEP  # cell (2, 1)
    code = lattice.cell_code(2, 1)
    visits = iter(range(100, 366))  # a query of its own each time: drawn afresh, not cached

    def shown() -> dict[int, tuple]:
        by_zoom = {}
        for z in range(11, 17):
            features = _features(clients["admin"], "grids", TMS.tile(x, y, z),
                                 visit_days=next(visits))
            p = next(f["properties"] for f in features if f["properties"]["code"] == code)
            by_zoom[z] = p["name"], p["kind"]
        return by_zoom

    def imported(name: str, kind: str) -> None:
        path = tmp_path / f"{kind}.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": mapping(lattice.cells()[code]),
            "properties": {"code": code, "name": name, "parent_code": lattice.VILLAGE,
                           "kind": kind}}]}))
        run(in_transaction(lambda conn: import_boundaries(
            conn, read_boundaries(path, "grid", fields=FieldNames()))))

    assert set(shown().values()) == {("测试网格006", "comprehensive")}
    imported("更名测试网格", "dedicated")
    try:
        assert set(shown().values()) == {("更名测试网格", "dedicated")}

        async def counted(account) -> dict[int, bool]:
            async with Reads() as reads:
                service = TileService(TileSettings(), reads)
                out = {}
                for z in range(11, 17):
                    tile = TMS.tile(x, y, z)
                    body = (await service.tile(COLLECTIONS["grids"], z, tile.x, tile.y,
                                               TileQuery(), account)).body
                    grids = mapbox_vector_tile.decode(body)["grids"]["features"]
                    out[z] = "open" in next(f["properties"] for f in grids
                                            if f["properties"]["code"] == code)
                return out

        for region, sees in ((lattice.COUNTY, True), (lattice.WEST_COUNTY, False)):
            centre = Account(id=0, username="centre", role=Role.command, region_code=region)
            assert set(run(counted(centre)).values()) == {sees}
    finally:
        imported("测试网格006", "comprehensive")
    assert set(shown().values()) == {("测试网格006", "comprehensive")}


def test_a_grids_coverage_shows_in_its_tile_at_once_under_a_new_etag(clients, area, db):
    """A household's visit, a new address in another grid, then a house of the grid moved to
    that address: each gives the grid's tile a new ETag, and it shows the grid's coverage."""
    admin = clients["admin"]
    a, _ = area
    x, y = a.at(1.5, 0.5)  # grid B
    tile = TMS.tile(x, y, 15)

    def grid_b(answer) -> tuple[int, int]:
        features = mapbox_vector_tile.decode(answer.content)["grids"]["features"]
        shown = next(f["properties"] for f in features if f["properties"]["code"] == a.code("B"))
        return shown["households"], shown["visited"]

    for _ in range(2):  # its ETag names the clock's minute: once more if one just turned
        first = _get(admin, "grids", tile)
        again = admin.get(str(first.url), headers={"If-None-Match": first.headers["etag"]})
        if again.status_code == 304:
            break
    assert again.status_code == 304 and grid_b(first) == (3, 0)
    changes = [
        ("INSERT INTO visit (household_id, account_id, at) "
         "SELECT h.id, (SELECT min(id) FROM account), now() FROM household h "
         "JOIN house ho ON ho.id = h.house_id JOIN address ad ON ad.id = ho.address_id "
         "WHERE ad.county_code = :county AND ad.full_text = '规划路B1号'", (3, 1)),
        ("INSERT INTO address (full_text, county_code, geom, grid_id, assignment) "
         "SELECT '规划路A2号', county_code, geom, grid_id, assignment FROM address "
         "WHERE county_code = :county AND full_text = '规划路A1号'", (3, 1)),
        ("UPDATE house SET address_id = (SELECT id FROM address WHERE county_code = :county "
         "AND full_text = '规划路A2号') WHERE address_id = (SELECT id FROM address "
         "WHERE county_code = :county AND full_text = '规划路B2号')", (1, 1)),
    ]
    answer = first
    for change, shown in changes:
        with db.begin() as conn:
            conn.execute(text(change), {"county": a.county})
        etag = answer.headers["etag"]
        answer = admin.get(str(first.url), headers={"If-None-Match": etag})
        assert answer.status_code == 200 and answer.headers["etag"] != etag
        assert grid_b(answer) == shown


def _patrolled(worker, ended: datetime, points: list) -> dict:
    """A patrol of ``points`` that ended at ``ended``, an hour long, sent by ``worker``."""
    r = worker.post("/patrols", json=_patrol(points, ended=ended))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_grid_tile_says_how_many_days_each_grid_has_gone_unpatrolled(clients, area):
    """Grids never patrolled carry no figure; a patrol that ended three days and an hour ago
    gives its grids 3, under a new ETag, and one that ends now 0. A patrol sent late, from
    before the last, leaves the figure as it was."""
    admin, a = clients["admin"], area[0]
    tile = TMS.tile(*a.at(1.5, 0.5), 15)

    def unpatrolled() -> dict:  # each grid as the tile holding its middle draws it
        shown = {}
        for i, name in enumerate("ABC"):
            drawn = _features(admin, "grids", TMS.tile(*a.at(i + 0.5, 0.5), 15))
            shown[name] = next(f["properties"] for f in drawn
                               if f["properties"]["code"] == a.code(name)).get("patrol_days")
        return shown

    def patrol(ended: datetime, *cells: float) -> None:
        _patrolled(clients["worker"], ended, [a.at(i, 0.5) for i in cells])

    now = datetime.now().astimezone()
    assert unpatrolled() == {"A": None, "B": None, "C": None}
    before = _get(admin, "grids", tile).headers["etag"]
    patrol(now - timedelta(days=3, hours=1), 0.2, 0.8)  # A alone
    assert _get(admin, "grids", tile).headers["etag"] != before
    assert unpatrolled() == {"A": 3, "B": None, "C": None}
    patrol(now, 0.5, 1.5)  # from A into B
    assert unpatrolled() == {"A": 0, "B": 0, "C": None}
    patrol(now - timedelta(days=5), 1.5, 2.5)  # sent late, from B into C
    assert unpatrolled() == {"A": 0, "B": 0, "C": 5}


def test_patrol_tiles_draw_the_tracks_of_the_window_to_those_who_may_read_them(clients,
                                                                                area):
    """Today's tracks, or all of them; each with its walker, length and times, under a new
    ETag once another is stored; drawn for its walker and the centres over it, not for a
    grid chief of other grids nor a department."""
    a = area[0]
    tile = TMS.tile(*a.at(1, 0.5), 15)
    now = datetime.now().astimezone().replace(microsecond=750_000)  # times in whole seconds

    def patrol(ended: datetime) -> dict:
        return _patrolled(clients["worker"], ended, [a.at(0.5, 0.5), a.at(1.5, 0.5)])

    def drawn(who: str, **params) -> dict[int, dict]:
        return {f["properties"]["id"]: f
                for f in _features(clients[who], "patrols", tile, **params)}

    earlier, before = patrol(now - timedelta(days=1, hours=1)), _get(clients["admin"], "patrols",
                                                                     tile, window="today")
    today = patrol(now)
    shown = drawn("admin", window="today")
    assert _get(clients["admin"], "patrols", tile, window="today").headers["etag"] != (
        before.headers["etag"])
    assert list(shown) == [today["id"]]
    assert set(drawn("admin")) == {earlier["id"], today["id"]}
    track = shown[today["id"]]
    assert track["geometry"]["type"] == "LineString"
    assert track["properties"] == {
        "id": today["id"], "worker": "worker",
        "length_m": round(today["properties"]["length_m"]),
        "started_at": int((now - timedelta(hours=1)).timestamp()),
        "ended_at": int(now.timestamp())}
    assert set(drawn("worker", window="today")) == {today["id"]}
    assert set(drawn("city", window="today")) == {today["id"]}
    assert drawn("chief") == {} and drawn("department") == {}


def _late_closed_and_open(admin, db, x, y) -> None:
    """Three cases reported at (x, y): one overdue in handling, one closed, one just reported."""
    late, closed = _report(admin, x, y), _report(admin, x, y)
    _report(admin, x, y)
    with db.begin() as conn:
        conn.execute(text("UPDATE incident SET status = 'dispatched', handling_deadline = "
                          "now() - interval '1 hour' WHERE id = :id"), {"id": late})
        conn.execute(text("UPDATE incident SET status = 'closed' WHERE id = :id"),
                     {"id": closed})


def test_each_grids_backlog_in_a_tile_is_its_open_overdue_and_recent_cases(clients, lattice,
                                                                           db):
    admin = clients["admin"]
    cx, cy = lattice.X0 + 1.5 * lattice.STEP, lattice.Y0 + 0.5 * lattice.STEP  # cell (1, 0)
    tile = TMS.tile(cx, cy, 14)
    _late_closed_and_open(admin, db, cx, cy)
    with db.connect() as conn:
        expected = {row.code: (row.open, row.overdue, row.recent) for row in conn.execute(text(
            f"SELECT g.code, count(i.id) FILTER (WHERE {_OPEN}) AS open, "
            f"count(i.id) FILTER (WHERE {_OVERDUE}) AS overdue, "
            "count(i.id) FILTER (WHERE i.reported_at > now() - interval '30 days') AS recent "
            "FROM grid g LEFT JOIN incident i ON i.grid_id = g.id GROUP BY g.code"))}
    drawn = {f["properties"]["code"]: (f["properties"]["open"], f["properties"]["overdue"],
                                       f["properties"]["recent"])
             for f in _features(admin, "grids", tile)}
    assert drawn[lattice.cell_code(1, 0)][1] >= 1
    assert drawn == {code: expected[code] for code in drawn}


def test_zoom_policy_and_tilejson(clients, lattice):
    admin = clients["admin"]
    tile = TMS.tile(lattice.X0, lattice.Y0, 10)
    assert _features(admin, "grids", tile) == []  # grids from zoom 11
    meta = admin.get(_root(admin, "/ogc/collections/grids/tiles/WebMercatorQuad/tilejson.json")
                     ).json()
    assert meta["minzoom"] == 11 and meta["tiles"][0].endswith("/grids/tiles/WebMercatorQuad/"
                                                               "{z}/{x}/{y}")
    assert "open" in meta["vector_layers"][0]["fields"]
    tms = admin.get(_root(admin, "/ogc/tileMatrixSets/WebMercatorQuad")).json()
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) >= 23
    counties = _features(admin, "counties", TMS.tile(115.37, 22.78, 7))
    assert "441502" in {f["properties"]["code"] for f in counties}
    cities = _features(admin, "cities", TMS.tile(115.37, 22.78, 5))
    assert {"code": "4415", "name": "汕尾市"} in [f["properties"] for f in cities]


def test_an_unchanged_tile_answers_304_and_a_change_gives_a_new_etag(clients, lattice):
    admin = clients["admin"]
    x, y = lattice.X0 + 1.5 * lattice.STEP, lattice.Y0 + 0.5 * lattice.STEP
    tile = TMS.tile(x, y, 15)
    for _ in range(2):  # its ETag names the clock's minute: once more if one just turned
        first = _get(admin, "incidents", tile)
        etag = first.headers["etag"]
        again = admin.get(str(first.url), headers={"If-None-Match": etag})
        if again.status_code == 304:
            break
    assert again.status_code == 304 and again.content == b""
    _report(admin, x, y)
    changed = admin.get(str(first.url), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_a_tile_drawn_while_a_change_is_uncommitted_is_drawn_anew_once_it_commits(clients,
                                                                                  lattice, db):
    """A village renamed: its tile asked for between the change written and its commit is
    drawn without it (the revision it moved on already read); once committed, the tile shows
    the new name, not the one drawn in that moment, kept under that revision."""
    from tests.test_webhooks import waited

    admin = clients["admin"]
    tile = TMS.tile(lattice.X0 + 1.5 * lattice.STEP, lattice.Y0 + 1.5 * lattice.STEP, 12)

    def names() -> set[str]:
        return {f["properties"]["name"] for f in _features(admin, "villages", tile)}

    assert "测试村" in names()
    renamed = f"测试村{uuid.uuid4().hex[:4]}"
    try:
        with db.connect() as conn:
            with conn.begin():
                conn.execute(text("UPDATE region SET name = :n WHERE code = :c"),
                             {"n": renamed, "c": lattice.VILLAGE})
                assert "测试村" in names()  # drawn in the moment: without the change
        assert waited(lambda: renamed in names(), seconds=30)
    finally:
        with db.begin() as conn:
            conn.execute(text("UPDATE region SET name = '测试村' WHERE code = :c"),
                         {"c": lattice.VILLAGE})


def test_incident_points_at_street_zoom_carry_state_but_no_typed_text(clients, lattice):
    admin = clients["admin"]
    x, y = lattice.X0 + 2.5 * lattice.STEP, lattice.Y0 + 1.5 * lattice.STEP
    case = _report(admin, x, y, description="<script>alert(1)</script>")
    tile = TMS.tile(x, y, 16)
    found = {f["id"]: f["properties"] for f in _features(admin, "incidents", tile)}
    assert found[case] == {"status": "reported", "category": "0601"}  # colour null: no clock
    assert all("description" not in p for p in found.values())


def test_an_open_urgent_case_is_marked_urgent_in_its_tile(clients, lattice):
    admin = clients["admin"]
    x, y = lattice.X0 + 3.5 * lattice.STEP, lattice.Y0 + 2.5 * lattice.STEP
    case, other = _report(admin, x, y), _report(admin, x, y)
    tile = TMS.tile(x, y, 16)

    def drawn() -> dict:
        return {f["id"]: f["properties"] for f in _features(admin, "incidents", tile)}

    assert "urgent" not in drawn()[case]
    r = admin.post(f"/incidents/{case}/actions/expedite", json={"note": "燃气泄漏"})
    assert r.status_code == 200
    assert drawn()[case]["urgent"] is True and "urgent" not in drawn()[other]
    admin.post(f"/incidents/{case}/actions/void", json={"note": "误报"})
    assert drawn()[case] == {"status": "void", "category": "0601"}  # closed: urgent no more


@pytest.mark.parametrize("collection,z", [("heat", 9), ("heat", 13), ("incidents", 12)])
def test_each_bin_counts_the_incidents_in_it(clients, lattice, db, collection, z):
    admin = clients["admin"]
    x, y = lattice.X0 + 0.5 * lattice.STEP, lattice.Y0 + 2.5 * lattice.STEP
    _report(admin, x, y)
    tile = TMS.tile(x, y, z)
    bins = _features(admin, collection, tile)
    assert bins and all(f["geometry"]["type"] == "Polygon" for f in bins)
    for f in bins:
        ring = f["geometry"]["coordinates"][0]
        # an exterior ring: positive area with the tile's y down, so negative as decoded (y up)
        assert sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring)) < 0
    side = SIDE[collection]
    assert _drawn_bins(bins, "count", side=side) == {
        at: (cases,) for at, (cases, _, _) in _incidents_by_bin(db, tile, side=side).items()}


def test_incident_bins_carry_their_open_and_overdue_cases(clients, lattice, db):
    admin = clients["admin"]
    x, y = lattice.X0 + 1.5 * lattice.STEP, lattice.Y0 + 1.5 * lattice.STEP
    _late_closed_and_open(admin, db, x, y)
    tile = TMS.tile(x, y, 12)
    drawn = _drawn_bins(_features(admin, "incidents", tile), "count", "open", "overdue")
    assert any(late >= 1 for _, _, late in drawn.values())
    assert any(cases > opened for cases, opened, _ in drawn.values())
    assert drawn == _incidents_by_bin(db, tile)
    # the open cases alone (the wall's view), and the overdue ones
    for status, where in (("open", _OPEN), ("overdue", _OVERDUE)):
        shown = _drawn_bins(_features(admin, "incidents", tile, status=status),
                            "count", "open", "overdue")
        assert shown and shown == _incidents_by_bin(db, tile, where)


def test_heat_follows_its_window_and_category(clients, lattice):
    admin = clients["admin"]
    x, y = lattice.X0 + 1.5 * lattice.STEP, lattice.Y0 + 2.5 * lattice.STEP
    tile = TMS.tile(x, y, 13)

    def total(**params):
        return sum(f["properties"]["count"] for f in _features(admin, "heat", tile, **params))

    before = {"today": total(window="today"), "08": total(category="08"),
              "0801": total(category="0801"), "06": total(category="06")}
    _report(admin, x, y, category="0801")
    assert total(window="today") == before["today"] + 1
    assert total(category="08") == before["08"] + 1
    assert total(category="0801") == before["0801"] + 1
    assert total(category="06") == before["06"]
    assert total(since="2000-01-01T00:00:00+08:00", until="2000-01-02T00:00:00+08:00") == 0


def test_heat_by_a_class_whose_code_has_letters_counts_the_classes_under_it(clients, lattice,
                                                                             lettered_classes):
    parent, child = lettered_classes
    admin = clients["admin"]
    x, y = lattice.X0 + 0.5 * lattice.STEP, lattice.Y0 + 2.5 * lattice.STEP
    tile = TMS.tile(x, y, 13)

    def total(**params):
        return sum(f["properties"]["count"] for f in _features(admin, "heat", tile, **params))

    before = total(category=parent)
    _report(admin, x, y, category=child)
    assert total(category=parent) == before + 1
    assert total(category="Qza") == 0


def _heat_within(db, tile, since: str, until: str | None = None) -> dict:
    """Each bin's cases (as heat draws them) reported from ``since`` and before ``until``."""
    where = "i.reported_at >= CAST(:since AS timestamptz)"
    if until is not None:
        where += " AND i.reported_at < CAST(:until AS timestamptz)"
    return {at: (cases,) for at, (cases, _, _) in _incidents_by_bin(
        db, tile, where, side=SIDE["heat"], since=since, until=until).items()}


def test_heat_over_dates_counts_the_cases_reported_within_them_to_the_second(clients, lattice,
                                                                            db):
    """Around the window's ends, local time (China Standard Time: a day starts at 16:00 UTC),
    which is also what a window written without a zone means."""
    admin = clients["admin"]
    x, y = lattice.X0 + 0.3 * lattice.STEP, lattice.Y0 + 2.7 * lattice.STEP
    since, until = "2026-03-10T07:30:00+08:00", "2026-03-12T00:05:00+08:00"
    for at in ("2026-03-09T23:59:59+08:00", "2026-03-10T00:10:00+08:00",  # before
               "2026-03-10T07:29:59+08:00", "2026-03-10T07:30:00+08:00",  # the first within
               "2026-03-11T12:00:00+08:00", "2026-03-12T00:04:59+08:00",  # the last within
               "2026-03-12T00:05:00+08:00", "2026-03-12T09:00:00+08:00"):
        _report(admin, x, y, reported_at=at)
    for z in (9, 13):
        tile = TMS.tile(x, y, z)
        drawn = _drawn_bins(_features(admin, "heat", tile, since=since, until=until), "count",
                            side=SIDE["heat"])
        assert drawn == _heat_within(db, tile, since, until)
        assert sum(c for (c,) in drawn.values()) >= 3
        # the first day's morning cases, which a window read as UTC (from 08:05 local) misses
        unzoned = _drawn_bins(_features(admin, "heat", tile, since="2026-03-10T00:05:00",
                                        until="2026-03-11T00:00:00"), "count",
                              side=SIDE["heat"])
        assert unzoned == _heat_within(db, tile, "2026-03-10T00:05:00+08:00",
                                       "2026-03-11T00:00:00+08:00")
        assert sum(c for (c,) in unzoned.values()) >= 3


# Cases reported about local and UTC midnights (16:00 and 08:00 local) over five days.
_DATED_AT = [f"2025-06-{day:02d}T{hour}+08:00" for day in range(9, 14)
             for hour in ("00:00:00", "07:59:59", "08:00:00", "15:59:59", "16:00:01", "23:59:59")]
_DATED_BASE = datetime.fromisoformat("2025-06-09T00:00:00+08:00")


@pytest.fixture(scope="module")
def dated_spot(clients, lattice):
    x, y = lattice.X0 + 0.7 * lattice.STEP, lattice.Y0 + 2.3 * lattice.STEP
    for at in _DATED_AT:
        _report(clients["admin"], x, y, reported_at=at)
    return x, y


@settings(max_examples=40, deadline=None)
@given(start=st.integers(-2 * 86400, 6 * 86400), span=st.none() | st.integers(0, 4 * 86400))
def test_heat_over_any_dates_counts_the_cases_reported_within_them(clients, db, dated_spot,
                                                                   start, span):
    since = _DATED_BASE + timedelta(seconds=start)
    window = {"since": since.isoformat()}
    if span is not None:
        window["until"] = (since + timedelta(seconds=span)).isoformat()
    tile = TMS.tile(*dated_spot, 13)
    drawn = _drawn_bins(_features(clients["admin"], "heat", tile, **window), "count",
                        side=SIDE["heat"])
    assert drawn == _heat_within(db, tile, **window)


def test_tiles_show_only_the_jurisdictions_cases(clients, accounts, grids, lattice):
    worker, admin = clients["worker"], clients["admin"]
    x, y = lattice.X0 + 2.5 * lattice.STEP, lattice.Y0 + 0.5 * lattice.STEP
    case = _report(admin, x, y)
    tile = TMS.tile(x, y, 16)
    assert case in {f["id"] for f in _features(admin, "incidents", tile)}
    assert case not in {f["id"] for f in _features(worker, "incidents", tile)}
    cells = {f["properties"]["code"]: f["properties"]
             for f in _features(worker, "grids", TMS.tile(x, y, 15))}
    assert cells and all("open" not in p for p in cells.values())  # boundaries, no counts
    url = str(_get(admin, "incidents", tile).url)
    import httpx

    assert httpx.get(url).status_code == 401


@pytest.mark.parametrize("collection,params", [
    ("heat", {}), ("incidents", {}),
    ("heat", {"since": "2000-01-01T00:00:00+08:00"}),  # read by day
])
def test_a_region_accounts_bins_count_the_cases_it_reads(clients, accounts, grids, lattice, db,
                                                         collection, params):
    """A township's command centre: the cases of its township, and those it reported elsewhere
    (in another township of its county, and far from its region), but no other."""
    township = accounts["township_command"][1]["region_code"]
    county = grids[grids["code"].str.startswith(township[:6])]
    points = {
        mine: county[county["code"].str.startswith(township) == mine].geometry.iloc[-5]
        .representative_point() for mine in (True, False)}
    admin, command = clients["admin"], clients["township_command"]
    _report(admin, points[True].x, points[True].y)
    _report(admin, points[False].x, points[False].y)
    _report(command, points[False].x, points[False].y)
    far = lattice.X0 + 2.3 * lattice.STEP, lattice.Y0 + 0.7 * lattice.STEP
    _report(admin, *far)
    _report(command, *far)
    with db.connect() as conn:
        me = conn.execute(text("SELECT id FROM account WHERE username = 'township_command'"))
        me = me.scalar_one()
    readable = "i.village_code LIKE :township || '%' OR i.reporter_id = :me"
    properties = ("count", "open", "overdue") if collection == "incidents" else ("count",)
    places = {"township": (points[True].x, points[True].y), "far": far}
    others_there = set()  # the tiles where the account does not read every case
    for z, (place, (x, y)) in itertools.product((6, 10, 13), places.items()):
        tile = TMS.tile(x, y, z)
        expected, everything = ({at: counts[:len(properties)] for at, counts in bins.items()}
                                for bins in (_incidents_by_bin(db, tile, readable,
                                                               SIDE[collection],
                                                               township=township, me=me),
                                             _incidents_by_bin(db, tile,
                                                               side=SIDE[collection])))
        assert expected
        if expected != everything:
            others_there.add((z, place))
        assert _drawn_bins(_features(command, collection, tile, **params),
                           *properties, side=SIDE[collection]) == expected
    assert {(6, "township"), (6, "far"), (13, "far")} <= others_there


def test_a_page_session_cookie_opens_tiles_but_not_writes(server, lattice, accounts):
    import httpx

    with httpx.Client(base_url=server) as page:
        r = page.post("/api/v1/auth/session", data={"username": "admin",
                                                    "password": PASSWORD})
        assert r.status_code == 200 and "httponly" in r.headers["set-cookie"].lower()
        tile = TMS.tile(lattice.X0, lattice.Y0, 14)
        assert page.get(_url("incidents", tile)).status_code == 200
        assert page.post("/api/v1/incidents", json={}).status_code == 401
        page.delete("/api/v1/auth/session")
        assert page.get(_url("incidents", tile)).status_code == 401


def test_a_tile_outside_its_zoom_names_the_field(clients):
    admin = clients["admin"]
    r = admin.get(_root(admin, "/ogc/collections/grids/tiles/WebMercatorQuad/3/8/1"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "x"
    r = admin.get(_root(admin, "/ogc/collections/nope/tiles/WebMercatorQuad/3/1/1"))
    assert r.status_code == 404
    for path, field in (("23/1/1", ["path", "z"]), ("3/a/1", ["path", "x"]),
                        ("3/1/1?visit_days=0", ["query", "visit_days"]),
                        ("3/1/1?window=year", ["query", "window"]),
                        ("3/1/1?since=yesterday", ["query", "since"]),
                        ("3/1/1?until=1700000000", ["query", "until"])):
        r = admin.get(_root(admin, f"/ogc/collections/grids/tiles/WebMercatorQuad/{path}"))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == field, path


def test_a_windowed_heat_tile_keeps_its_etag(clients, lattice):
    admin = clients["admin"]
    tile = TMS.tile(lattice.X0, lattice.Y0, 12)
    for _ in range(2):  # the window moves by the minute: once more if one just turned
        first = _get(admin, "heat", tile, window="7d")
        again = admin.get(str(first.url), headers={"If-None-Match": first.headers["etag"]})
        if again.status_code == 304:
            return
    raise AssertionError("a 7-day heat tile changed its ETag from one request to the next")


def test_accounts_alike_in_what_a_tile_shows_share_it(lattice):
    """Two command centres of one region are drawn the same grid and boundary tiles (one ETag,
    one place in the cache), but each its own case tiles (its own reports show in them); a
    centre of another region, or a grid worker, has grid tiles of its own."""
    from mapsvc.accounts.model import Account, Role
    from mapsvc.db.reads import Reads
    from mapsvc.settings import TileSettings
    from mapsvc.tiles.layers import COLLECTIONS, TileQuery
    from mapsvc.tiles.service import TileService
    from tests.conftest import run

    centres = [Account(id=n, username=f"centre{n}", role=Role.command,
                       region_code=lattice.COUNTY) for n in (1, 2)]
    others = [Account(id=3, username="elsewhere", role=Role.command,
                      region_code=lattice.WEST_COUNTY),
              Account(id=4, username="worker", role=Role.grid_worker, grid_ids=(1,))]
    tile = TMS.tile(lattice.X0 + 0.5 * lattice.STEP, lattice.Y0 + 0.5 * lattice.STEP, 14)

    async def etags():
        async with Reads() as reads:
            s = TileService(TileSettings(), reads)
            return {c: [await s.etag(COLLECTIONS[c], tile.z, tile.x, tile.y, TileQuery(), a)
                        for a in (*centres, *others)]
                    for c in ("grids", "villages", "incidents")}

    tags = run(etags())
    assert tags["grids"][0] == tags["grids"][1]
    assert len(set(tags["grids"][1:])) == 3
    assert len(set(tags["villages"])) == 1
    assert tags["incidents"][0] != tags["incidents"][1]


def test_aggregated_tiles_follow_new_cases_at_most_once_in_their_period(clients, lattice):
    from mapsvc.accounts.model import Account, Role
    from mapsvc.settings import TileSettings
    from mapsvc.tiles.layers import COLLECTIONS, TileQuery
    from mapsvc.db.reads import Reads
    from mapsvc.tiles.service import TileService
    from tests.conftest import run

    admin = Account(id=1, username="admin", role=Role.admin)
    x, y = lattice.X0 + 0.5 * lattice.STEP, lattice.Y0 + 1.5 * lattice.STEP
    heat, points = TMS.tile(x, y, 13), TMS.tile(x, y, 16)

    async def scenario():
        async with Reads() as reads:
            s = TileService(TileSettings(revision_seconds=0, aggregate_seconds=3600), reads)

            async def etags():
                return [await s.etag(COLLECTIONS[c], t.z, t.x, t.y, TileQuery(), admin)
                        for c, t in (("heat", heat), ("incidents", points))]

            before = await etags()
            await asyncio.to_thread(_report, clients["admin"], x, y)
            return before, await etags()

    before, after = run(scenario())
    assert after[0] == before[0]  # the heat waits for its period
    assert after[1] != before[1]  # the points show the new case at once


def test_tiles_drawn_by_the_clock_follow_it_with_no_change_to_the_data(clients, lattice, db):
    """A case turns red as its handling deadline passes, with no change to it or to anything
    else: its grid's overdue count and its colour are drawn anew within the clock's period,
    while a tile of data the clock does not change keeps its ETag."""
    from mapsvc.accounts.model import Account, Role
    from mapsvc.settings import TileSettings
    from mapsvc.tiles.layers import COLLECTIONS, TileQuery
    from mapsvc.db.reads import Reads
    from mapsvc.tiles.service import TileService
    from tests.conftest import run

    admin = Account(id=1, username="admin", role=Role.admin)
    x, y = lattice.X0 + 0.5 * lattice.STEP, lattice.Y0 + 2.5 * lattice.STEP  # cell (0, 2)
    code = lattice.cell_code(0, 2)
    case = _report(clients["admin"], x, y)
    with db.begin() as conn:  # yellow now, red in five seconds
        red_at = conn.execute(text(
            "UPDATE incident SET status = 'dispatched', handling_warn_at = now(), "
            "handling_deadline = now() + interval '5 seconds' WHERE id = :id "
            "RETURNING handling_deadline"), {"id": case}).scalar_one()
    grids, points, regions = TMS.tile(x, y, 15), TMS.tile(x, y, 16), TMS.tile(x, y, 12)

    async def scenario():
        async with Reads() as reads:
            s = TileService(TileSettings(revision_seconds=0, clock_seconds=1), reads)

            async def tiles(unless=None):
                return [await s.tile(COLLECTIONS[c], t.z, t.x, t.y, TileQuery(), admin,
                                     unless=(unless or {}).get(c))
                        for c, t in (("grids", grids), ("incidents", points),
                                     ("villages", regions))]

            before = await tiles()
            await asyncio.sleep((red_at - datetime.now(red_at.tzinfo)).total_seconds() + 1.1)
            return before, await tiles({t: tile.etag for t, tile in zip(
                ("grids", "incidents", "villages"), before)})

    before, after = run(scenario())

    def drawn(tile, layer):
        return mapbox_vector_tile.decode(tile.body)[layer]["features"]

    def overdue(tile):
        return next(f["properties"]["overdue"] for f in drawn(tile, "grids")
                    if f["properties"]["code"] == code)

    def colour(tile):
        return next(f["properties"]["colour"] for f in drawn(tile, "incidents")
                    if f["id"] == case)

    assert after[0].body is not None and overdue(after[0]) == overdue(before[0]) + 1
    assert (colour(before[1]), colour(after[1])) == ("yellow", "red")
    assert after[2].body is None  # the villages' tile: unchanged, so not sent again


@settings(max_examples=300, deadline=None)
@given(lon=st.floats(-179.999, 179.999), lat=st.floats(-85.0, 85.0), z=st.integers(0, 28))
@example(lon=0.0, lat=5e-324, z=0)  # a latitude PostgreSQL's float arithmetic underflows on
def test_an_incidents_cell_lies_in_the_tile_that_holds_its_point(db, lon, lat, z):
    """The cell number's leading bits are the tile's column and row (from the south), as
    pyproj's Web Mercator puts the point, and as morecantile finds the tile at the zooms it
    defines; down to the cell itself (zoom 28), so every bit is checked. Points within a hair
    of a tile edge are left out."""
    x, y = TO_MERCATOR.transform(lon, lat)
    world = 2 * math.pi * 6378137
    fractions = ((x + world / 2) / world * 2 ** z, (y + world / 2) / world * 2 ** z)
    for fraction in fractions:
        assume(abs(fraction - round(fraction)) > 1e-6)
    with db.connect() as conn:
        cell = conn.execute(text("SELECT mercator_cell(ST_SetSRID(ST_MakePoint(:lon, :lat), "
                                 "4326))"), {"lon": lon, "lat": lat}).scalar_one()
    number = cell >> 2 * (28 - z)
    column = sum(((number >> 2 * k) & 1) << k for k in range(z))
    row = sum(((number >> 2 * k + 1) & 1) << k for k in range(z))
    assert (column, row) == tuple(math.floor(f) for f in fractions)
    if z <= TMS.maxzoom:
        tile = TMS.tile(lon, lat, z)
        assert (column, 2 ** z - 1 - row) == (tile.x, tile.y)


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(73.0, 135.0), lat=st.floats(18.0, 53.0), z=st.integers(11, 15),
       width=st.floats(0.0, 0.2), height=st.floats(0.0, 0.2))
def test_a_grid_is_drawn_into_every_tile_its_box_meets_and_no_other(db, lon, lat, z, width,
                                                                     height):
    """The tiles a grid version is drawn into (migration 0022) are those a grid tile's own
    test picks (its box meets the tile grown by the buffer), found here by trying every tile
    around the box, three more on each side."""
    box = "ST_Transform(ST_MakeEnvelope(:w, :s, :e, :n, 4326), 3857)"
    w, s, e, n = lon, lat, lon + width, lat + height
    first, last = TMS.tile(w, n, z), TMS.tile(e, s, z)
    with db.connect() as conn:
        drawn = set(conn.execute(text(f"SELECT x, y FROM tiles_meeting({box}, :z, 64.0 / 4096)"),
                                 {"w": w, "s": s, "e": e, "n": n, "z": z}).all())
        tried = set(conn.execute(text(
            "SELECT x, y FROM generate_series(CAST(:x0 AS int), :x1) x, "
            "generate_series(CAST(:y0 AS int), :y1) y"
            f" WHERE {box} && ST_TileEnvelope(:z, x, y, margin => 64.0 / 4096)"),
            {"w": w, "s": s, "e": e, "n": n, "z": z, "x0": first.x - 3, "x1": last.x + 3,
             "y0": first.y - 3, "y1": last.y + 3}).all())
    assert drawn and drawn == tried


def test_a_grid_tiles_work_grows_with_its_grids_not_with_their_square(grids):
    """The grid tile statement as the service runs it (prepared, with a generic plan), on the
    tile of most grids with an open case in each of them: the rows its plan handles grow with
    the grids and their cases. A plan that goes over every grid's counts again for each grid
    handles the square of them."""
    from mapsvc.accounts.model import Account, Role
    from mapsvc.db.engine import async_engine
    from mapsvc.tiles.layers import COLLECTIONS, TileQuery, tile_sql
    from tests.conftest import run, store_cases
    from tests.explain import generic_plan, rows_handled

    async def scenario():
        engine = async_engine()
        try:
            async with engine.connect() as conn:
                transaction = await conn.begin()  # rolled back: the cases stay out of the others
                z, x, y, inside = (await conn.execute(text("""
                    SELECT d.z, d.x, d.y,
                           array_agg(ST_AsText(ST_PointOnSurface(gv.geom))) AS inside
                      FROM grid_version_tile d JOIN grid_version gv ON gv.grid_id = d.grid_id
                     WHERE d.z = 12 AND gv.valid_to IS NULL
                     GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1"""))).one()
                points = [p.removeprefix("POINT(").removesuffix(")").split() for p in inside]
                await store_cases(conn, points)
                sql, params = tile_sql(COLLECTIONS["grids"], z, TileQuery(),
                                       Account(id=0, username="city", role=Role.command))
                values = {**params, "z": z, "x": x, "y": y}
                plan = await generic_plan(conn, sql, values)
                cases = (await conn.execute(text(
                    "SELECT count(*) FROM incident i JOIN grid_version_tile d USING (grid_id)"
                    " WHERE d.z = :z AND d.x = :x AND d.y = :y"), values)).scalar_one()
                await transaction.rollback()
                return len(points), cases, plan
        finally:
            await engine.dispose()

    shown, cases, plan = run(scenario())
    assert shown >= 100
    assert rows_handled(plan) <= 20 * shown + 4 * cases
