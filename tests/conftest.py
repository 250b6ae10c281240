"""Fixtures: a throwaway database in the embedded cluster, a small real hierarchy, a live server.

Everything runs against the real PostGIS the Makefile starts; the API is served by `mapsvc serve`
on a free local port and spoken to over HTTP.
"""

import os

from mapsvc.settings import ClusterSettings

os.environ.setdefault("MAPSVC_DATABASE_NAME", "mapsvc_test")
# the suite spread over processes (pytest-xdist's workers, a file to each in turn): each
# takes a database of its own, named from the one it inherits, and a folder of photos
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if WORKER:
    os.environ["MAPSVC_DATABASE_NAME"] += f"_{WORKER}"
    # a worker is given COLUMNS=80, which the CLI's console, made on import, would keep as its
    # width: the tests say the width they read its tables at
    os.environ.pop("COLUMNS", None)
# passwords hashed at OWASP's first Argon2id cost (19 MiB over 2 passes, a thread), not at the
# service's (64 MiB over 3, four threads): the suite signs in a thousand times
os.environ.update(MAPSVC_AUTH_HASH_MEMORY_KIB="19456", MAPSVC_AUTH_HASH_PASSES="2",
                  MAPSVC_AUTH_HASH_LANES="1")
TEST_MEDIA = ClusterSettings().dir / "test-media" / os.environ["MAPSVC_DATABASE_NAME"]
os.environ["MAPSVC_MEDIA_ROOT"] = str(TEST_MEDIA)

import asyncio
import concurrent.futures
import csv
import io
import itertools
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from functools import partial
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
import shapely
from sqlalchemy import text

from mapsvc.boundaries.synthetic import generate
from mapsvc.db.engine import in_transaction, sync_engine
from mapsvc.db.setup import prepare_database
from mapsvc.demo import load_hierarchy
from tests.planning import Area

# Two real seed counties: 汕尾市城区 (coastal: points out at sea are in no grid) and 武汉市武昌区.
TEST_COUNTIES = ["441502", "420106"]
TEST_GRIDS = 400
ARTIFACTS = Path(__file__).parent / "artifacts"


def pytest_collection_modifyitems(items):
    """The files of tests marked ``long`` first, the most such tests first (a file marked
    whole, of many pages driven in a browser, runs for minutes): spread over processes (xdist,
    told to keep this order, hands a process the next file as it ends one), the suite then
    ends on short files, not on one of minutes left to the last."""
    long_tests = Counter(item.path for item in items if item.get_closest_marker("long"))
    items.sort(key=lambda item: -long_tests[item.path])


