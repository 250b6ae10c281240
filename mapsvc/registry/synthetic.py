"""Synthetic registry data for the demo: addresses, households, people, organisations,
components and places, at the densities of an urban township, obviously not real.

Names read 演示…; ID numbers and organisations' unified social credit codes carry the region
code 000000, which no place has, with valid check characters; mobiles start with 100, which no
operator uses.
"""

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from stdnum.cn import uscc

from mapsvc.registry.importer import Importer, conform, import_registry
from mapsvc.registry.privacy import id_check_character

CARE_TAGS = [("独居老人", 0.05), ("残疾人", 0.03), ("优抚对象", 0.02), ("低保户", 0.03)]
THINGS = [("0101", "上水井盖"), ("0103", "污水井盖"), ("0106", "消防栓"), ("0201", "路灯"),
          ("0305", "监控摄像头")]
# each kind's name, how many a grid holds and, for those registered with one, the head of their
# unified social credit code (GB 32100): the registering department and the kind (9 1: an
# enterprise, 工商; 5 1: a social organisation, 民政)
ORGANISATIONS = [("enterprise", "演示企业", 4, "91"), ("social_organisation", "演示社会组织", 1, "51"),
                 ("party_branch", "演示党支部", 1, None)]
ORGANISATION_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714's check character


def _synthetic_uscc(head: str, serial: int) -> str:
    """A unified social credit code of the region 000000: ``head``, the region, an organisation
    code of ``serial`` with its check character, then the whole code's."""
    body = f"{serial:08d}"
    check = 11 - sum(int(d) * w for d, w in zip(body, ORGANISATION_CODE_WEIGHTS)) % 11
    code = f"{head}000000{body}{'0123456789X0'[check]}"
    return code + uscc.calc_check_digit(code)


def _synthetic_id(serial: np.ndarray, birth_year: np.ndarray) -> list[str]:
    bodies = [f"000000{y:04d}0101{s % 1000:03d}" for y, s in zip(birth_year, serial)]
    return [b + id_check_character(b) for b in bodies]


def _points_in(geoms: np.ndarray, which: np.ndarray, rng: np.random.Generator):
    bounds = shapely.bounds(geoms)[which]
    x, y = np.empty(len(which)), np.empty(len(which))
    todo = np.arange(len(which))
    while len(todo):
        b = bounds[todo]
        tx, ty = rng.uniform(b[:, 0], b[:, 2]), rng.uniform(b[:, 1], b[:, 3])
        hit = shapely.contains_xy(geoms[which[todo]], tx, ty)
        x[todo[hit]], y[todo[hit]] = tx[hit], ty[hit]
        todo = todo[~hit]
    return x, y


