"""Boundary files in and out: checked, repaired or rejected, versioned, and served as GeoJSON.

Uses two real counties that the other tests leave alone (黄州区, 团风县) with a small synthetic
hierarchy inside them.
"""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon
from sqlalchemy import text
from typer.testing import CliRunner

from mapsvc.boundaries.queries import region_frame
from mapsvc.boundaries.synthetic import DATA, partition, tile_exactly
from mapsvc.cli import app
from mapsvc.geo.crs import from_wgs84

COUNTIES = ["421102", "421121"]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def levels():
    counties = gpd.read_file(DATA / "counties.geojson").rename(columns={"adcode": "code"})
    counties = counties[counties["code"].isin(COUNTIES)][["code", "name", "geometry"]]
    towns, villages, grids = [], [], []
    for c in counties.itertuples():
        county = shapely.union_all(shapely.get_parts(c.geometry))
        for i, t in enumerate(partition(county, 3, c.code), 1):
            tcode = f"{c.code}{100 + i}"
            towns.append({"code": tcode, "name": f"测试{i}镇", "parent_code": c.code})
            for j, v in enumerate(partition(t, 2, tcode), 1):
                vcode = f"{tcode}{200 + j}"
                villages.append({"code": vcode, "name": f"测试{i}{j}村", "parent_code": tcode})
                for k, g in enumerate(partition(v, 3, vcode), 1):
                    grids.append({"code": f"{vcode}{k:03d}", "name": f"网格{k}", "parent_code": vcode,
                                  "kind": "comprehensive", "households": 100 * k, "geometry": g})
    # nest exactly: node the grids, then rebuild villages and townships from them
    exact = tile_exactly([g["geometry"] for g in grids])
    grid_frame = gpd.GeoDataFrame(grids, geometry=exact, crs=4326)
    village_frame = gpd.GeoDataFrame(
        villages, crs=4326,
        geometry=[shapely.union_all(grid_frame[grid_frame.parent_code == v["code"]].geometry.values)
                  for v in villages])
    town_frame = gpd.GeoDataFrame(
        towns, crs=4326,
        geometry=[shapely.union_all(village_frame[village_frame.parent_code == t["code"]]
                                    .geometry.values) for t in towns])
    return {"county": counties, "township": town_frame, "village": village_frame,
            "grid": grid_frame}