def run(coro):
    """Run a coroutine to its end, also beside a running loop (Playwright's sync API keeps one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def database_url() -> str:
    shutil.rmtree(TEST_MEDIA, ignore_errors=True)  # the photos of the database dropped
    return prepare_database(fresh=True)


@pytest.fixture
def database_at(database_url):
    """A database of its own at a migration: (its name, the revision) → a way to connect to it
    and one to upgrade it to the newest; dropped after the test."""
    import psycopg
    from alembic import command
    from sqlalchemy.engine import make_url

    from mapsvc.db.cluster import Cluster
    from mapsvc.db.engine import conninfo
    from mapsvc.db.migrate import alembic_config
    from mapsvc.settings import ClusterSettings

    made = []

    def at(name: str, revision: str):
        scratch = make_url(database_url).set(database=name)
        Cluster(ClusterSettings()).ensure_database(name, fresh=True)
        made.append(name)
        config = alembic_config(scratch.render_as_string(hide_password=False))
        command.upgrade(config, revision)
        connect = partial(psycopg.connect, conninfo(scratch))
        return connect, partial(command.upgrade, config, "head")

    yield at
    postgres = conninfo(make_url(database_url).set(database="postgres"))
    for name in made:
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def db(database_url):
    """A synchronous engine for looking at what the service stored."""
    engine = sync_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def hierarchy(database_url, tmp_path_factory):
    """The synthetic hierarchy of the two test counties, loaded through the boundary import."""
    h = generate(TEST_GRIDS, TEST_COUNTIES)
    files = h.write(tmp_path_factory.mktemp("demo"))
    run(in_transaction(lambda conn: load_hierarchy(conn, files)))
    return h


@pytest.fixture(scope="session")
def grids(db, hierarchy) -> gpd.GeoDataFrame:
    """The grids in force, read back from the database (what the service decides on)."""
    with db.connect() as conn:
        rows = conn.execute(text(
            "SELECT g.code, g.kind, g.village_code, ST_AsBinary(gv.geom) AS wkb FROM grid g "
            "JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL "
            "ORDER BY g.code")).all()
    return gpd.GeoDataFrame({"code": [r.code for r in rows], "kind": [r.kind for r in rows],
                             "village_code": [r.village_code for r in rows]},
                            geometry=shapely.from_wkb([r.wkb for r in rows]), crs=4326)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The API served by `mapsvc serve` on a local port."""

    def __init__(self, name: str, port: int | None = None, workers: int = 1,
                 env: dict | None = None, verify: ssl.SSLContext | bool = True):
        """``verify``: what checks the certificate of a server given one (in ``env``)."""
        self.name, self.port, self.workers = name, port or free_port(), workers
        self.env, self.verify = env or {}, verify
        scheme = "https" if "MAPSVC_API_TLS_CERTFILE" in self.env else "http"
        self.base = f"{scheme}://127.0.0.1:{self.port}"
        self.proc = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "mapsvc.cli", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", str(self.workers)]

    def start(self) -> "Server":
        ARTIFACTS.mkdir(exist_ok=True)
        log = open(ARTIFACTS / f"{self.name}.log", "a")
        self.proc = subprocess.Popen(
            self.command(),
            # tiles reread the data's revisions on every request, and phones ask for their
            # cases every second: a test sees a change at once
            env={**os.environ, "MAPSVC_TILES_REVISION_SECONDS": "0",
                 "MAPSVC_TILES_AGGREGATE_SECONDS": "0",
                 "MAPSVC_PAGES_PHONE_REFRESH_SECONDS": "1",
                 "MAPSVC_PAGES_PHONE_STALL_SECONDS": "3", **self.env}, stdout=log,
            stderr=subprocess.STDOUT)
        log.close()
        for _ in range(300):
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=1,
                             verify=self.verify).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the API server did not start; see tests/artifacts/{self.name}.log")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def serve_to_its_end(env: dict) -> subprocess.CompletedProcess:
    """`mapsvc serve` on a free port with ``env``, run until it ends (one that refuses to
    serve ends at once, saying why)."""
    return subprocess.run([sys.executable, "-m", "mapsvc.cli", "serve", "--port",
                           str(free_port())], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


@pytest.fixture(scope="session")
def server(database_url, hierarchy):
    name = "-".join(filter(None, ["server", WORKER]))
    (ARTIFACTS / f"{name}.log").unlink(missing_ok=True)
    served = Server(name).start()
    yield served.base
    served.stop()


PASSWORD = "Test-Passw0rd"


@pytest.fixture(scope="session")
def accounts(hierarchy, db):
    """One account per role and scope: username → (role, scope). Grid workers and the chief work
    in the first village of 汕尾市城区, as they always have (their periods in their grids run
    from the start: the tests' cases are reported at any time); the command centre covers that
    county, shanwei's its city, city's everything; the planner 武昌区; the auditor reads the
    audit alone."""
    from mapsvc.accounts.model import Role
    from mapsvc.accounts.store import create_account, worked_all_along

    village = hierarchy.grids[hierarchy.grids["parent_code"].str.startswith("441502")]
    village = village[village["parent_code"] == village["parent_code"].iloc[0]]
    codes = list(village["code"])
    specs = {
        "admin": (Role.admin, {}),
        "city": (Role.command, {}),
        "shanwei": (Role.command, {"region_code": "4415"}),  # 汕尾市's centre, above 城区's
        "command": (Role.command, {"region_code": "441502"}),
        "township_command": (Role.command, {"region_code": codes[0][:9]}),
        "chief": (Role.grid_chief, {"grid_codes": codes}),
        "worker": (Role.grid_worker, {"grid_codes": codes[:1]}),
        "department": (Role.department, {"department_code": "T1"}),
        "planner": (Role.planner, {"region_code": "420106"}),
        "auditor": (Role.auditor, {}),
    }
    with db.begin() as conn:
        conn.execute(text("INSERT INTO department (code, name) VALUES ('T1', '测试局')"))

    async def create(conn):
        for username, (role, scope) in specs.items():
            await create_account(conn, username, PASSWORD, role, origin="tests", **scope)
        await worked_all_along(conn)

    run(in_transaction(create))
    return specs


def new_account(role: str = "command", to_change: bool = False, **scope) -> str:
    """An account of a name of its own (also from a test driving a browser), with the tests'
    password (``to_change``: as an administrator set it): by default a command centre's over
    汕尾市城区; its name is also the name it shows."""
    from mapsvc.accounts.model import Role
    from mapsvc.accounts.store import create_account

    name = f"guarded_{uuid.uuid4().hex[:8]}"
    scope = scope or {"region_code": "441502"}
    run(in_transaction(lambda conn: create_account(conn, name, PASSWORD, Role(role),
                                                   display_name=name, origin="tests",
                                                   to_change=to_change, **scope)))
    return name


def with_an_administrator(url: str, username: str) -> None:
    """The database at ``url`` (a test's own) brought to the newest schema, its calendar
    seeded, and an administrator ``username`` with the tests' password made in it."""
    from mapsvc.accounts.model import Role
    from mapsvc.accounts.store import create_account
    from mapsvc.db.migrate import upgrade
    from mapsvc.db.setup import seed_calendar

    upgrade(url)
    seed_calendar(url)
    run(in_transaction(lambda conn: create_account(conn, username, PASSWORD, Role.admin,
                                                   origin="tests"), url))


def signed_in_client(server: str, username: str) -> httpx.Client:
    token = httpx.post(f"{server}/api/v1/auth/token",
                       data={"username": username, "password": PASSWORD}).json()["access_token"]
    # a connection idle for 2 s is dropped: reused at the 5 s the server keeps it open
    # (uvicorn's keep-alive), the server may close it as the request goes out
    return httpx.Client(base_url=f"{server}/api/v1", timeout=30,
                        limits=httpx.Limits(keepalive_expiry=2),
                        headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="session")
def clients(server, accounts):
    """A signed-in HTTP client per test account."""
    made = {username: signed_in_client(server, username) for username in accounts}
    yield made
    for client in made.values():
        client.close()


@pytest.fixture(scope="session")
def api(clients):
    """The admin's client: sees and may do everything."""
    return clients["admin"]


@pytest.fixture(scope="session")
def lattice(database_url, tmp_path_factory):
    from tests import lattice as lat

    files = lat.write_files(tmp_path_factory.mktemp("lattice"))
    run(in_transaction(lambda conn: load_hierarchy(conn, files)))
    return lat


_areas = itertools.count(1)


def csv_bytes(columns, rows) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=columns)
    w.writeheader()
    w.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def worker_spot(accounts, grids):
    """The worker's first grid and a point inside it: (code, point)."""
    code = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == code].geometry.iloc[0].representative_point()
    return code, p


