"""A case pinned in the wrong place (更正位置): the centre, or the grid worker who went to see,
moves it to where it is, with the reason. It lands in that point's grid by the rules of a
report, in the jurisdiction of that grid's people; its reported coordinates stay as they
were, and its steps keep where it was and where it went."""

import json
import uuid

import prcoords
import shapely

from tests.test_workflow import do


def _inside(grids, code: str) -> shapely.Point:
    return grids[grids["code"] == code].geometry.iloc[0].representative_point()


def _report(client, point: shapely.Point) -> dict:
    r = client.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "06",
                                        "description": "路灯不亮", "lon": point.x,
                                        "lat": point.y})
    assert r.status_code == 201
    return r.json()


def _elsewhere(grids, accounts) -> str:
    """A grid of the county in another village than the worker's."""
    village = grids[grids["code"] == accounts["worker"][1]["grid_codes"][0]].village_code.iloc[0]
    county = grids[grids["code"].str.startswith("441502") & (grids["village_code"] != village)]
    return county["code"].iloc[len(county) // 2]


def test_a_case_moved_lands_in_the_grid_of_its_new_point_and_with_its_people(
        clients, accounts, grids):
    command, worker = clients["command"], clients["worker"]
    wrong = _inside(grids, _elsewhere(grids, accounts))
    own = accounts["worker"][1]["grid_codes"][0]
    right = _inside(grids, own)
    case = _report(command, wrong)
    assert worker.get(f"/incidents/{case['id']}").status_code == 404
    r = do(command, case["id"], "relocate", note="市民描述为本网格内路口",
           point={"lon": right.x, "lat": right.y})
    assert r.status_code == 200 and r.json()["status"] == "reported"
    moved = command.get(f"/incidents/{case['id']}").json()
    there = command.get("/locate", params={"lon": right.x, "lat": right.y}).json()
    assert moved["grid"]["code"] == own == there["grid"]["code"]
    assert (moved["method"], moved["village"], moved["township"], moved["county"]) == (
        "inside", there["village"], there["township"], there["county"])
    assert (moved["lon"], moved["lat"]) == (round(right.x, 7), round(right.y, 7))
    assert moved["raw"] == case["raw"]  # what was reported stays as it was
    assert worker.get(f"/incidents/{case['id']}").status_code == 200  # now the worker's case
    step = command.get(f"/incidents/{case['id']}/timeline").json()[-1]
    assert (step["action"], step["actor"], step["note"]) == ("relocate", "command",
                                                           "市民描述为本网格内路口")
    assert step["data"] == {
        "from": {"lon": case["lon"], "lat": case["lat"], "code": case["grid"]["code"],
                 "method": "inside"},
        "to": {"lon": moved["lon"], "lat": moved["lat"], "code": own, "method": "inside",
               "given": {"lon": right.x, "lat": right.y, "crs": "wgs84"}}}


def test_a_point_given_in_gcj02_is_moved_to_its_wgs84_place(clients, accounts, grids):
    admin = clients["admin"]
    case = _report(admin, _inside(grids, _elsewhere(grids, accounts)))
    own = accounts["worker"][1]["grid_codes"][0]
    target = _inside(grids, own)
    given = prcoords.wgs_gcj(prcoords.Coords(target.y, target.x))  # as AMap would show it
    r = do(admin, case["id"], "relocate", note="按高德坐标更正",
           point={"lon": given.lon, "lat": given.lat, "crs": "gcj02"})
    assert r.status_code == 200
    moved = admin.get(f"/incidents/{case['id']}").json()
    assert moved["grid"]["code"] == own
    assert abs(moved["lon"] - target.x) < 1e-6 and abs(moved["lat"] - target.y) < 1e-6


def test_a_case_moved_out_of_every_grid_waits_for_triage_and_back_in_leaves_it(
        clients, accounts, grids):
    admin, command = clients["admin"], clients["command"]
    start = _inside(grids, _elsewhere(grids, accounts))
    case = _report(admin, start)["id"]
    far = {"lon": 100.0, "lat": 35.0}  # in China, far from the test counties' grids
    assert do(admin, case, "relocate", note="外县案件", point=far).status_code == 200
    moved = admin.get(f"/incidents/{case}").json()
    assert (moved["method"], moved["grid"], moved["village"], moved["county"]) == (
        "unassigned", None, None, None)
    triage = admin.get("/incidents", params={"method": "unassigned", "limit": 1000}).json()
    assert case in [f["id"] for f in triage["features"]]
    assert command.get(f"/incidents/{case}").status_code == 404  # out of the county now
    assert do(admin, case, "relocate", note="核实后退回原处",
              point={"lon": start.x, "lat": start.y}).status_code == 200
    triage = admin.get("/incidents", params={"method": "unassigned", "limit": 1000}).json()
    assert case not in [f["id"] for f in triage["features"]]
    assert command.get(f"/incidents/{case}").json()["method"] == "inside"


def test_a_move_is_refused_as_a_report_there_would_be_and_changes_nothing(
        clients, accounts, grids):
    command = clients["command"]
    start = _inside(grids, _elsewhere(grids, accounts))
    case = _report(command, start)
    right = _inside(grids, accounts["worker"][1]["grid_codes"][0])
    for body, field in (({"note": "更正"}, ["body", "point"]),
                        ({"point": {"lon": right.x, "lat": right.y}}, ["body", "note"]),
                        ({"note": "更正", "point": {"lon": right.x, "lat": 95.0}},
                         ["body", "point", "lat"]),
                        ({"note": "更正", "point": {"lon": right.x, "lat": float("nan")}},
                         ["body", "point", "lat"]),
                        ({"note": "更正", "point": {"lon": right.y, "lat": right.x}},
                         ["body", "point", "lon"]),
                        ({"note": "更正", "point": {"lon": right.x, "lat": right.y,
                                                   "crs": "mars"}},
                         ["body", "point", "crs"])):
        r = command.post(f"/incidents/{case['id']}/actions/relocate",
                         content=json.dumps(body), headers={"Content-Type": "application/json"})
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"] == field, body
    swapped = do(command, case["id"], "relocate", note="更正",
                 point={"lon": right.y, "lat": right.x})
    assert "swapped" in swapped.json()["detail"][0]["msg"]
    stored = command.get(f"/incidents/{case['id']}").json()
    assert (stored["lon"], stored["lat"], stored["grid"]) == (case["lon"], case["lat"],
                                                              case["grid"])
    steps = command.get(f"/incidents/{case['id']}/timeline").json()
    assert [s["action"] for s in steps] == ["report"]


def test_who_may_move_a_case_and_when(clients, accounts, grids):
    command, worker = clients["command"], clients["worker"]
    own = accounts["worker"][1]["grid_codes"][0]
    right = {"lon": _inside(grids, own).x, "lat": _inside(grids, own).y}
    theirs = _report(command, _inside(grids, _elsewhere(grids, accounts)))["id"]
    assert do(worker, theirs, "relocate", note="更正", point=right).status_code == 404
    assert do(clients["department"], theirs, "relocate", note="更正",
              point=right).status_code == 403
    # the worker who went to see moves a case of theirs out to where it is
    mine = _report(worker, _inside(grids, own))["id"]
    there = _inside(grids, _elsewhere(grids, accounts))
    r = do(worker, mine, "relocate", note="现场核实在邻村",
           point={"lon": there.x, "lat": there.y})
    assert r.status_code == 200
    assert command.get(f"/incidents/{mine}").json()["grid"]["code"] == _elsewhere(grids, accounts)
    assert do(command, theirs, "reject", note="不属实").status_code == 200
    closed = do(command, theirs, "relocate", note="更正", point=right)
    assert closed.status_code == 409 and "rejected" in closed.json()["detail"][0]["msg"]
