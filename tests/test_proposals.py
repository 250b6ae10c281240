"""Proposed grids: compact, within the household limit, covering the village exactly."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sqlalchemy import text
from typer.testing import CliRunner

from mapsvc.boundaries.proposals import balanced_groups
from mapsvc.cli import app
from tests.conftest import csv_bytes


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 300), limit=st.integers(1, 60), data=st.data())
def test_groups_stay_within_the_limit_and_use_every_group_number(n, limit, data):
    xy = data.draw(arrays(float, (n, 2), elements=st.floats(0, 0.05)))
    weight = data.draw(arrays(float, n, elements=st.integers(1, limit).map(float)))
    groups = balanced_groups(115 + xy[:, 0], 22 + xy[:, 1], weight, limit)
    sums = np.bincount(groups, weights=weight)
    assert sums.max() <= limit
    assert set(groups) == set(range(groups.max() + 1))  # no empty group
    assert groups.max() + 1 >= math.ceil(weight.sum() / limit)


def test_a_proposal_covers_the_village_exactly_within_the_limit(clients, area, db):
    a, _ = area
    admin = clients["admin"]
    rng = np.random.default_rng(7)
    points = [a.at(x, y) for x, y in rng.uniform((0.02, 0.02), (2.98, 0.98), size=(60, 2))]
    households = rng.integers(1, 4, size=60)
    r = admin.post("/registry/import/addresses", data={"county": a.county}, files={"file": (
        "a.csv", csv_bytes(["address", "lon", "lat"], [
            {"address": f"建议路{i}号", "lon": x, "lat": y} for i, (x, y) in enumerate(points)]),
        "text/csv")})
    assert r.status_code == 200 and r.json()["rejected"] == 0
    people = [{"address": f"建议路{i}号", "name": f"住户{i}-{h}", "registration": "resident",
               "household": str(h)} for i, n in enumerate(households) for h in range(1, n + 1)]
    r = admin.post("/registry/import/people", data={"county": a.county}, files={"file": (
        "p.csv", csv_bytes(["address", "name", "registration", "household"], people), "text/csv")})
    assert r.status_code == 200 and r.json()["rejected"] == 0
    total = int(households.sum()) + 5  # and the area's own five households
    r = admin.post("/plans/propose", json={"village": a.village, "max_households": 25})
    assert r.status_code == 201, r.text
    plan = r.json()
    report = admin.get(f"/plans/{plan['id']}/validation").json()
    sizes = [g["households"] for g in report["grids"]]
    assert sum(sizes) == total and max(sizes) <= 25
    assert len(sizes) <= math.ceil(total / 25) + 2  # balanced: hardly more grids than needed
    topology = {"gap", "overlap", "outside_village", "invalid", "sliver"}
    assert not [f for f in report["findings"] if f["kind"] in topology], report["findings"]
    with db.connect() as conn:  # the stored geometry, not GeoJSON's rounded coordinates
        off = conn.execute(text(
            "SELECT ST_Area(ST_SymDifference(ST_Union(pg.geom), min(v.geom::text)::geometry)) "
            "/ ST_Area(min(v.geom::text)::geometry) FROM plan_grid pg, region v "
            "WHERE pg.plan_id = :p AND v.code = :v"),
        {"p": plan["id"], "v": a.village}).scalar_one()
    assert off < 1e-9
    grids = admin.get(f"/plans/{plan['id']}/grids").json()["features"]
    # the live codes carry over to the new grids that overlap them most
    assert {a.code(n) for n in "ABC"} <= {f["properties"]["code"] for f in grids}
    r = admin.post("/plans/propose", json={"village": a.village, "max_households": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "max_households"
    r = admin.post("/plans/propose", json={"village": a.village, "max_households": True})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "max_households"
    assert "not true or false" in r.json()["detail"][0]["msg"]  # not 1 household


def test_the_command_line_proposes_a_draft(area, accounts):
    a, _ = area
    result = CliRunner().invoke(app, ["grids", "propose", "--village", a.village,
                                      "--max-households", "3", "--by", "admin"])
    assert result.exit_code == 0, result.output
    assert "grids proposed for village" in result.output
    result = CliRunner().invoke(app, ["grids", "propose", "--village", a.village,
                                      "--max-households", "3", "--by", "nobody"])
    assert result.exit_code == 2 and "--by" in result.output
    result = CliRunner().invoke(app, ["grids", "propose", "--village", a.village,
                                      "--max-households", "3", "--by", "planner"])
    assert result.exit_code == 2 and "outside region" in result.output