def registered(client: httpx.Client, kind: str, rows: list[dict], **form) -> dict:
    """``rows`` (the columns: the first row's keys) uploaded as a registry file of ``kind``
    (``form``: the county of rows without one, their CRS), none rejected: the import's
    answer."""
    r = client.post(f"/registry/import/{kind}", data=form,
                    files={"file": (f"{kind}.csv", csv_bytes(list(rows[0]), rows), "text/csv")})
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
    return r.json()


@pytest.fixture(scope="session")
def lettered_classes(api) -> tuple[str, str]:
    """A class whose code holds letters and one under it: (parent, child)."""
    tree = csv_bytes(["code", "name", "parent_code"], [
        {"code": "Qz", "name": "字母大类", "parent_code": ""},
        {"code": "Qzb", "name": "字母小类", "parent_code": "Qz"}])
    assert api.post("/categories/import", files={"file": ("tree.csv", tree)}).status_code == 200
    return "Qz", "Qzb"


async def store_cases(conn, points, category: str = "0601") -> None:
    """Open cases at ``points`` ((lon, lat) pairs), stored by the bulk import on ``conn``."""
    import pandas as pd

    from mapsvc.incidents.bulk import OPTIONAL, REQUIRED, import_incidents

    frame = pd.DataFrame({**{c: "" for c in OPTIONAL},
                          "client_id": [str(uuid.uuid4()) for _ in points], "category": category,
                          "lon": [str(p[0]) for p in points], "lat": [str(p[1]) for p in points]})
    stored = await import_incidents(conn, frame[[*REQUIRED, *OPTIONAL]], actor="test")
    assert stored.inserted == len(points) and not stored.errors