@pytest.fixture(scope="module")
def loaded(levels, database_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("boundaries")
    levels["county"].to_file(folder / "county.geojson")
    levels["township"].to_file(folder / "township.gpkg")
    # a Shapefile without parent codes: they follow from the 12-digit statistical codes
    levels["village"].drop(columns="parent_code").to_file(folder / "village.shp", encoding="utf-8")
    levels["grid"].to_file(folder / "grid.geojson")
    outputs = {}
    for level, name in [("county", "county.geojson"), ("township", "township.gpkg"),
                        ("village", "village.shp"), ("grid", "grid.geojson")]:
        result = cli("boundaries", "import", folder / name, "--level", level)
        assert result.exit_code == 0, result.output
        outputs[level] = result.output
    return outputs


def test_each_format_imports_every_feature(loaded, levels):
    assert "county: 2 new" in loaded["county"]
    assert "township: 6 new" in loaded["township"]
    assert "village: 12 new" in loaded["village"]
    assert "grid: 36 new, 0 updated, 0 unchanged, 36 new geometry versions" in loaded["grid"]


def test_importing_the_same_file_again_changes_nothing(loaded, tmp_path, levels):
    levels["grid"].to_file(tmp_path / "grid.geojson")
    result = cli("boundaries", "import", tmp_path / "grid.geojson", "--level", "grid")
    assert "grid: 0 new, 0 updated, 36 unchanged, 0 new geometry versions" in result.output


def test_regions_are_served_as_geojson_by_level_parent_and_bbox(api, loaded, levels):
    body = api.get("/regions", params={"level": "township", "parent": "421102"}).json()
    assert body["type"] == "FeatureCollection"
    assert sorted(f["id"] for f in body["features"]) == ["421102101", "421102102", "421102103"]
    feature = body["features"][0]
    assert feature["properties"]["level"] == "township"
    assert feature["properties"]["parent_code"] == "421102"
    assert feature["geometry"]["type"] == "MultiPolygon"
    county = levels["county"].set_index("code").geometry["421121"]
    x, y = county.representative_point().coords[0]
    around = api.get("/regions", params={"level": "county", "bbox": f"{x},{y},{x},{y}"}).json()
    assert [f["id"] for f in around["features"]] == ["421121"]
    one = api.get("/regions", params={"code": "421102102"}).json()["features"]  # by its code
    assert [(f["id"], f["properties"]["level"]) for f in one] == [("421102102", "township")]
    assert api.get("/regions", params={"code": "421102999"}).json()["features"] == []


def test_a_city_holds_its_counties_whichever_is_loaded_first(api, loaded, levels, tmp_path):
    """黄冈市 above the two counties loaded without it: its file from a national source (its
    administrative code 421100: its four digits); its counties found by their codes, and
    loaded again without it they stay its; a county naming a city that is none is refused,
    as is a code of the wrong length."""
    def top() -> set[str]:  # the deployment's top regions: cities, and counties of no city
        return {f["id"] for f in api.get("/regions", params={"top": "true", "limit": 1000})
                .json()["features"]}
    assert set(COUNTIES) <= top() and "4211" not in top()
    cities = gpd.read_file(DATA / "cities.geojson")
    cities[cities["adcode"] == "421100"].to_file(tmp_path / "city.geojson")
    result = cli("boundaries", "import", tmp_path / "city.geojson", "--level", "city",
                 "--code-field", "adcode")
    assert result.exit_code == 0 and "city: 1 new" in result.output, result.output
    city = api.get("/regions", params={"level": "city"}).json()["features"]
    assert [(f["id"], f["properties"]["name"]) for f in city if f["id"] == "4211"] == [
        ("4211", "黄冈市")]
    assert "4211" in top() and not set(COUNTIES) & top()  # its counties under it now
    under = api.get("/regions", params={"level": "county", "parent": "4211"}).json()
    assert sorted(f["id"] for f in under["features"]) == COUNTIES
    # a county's name is written in its largest part, within it, as far from its edge as the
    # radius it may move in
    for f in under["features"]:
        lon, lat = f["properties"]["label"]
        county = shapely.geometry.shape(f["geometry"])
        assert shapely.contains_xy(county, lon, lat)
        assert county.boundary.distance(shapely.Point(lon, lat)) == pytest.approx(
            f["properties"]["label_radius"], abs=2e-6)

    levels["county"].to_file(tmp_path / "county.geojson")
    assert "0 new, 0 updated, 2 unchanged" in cli(
        "boundaries", "import", tmp_path / "county.geojson", "--level", "county").output
    under = api.get("/regions", params={"level": "county", "parent": "4211"}).json()
    assert sorted(f["id"] for f in under["features"]) == COUNTIES
    assert api.get("/grids", params={"parent": "4211"}).json()["features"]  # its grids

    stray = levels["county"].head(1).assign(parent_code="9999")
    stray.to_file(tmp_path / "stray.geojson")
    result = cli("boundaries", "import", tmp_path / "stray.geojson", "--level", "county")
    assert result.exit_code != 0 and "parent 9999 is not a known city" in result.output
    cities[cities["adcode"] == "421100"].assign(adcode="42110").to_file(tmp_path / "five.geojson")
    result = cli("boundaries", "import", tmp_path / "five.geojson", "--level", "city",
                 "--code-field", "adcode")
    assert result.exit_code != 0 and "code must be 4 digits for a city" in result.output


def test_grids_are_served_under_any_ancestor(api, loaded):
    under_county = api.get("/grids", params={"parent": "421102"}).json()["features"]
    under_township = api.get("/grids", params={"parent": "421102101"}).json()["features"]
    under_village = api.get("/grids", params={"parent": "421102101201"}).json()["features"]
    assert (len(under_county), len(under_township), len(under_village)) == (18, 6, 3)
    props = under_village[0]["properties"]
    assert props["code"] == "421102101201001" and props["version"] == 1
    assert props["county_code"] == "421102" and props["households"] == 100


def test_export_then_import_round_trips(loaded, tmp_path, db):
    for fmt in ("gpkg", "geojson"):
        out = tmp_path / f"grids.{fmt}"
        result = cli("boundaries", "export", out, "--level", "grid", "--format", fmt)
        assert result.exit_code == 0, result.output
        exported = gpd.read_file(out)
        mine = exported[exported["code"].str.startswith(tuple(COUNTIES))]
        assert len(mine) == 36
        again = cli("boundaries", "import", out, "--level", "grid")
        assert " 0 new, 0 updated" in again.output and "0 new geometry versions" in again.output
    out = tmp_path / "villages.gpkg"
    cli("boundaries", "export", out, "--level", "village")
    assert "0 new, 0 updated" in cli("boundaries", "import", out, "--level", "village").output


def test_a_changed_grid_gets_a_new_version_and_the_old_one_is_kept(loaded, levels, tmp_path, api,
                                                                   db):
    changed = levels["grid"][levels["grid"]["code"] == "421121101201002"].copy()
    old = changed.geometry.iloc[0]
    changed["geometry"] = [old.buffer(-0.001)]
    changed.to_file(tmp_path / "one.geojson")
    result = cli("boundaries", "import", tmp_path / "one.geojson", "--level", "grid",
                 "--valid-from", "2026-11-01T00:00:00")
    assert "1 updated" in result.output and "1 new geometry versions" in result.output
    with db.connect() as conn:
        versions = conn.execute(text(
            "SELECT version, valid_from::text, valid_to::text FROM grid_version gv "
            "JOIN grid g ON g.id = gv.grid_id WHERE g.code = '421121101201002' "
            "ORDER BY version")).all()
    assert [tuple(v) for v in versions] == [
        (1, "-infinity", "2026-11-01 00:00:00+00"), (2, "2026-11-01 00:00:00+00", None)]
    # the part the new version gave up: now in no grid, but on 31 October it was in version 1
    ring = shapely.difference(old, old.buffer(-0.0005)).representative_point()
    before = api.get("/locate", params={"lon": ring.x, "lat": ring.y,
                                        "at": "2026-10-31T00:00:00"}).json()
    assert before["grid"] == {"code": "421121101201002", "name": "网格2", "version": 1}
    now = api.get("/grids", params={"parent": "421121101201"}).json()["features"]
    versions = {f["properties"]["code"]: f["properties"]["version"] for f in now}
    assert versions["421121101201002"] == 2


def _one_grid_file(tmp_path, geometry, name="bad.geojson", **props):
    base = {"code": "421102103202009", "name": "新网格", "parent_code": "421102103202"}
    frame = gpd.GeoDataFrame([{**base, **props}], geometry=[geometry], crs=4326)
    frame.to_file(tmp_path / name)
    return tmp_path / name


def test_an_invalid_polygon_is_repaired_and_reported(loaded, levels, tmp_path, db):
    village = levels["village"].set_index("code").geometry["421102103202"]
    (x0, y0), d = village.representative_point().coords[0], 0.0005
    bowtie = Polygon([(x0, y0), (x0 + d, y0 + d), (x0 + d, y0), (x0, y0 + d), (x0, y0)])
    assert not bowtie.is_valid
    result = cli("boundaries", "import", _one_grid_file(tmp_path, bowtie, code="421102103202010"),
                 "--level", "grid")
    assert result.exit_code == 0, result.output
    assert "repaired: feature 1 (421102103202010): Self-intersection" in result.output
    with db.connect() as conn:
        area, valid = conn.execute(text(
            "SELECT ST_Area(gv.geom), ST_IsValid(gv.geom) FROM grid_version gv "
            "JOIN grid g ON g.id = gv.grid_id WHERE g.code = '421102103202010'")).one()
    assert valid and area > 0


def test_unrepairable_features_stop_the_whole_import_unless_skipped(loaded, tmp_path, db, levels):
    village = levels["village"].set_index("code").geometry["421102103202"]
    good = village.representative_point().buffer(0.0003)
    flat = Polygon([(114.9, 30.4), (114.92, 30.4), (114.91, 30.4), (114.9, 30.4)])
    frame = gpd.GeoDataFrame(
        [{"code": "421102103202011", "name": "好网格", "parent_code": "421102103202"},
         {"code": "421102103202012", "name": "扁网格", "parent_code": "421102103202"},
         {"code": "421102103202013", "name": "无父网格", "parent_code": "421102999999"}],
        geometry=[good, flat, good], crs=4326)
    frame.to_file(tmp_path / "mixed.geojson")
    result = cli("boundaries", "import", tmp_path / "mixed.geojson", "--level", "grid")
    assert result.exit_code == 2
    assert "feature 2 (421102103202012)" in result.output
    assert ("feature 3 (421102103202013): parent 421102999999 is not a known village"
            in result.output)
    assert "nothing imported" in result.output

    def count():
        with db.connect() as conn:
            return conn.execute(text(
                "SELECT count(*) FROM grid WHERE code LIKE '42110210320201_'")).scalar_one()

    assert count() == 1  # only the repaired bowtie from before
    skipped = cli("boundaries", "import", tmp_path / "mixed.geojson", "--level", "grid",
                  "--skip-invalid")
    assert skipped.exit_code == 1 and "1 new" in skipped.output
    assert count() == 2


def test_a_file_without_a_crs_is_refused_unless_one_is_declared(loaded, levels, tmp_path):
    frame = levels["grid"].iloc[:2][["code", "name", "parent_code", "kind", "geometry"]]
    frame.rename(columns={"code": "wgbm", "parent_code": "village"}).to_file(tmp_path / "nocrs.shp")
    (tmp_path / "nocrs.prj").unlink()
    options = ["--level", "grid", "--code-field", "wgbm", "--parent-field", "village"]
    refused = cli("boundaries", "import", tmp_path / "nocrs.shp", *options)
    assert refused.exit_code == 2 and "declares no CRS" in refused.output
    accepted = cli("boundaries", "import", tmp_path / "nocrs.shp", *options, "--crs", "EPSG:4326")
    assert accepted.exit_code == 0 and "2 unchanged" in accepted.output


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_a_shapefile_that_does_not_say_its_encoding_keeps_its_chinese(loaded, levels, tmp_path,
                                                                      encoding):
    """No .cpg beside it, and the field names Chinese too: GDAL would read it as Latin-1."""
    frame = levels["grid"].iloc[6:8][["code", "name", "parent_code", "kind", "geometry"]]
    frame.rename(columns={"name": "名称", "parent_code": "村"}).to_file(tmp_path / "grids.shp",
                                                                    encoding=encoding)
    (tmp_path / "grids.cpg").unlink()
    result = cli("boundaries", "import", tmp_path / "grids.shp", "--level", "grid",
                 "--name-field", "名称", "--parent-field", "村")
    assert result.exit_code == 0 and "0 updated, 2 unchanged" in result.output, result.output


def test_a_shapefile_saying_the_wrong_encoding_is_read_in_the_one_named(loaded, levels, tmp_path):
    frame = levels["grid"].iloc[8:10][["code", "name", "parent_code", "kind", "geometry"]]
    frame.rename(columns={"parent_code": "village"}).to_file(tmp_path / "grids.shp",
                                                             encoding="gbk")
    (tmp_path / "grids.cpg").write_text("UTF-8")
    options = ["--level", "grid", "--parent-field", "village"]
    refused = cli("boundaries", "import", tmp_path / "grids.shp", *options)
    assert refused.exit_code == 2 and "name its encoding with --encoding" in refused.output
    named = cli("boundaries", "import", tmp_path / "grids.shp", *options, "--encoding", "gbk")
    assert named.exit_code == 0 and "0 updated, 2 unchanged" in named.output, named.output
    for wrong, message in (("utf-8", "the file's text is not utf-8"),
                           ("klingon", "unknown encoding")):
        refused = cli("boundaries", "import", tmp_path / "grids.shp", *options, "--encoding", wrong)
        assert refused.exit_code == 2 and f"--encoding: {message}" in refused.output


def test_a_geojson_file_not_in_utf8_is_refused_saying_so(loaded, levels, tmp_path):
    """GeoJSON is UTF-8 (RFC 7946); some Chinese tools write it in GBK."""
    levels["grid"].iloc[:1].to_file(tmp_path / "gbk.geojson", encoding="gbk")
    result = cli("boundaries", "import", tmp_path / "gbk.geojson", "--level", "grid")
    assert result.exit_code == 2 and "its text is not UTF-8" in result.output, result.output


def test_gcj02_and_projected_files_are_normalised_to_wgs84(loaded, levels, tmp_path, db):
    frame = levels["grid"].iloc[3:5].copy()
    gcj = frame.copy()
    gcj["geometry"] = shapely.transform(
        frame.geometry.values, lambda c: np.column_stack(from_wgs84(c[:, 0], c[:, 1], "gcj02")))
    gcj.to_file(tmp_path / "gcj.geojson")
    result = cli("boundaries", "import", tmp_path / "gcj.geojson", "--level", "grid",
                 "--crs", "gcj02")
    assert "2 unchanged" in result.output, result.output  # the same geometry as before, to 1e-7°
    frame.to_crs(4547).to_file(tmp_path / "gk.gpkg")  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
    result = cli("boundaries", "import", tmp_path / "gk.gpkg", "--level", "grid")
    assert result.exit_code == 0 and "2 unchanged" in result.output, result.output
    with db.connect() as conn:
        shift = conn.execute(text(
            "SELECT max(ST_HausdorffDistance(gv.geom, ST_GeomFromText(:wkt, 4326))) "
            "FROM grid_version gv "
            "JOIN grid g ON g.id = gv.grid_id WHERE g.code = :code AND gv.valid_to IS NULL"),
            {"wkt": frame.geometry.iloc[0].wkt, "code": frame["code"].iloc[0]}).scalar_one()
    assert shift < 1e-6


def test_a_contradicting_crs_is_refused(loaded, levels, tmp_path):
    levels["grid"].iloc[:1].to_crs(4547).to_file(tmp_path / "gk.gpkg")
    result = cli("boundaries", "import", tmp_path / "gk.gpkg", "--level", "grid", "--crs", "gcj02")
    assert result.exit_code == 2 and "contradicts" in result.output


def test_a_child_sticking_out_of_its_parent_is_reported(loaded, levels, tmp_path):
    village = levels["village"].set_index("code").geometry["421102103202"]
    big = village.representative_point().buffer(0.2)
    result = cli("boundaries", "import", _one_grid_file(tmp_path, big, code="421102103202020"),
                 "--level", "grid")
    assert "warning: feature 1 (421102103202020):" in result.output
    assert "outside its parent 421102103202" in result.output


@pytest.mark.parametrize("args,message", [
    (["--level", "province"], "--level"),
    (["--level", "grid", "--code-field", "id"], "--code-field"),
    (["--level", "grid", "--crs", "EPSG:999999"], "--crs"),
    (["--level", "grid", "--encoding", "gbk"], "--encoding"),  # a GeoJSON is UTF-8
])
def test_bad_options_are_refused_naming_them(loaded, levels, tmp_path, args, message):
    levels["grid"].iloc[:1].to_file(tmp_path / "g.geojson")
    result = cli("boundaries", "import", tmp_path / "g.geojson", *args)
    assert result.exit_code == 2 and message in result.output


def test_a_missing_file_is_refused(tmp_path):
    result = cli("boundaries", "import", tmp_path / "none.geojson", "--level", "county")
    assert result.exit_code == 2 and "no such file" in result.output


def test_a_dedicated_grid_is_tied_to_the_organisation_it_serves(loaded, levels, tmp_path, db, api):
    with db.begin() as conn:
        school = conn.execute(text(
            "INSERT INTO organisation (name, kind, geom, assignment) VALUES ('示例学校', 'school', "
            "ST_SetSRID(ST_MakePoint(114.9, 30.4), 4326), 'unassigned') RETURNING id")).scalar_one()
    village = levels["village"].set_index("code").geometry["421102103202"]
    campus = village.representative_point().buffer(0.0004)
    ok = _one_grid_file(tmp_path, campus, name="school.geojson", code="421102103202900",
                        kind="dedicated", organisation_id=school)
    result = cli("boundaries", "import", ok, "--level", "grid")
    assert result.exit_code == 0, result.output
    grid = api.get("/grids", params={"parent": "421102103202"}).json()["features"]
    assert {f["id"]: f["properties"]["organisation_id"] for f in grid}["421102103202900"] == school
    bad = _one_grid_file(tmp_path, campus, name="bad.geojson", code="421102103202901",
                         kind="dedicated", organisation_id=999999)
    refused = cli("boundaries", "import", bad, "--level", "grid")
    assert refused.exit_code == 2 and "no organisation 999999" in refused.output


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(land=st.tuples(st.floats(100, 120), st.floats(20, 40), st.floats(0.05, 1),
                      st.floats(0.05, 1)),
       islands=st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3), st.floats(0.01, 0.99)),
                        max_size=6))