def registry_frames(grids: pd.DataFrame, seed: int = 3) -> dict[str, pd.DataFrame]:
    """Registry files for ``grids`` (code, households, village_code, geometry)."""
    rng = np.random.default_rng(seed)
    geoms = np.asarray(grids.geometry.values)
    per_grid = grids["households"].fillna(200).astype(int).to_numpy()
    grid_of = np.repeat(np.arange(len(grids)), per_grid)
    n = len(grid_of)
    x, y = _points_in(geoms, grid_of, rng)
    street = np.char.add(np.char.add("演示", grids["code"].str[-6:].to_numpy()[grid_of].astype(str)),
                         "路")
    number = np.arange(n) % 40 + 1
    building = np.arange(n) // 40 % 12 + 1
    room = rng.integers(1, 30, n) * 100 + rng.integers(1, 5, n)
    addresses = [f"{s}{nm}号演示小区{b}栋{r}室" for s, nm, b, r in zip(street, number, building, room)]
    address_frame = pd.DataFrame({
        "county": grids["village_code"].str[:6].to_numpy()[grid_of], "address": addresses,
        "lon": x.astype(str), "lat": y.astype(str),
        "rental": np.where(rng.random(n) < 0.2, "是", "否")}).drop_duplicates("address")
    size = rng.choice([1, 2, 3, 4], len(address_frame), p=[0.2, 0.35, 0.3, 0.15])
    home = np.repeat(np.arange(len(address_frame)), size)
    people = len(home)
    tags = [[t for t, share in CARE_TAGS if rng.random() < share] for _ in range(people)]
    birth = rng.integers(1935, 2020, people)
    people_frame = pd.DataFrame({
        "county": address_frame["county"].to_numpy()[home],
        "address": address_frame["address"].to_numpy()[home],
        "name": [f"演示居民{i:06d}" for i in range(people)],
        "registration": rng.choice(["resident", "floating", "overseas"], people,
                                   p=[0.8, 0.19, 0.01]),
        "id_number": _synthetic_id(np.arange(people), birth),
        "mobile": [f"100{i:08d}" for i in range(people)],
        "birth_date": [f"{b}-01-01" for b in birth],
        "sex": rng.choice(["male", "female"], people),
        "care_tags": ["|".join(t) for t in tags], "household": "1",
        "relation": np.where(address_frame["rental"].to_numpy()[home] == "是", "tenant", "owner"),
    })
    villages = grids.groupby("village_code").head(1)
    vx, vy = _points_in(geoms, np.flatnonzero(grids.index.isin(villages.index)), rng)
    stations = pd.DataFrame({"name": [f"演示红色驿站{c[-3:]}" for c in villages["village_code"]],
                             "kind": "service_station", "lon": vx, "lat": vy, "code": ""})
    orgs = [stations]
    for kind, name, per, head in ORGANISATIONS:
        which = np.repeat(np.arange(len(grids)), per)
        ox, oy = _points_in(geoms, which, rng)
        orgs.append(pd.DataFrame({"name": [f"{name}{i:05d}" for i in range(len(which))],
                                  "kind": kind, "lon": ox, "lat": oy,
                                  "code": [_synthetic_uscc(head, i) if head else ""
                                           for i in range(len(which))]}))
    things = []
    for type_code, name in THINGS:
        which = np.repeat(np.arange(len(grids)), 6)
        tx, ty = _points_in(geoms, which, rng)
        county = grids["village_code"].str[:6].to_numpy()[which]
        things.append(pd.DataFrame({
            "component_id": [f"{c}{type_code}{i:06d}" for i, c in enumerate(county)],
            "name": name, "lon": tx, "lat": ty}))
    px, py = _points_in(geoms, np.flatnonzero(grids.index.isin(villages.index)), rng)
    places = pd.DataFrame({"name": [f"演示农贸市场{c[-3:]}" for c in villages["village_code"]],
                           "kind": "market", "lon": px, "lat": py})
    frames = {"addresses": address_frame, "people": people_frame,
              "organisations": pd.concat(orgs, ignore_index=True),
              "things": pd.concat(things, ignore_index=True), "places": places}
    return {kind: conform(frame, kind) for kind, frame in frames.items()}


async def load_registry(conn: AsyncConnection, township: str) -> dict[str, int]:
    """Fill one township's grids with the synthetic registry, through the ordinary import."""
    rows = (await conn.execute(text(
        "SELECT g.code, g.households, g.village_code, ST_AsBinary(gv.geom) AS wkb FROM grid g "
        "JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL "
        "WHERE g.village_code LIKE :t || '%' ORDER BY g.code"), {"t": township})).mappings().all()
    grids = pd.DataFrame([{k: r[k] for k in ("code", "households", "village_code")} for r in rows])
    grids = grids.assign(geometry=shapely.from_wkb([r["wkb"] for r in rows]))
    counts = {}
    for kind, frame in registry_frames(grids).items():
        result = await import_registry(conn, kind, frame,
                                       by=Importer(origin="mapsvc demo", file="演示登记"))
        counts[kind] = result.stored
    return counts