@pytest.fixture
def area(clients, hierarchy, tmp_path):
    """A fresh area: village of grids A, B, C; households at known points (people: A 2, B west
    1, B east 4 in 2 households, C 1); a component and an organisation in B's east; open cases
    in B's west and east, a voided one in B's west."""
    a = Area(next(_areas))
    run(in_transaction(lambda conn: load_hierarchy(conn, a.write_files(tmp_path / "area"))))
    admin = clients["admin"]
    homes = {"A1": (0.5, 0.5), "B1": (1.25, 0.5), "B2": (1.75, 0.5), "C1": (2.5, 0.5)}
    registered(admin, "addresses", [{"address": f"规划路{n}号", "lon": a.at(*p)[0],
                                      "lat": a.at(*p)[1]} for n, p in homes.items()],
               county=a.county)
    people = [("A1", "1"), ("A1", "1"), ("B1", "1"), ("B2", "1"), ("B2", "1"), ("B2", "1"),
              ("B2", "2"), ("C1", "1")]
    registered(admin, "people", [{"address": f"规划路{n}号", "name": f"居民{i}",
                                  "registration": "resident", "household": h}
                                 for i, (n, h) in enumerate(people)], county=a.county)
    x, y = a.at(1.75, 0.25)
    registered(admin, "things", [{"component_id": f"{a.county}0301000001", "name": "井盖",
                                  "lon": x, "lat": y}])
    x, y = a.at(1.8, 0.6)
    registered(admin, "organisations", [{"name": "规划测试卫生站", "kind": "hospital", "lon": x,
                                         "lat": y}])
    cases = {}
    for name, (i, j) in {"west": (1.2, 0.5), "east": (1.75, 0.55), "void": (1.2, 0.6)}.items():
        x, y = a.at(i, j)
        r = admin.post("/incidents", json={
            "client_id": f"00000000-0000-4000-8{a.k:03d}-{len(cases):012d}", "category": "06",
            "description": f"规划测试{name}", "lon": x, "lat": y})
        assert r.status_code == 201, r.text
        cases[name] = r.json()["id"]
    r = admin.post(f"/incidents/{cases['void']}/actions/void", json={"note": "重复上报"})
    assert r.status_code == 200, r.text
    return a, cases


def written_at_once(db, first, second, params_first: dict, params_second: dict) -> None:
    """Run the statement ``first``, and from another session ``second`` before the first
    commits: the second must wait for a lock, and finish once the first has committed."""
    done = threading.Event()
    with db.connect() as one, db.connect() as two:
        one.execute(first, params_first)

        def write_second():
            two.execute(second, params_second)
            two.commit()
            done.set()

        writer = threading.Thread(target=write_second)
        writer.start()
        pid = two.connection.dbapi_connection.info.backend_pid
        for _ in range(200):
            with db.connect() as watch:
                waiting = watch.execute(text("SELECT wait_event_type FROM pg_stat_activity "
                                             "WHERE pid = :p"), {"p": pid}).scalar()
            if waiting == "Lock":
                break
            time.sleep(0.05)
        assert waiting == "Lock" and not done.is_set()
        one.commit()
        writer.join(timeout=30)
        assert done.is_set()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright (see tests/browser.py)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch

    with sync_playwright() as p:
        launched = launch(p)
        yield launched
        launched.close()