def test_a_region_is_framed_by_its_largest_part_and_the_parts_near_it(db, land, islands):
    """What a map shows a region in (its ``frame``): the box of its largest part and of every
    part whose box meets that part's box grown by a quarter of its width and height each way,
    and of no other (islands far off its coast) — as shapely finds it."""
    x, y, width, height = land
    largest = shapely.box(x, y, x + width, y + height)
    parts = [largest]
    for dx, dy, share in islands:  # each smaller than the land, apart from every other part
        side = share * min(width, height)
        island = shapely.box(x + dx * width, y + dy * height,
                             x + dx * width + side, y + dy * height + side)
        if not any(island.intersects(part) for part in parts):
            parts.append(island)
    near = shapely.box(x - width / 4, y - height / 4, x + width * 5 / 4, y + height * 5 / 4)
    expected = shapely.MultiPolygon([p for p in parts if p.intersects(near)]).bounds
    with db.connect() as conn:
        frame = conn.execute(text(
            f"SELECT ST_XMin(f), ST_YMin(f), ST_XMax(f), ST_YMax(f) FROM "
            f"(SELECT {region_frame('ST_GeomFromText(:wkt, 4326)')} AS f) b"),
            {"wkt": shapely.MultiPolygon(parts).wkt}).one()
    assert tuple(frame) == pytest.approx(expected, abs=1e-9)
