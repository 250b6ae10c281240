"""The service starts on a migrated PostGIS and says which versions it runs on."""

import concurrent.futures
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from benchmarks.wrk import connections_per_worker
from mapsvc.db.migrate import upgrade
from mapsvc.db.schema import metadata
from mapsvc.settings import ClusterSettings
from tests.conftest import Server, free_port, serve_to_its_end

pytestmark = pytest.mark.long  # servers started and stopped, minutes in all


def test_health_reports_database_and_postgis_versions(api):
    r = api.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"].startswith("PostgreSQL 1")
    assert body["postgis"].split(".")[0] == "3"


def test_openapi_docs_are_served(api, server):
    import httpx

    assert httpx.get(f"{server}/docs").status_code == 200
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    assert {"/api/v1/locate", "/api/v1/incidents", "/api/v1/incidents/import",
            "/api/v1/regions", "/api/v1/grids", "/api/v1/health",
            "/ogc/collections/{name}/tiles/WebMercatorQuad/{z}/{x}/{y}"} <= set(paths)
    tile = paths["/ogc/collections/{name}/tiles/WebMercatorQuad/{z}/{x}/{y}"]["get"]
    assert {(p["in"], p["name"]) for p in tile["parameters"]} >= {
        ("path", "z"), ("path", "x"), ("path", "y"), ("query", "window"), ("query", "visit_days")}
    locate = paths["/api/v1/locate"]["get"]
    assert {(p["name"], p["required"]) for p in locate["parameters"]} == {
        ("lon", True), ("lat", True), ("crs", False), ("at", False), ("accuracy_m", False)}
    report = paths["/api/v1/incidents"]["post"]
    assert report["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IncidentReport"}
    assert {"200", "201", "409", "422"} <= set(report["responses"])
    assert "get" in paths["/api/v1/incidents"]  # the list, beside it


def test_the_api_docs_load_nothing_from_beyond_mapsvc(server, browser):
    """Swagger UI comes from mapsvc's own copy: the docs work on a network that reaches
    nothing else, as a command centre's often does."""
    from urllib.parse import urlsplit

    from tests.browser import Watch, wait_until

    context = browser.new_context()
    page = context.new_page()
    watch, hosts = Watch(page), set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    page.goto(f"{server}/docs")
    wait_until(page, "document.querySelectorAll('.opblock').length > 20", "the operations")
    assert page.inner_text(".info .title").startswith("mapsvc")
    assert hosts == {urlsplit(server).netloc}
    assert watch.problems == []
    context.close()


def test_a_method_a_path_does_not_take_is_answered_405_not_read_as_an_id(api, server):
    """/incidents/import and /plans/propose take POST only: a GET names no incident or plan.
    A 405 names every method its path takes, of all its routes."""
    import httpx

    for path in ("/incidents/import", "/plans/propose"):
        r = api.get(path)
        assert (r.status_code, r.headers.get("allow")) == (405, "POST"), (path, r.text)
    for method, path, allowed in (("DELETE", "/incidents", "GET, POST"),
                                  ("PATCH", "/auth/session", "DELETE, POST"),
                                  ("PUT", "/plans", "GET, POST")):
        r = api.request(method, path)
        assert (r.status_code, r.headers.get("allow")) == (405, allowed), (path, r.text)
    assert api.get("/incidents/-1").status_code == 404
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    assert {"/api/v1/incidents/{incident_id}", "/api/v1/plans/{plan_id}/impact"} <= set(paths)


_NO_TEXT = {"content": b"\xfe\xff\x00", "headers": {"Content-Type": "application/json"}}


@pytest.mark.parametrize("who,method,path,sent,operation,status", [
    (None, "get", "/regions", {}, "/regions", 401),
    ("worker", "get", "/plans/1", {}, "/plans/{plan_id}", 403),
    ("admin", "get", "/plans/999999999", {}, "/plans/{plan_id}", 404),
    ("admin", "get", "/incidents/999999999/timeline", {}, "/incidents/{incident_id}/timeline",
     404),
    ("worker", "post", "/incidents/import", {}, "/incidents/import", 403),
    ("admin", "post", "/incidents", {"json": {"description": "长" * 70_000}}, "/incidents", 413),
    ("admin", "post", "/plans", _NO_TEXT, "/plans", 400),
    ("planner", "get", "/stats", {}, "/stats", 403),
    ("planner", "post", "/media", {"files": {"file": ("a.jpg", b"\xff\xd8")}}, "/media", 403),
    ("admin", "get", "/stats?department=none", {}, "/stats", 404),
])
def test_the_api_description_names_the_errors_its_operations_answer(clients, server, who, method,
                                                                     path, sent, operation,
                                                                     status):
    import httpx

    if who is None:
        answer = httpx.request(method, f"{server}/api/v1{path}", **sent)
    else:
        answer = clients[who].request(method, path, **sent)
    assert answer.status_code == status
    described = httpx.get(f"{server}/openapi.json").json()["paths"][f"/api/v1{operation}"]
    assert str(status) in described[method]["responses"]


def test_every_operation_and_every_parameter_it_reads_beside_its_path_says_what_it_is(server):
    """In /docs: what each operation does, and what each query parameter and header asks, so
    that a hotline's or a city platform's integrator can read them there."""
    import httpx

    described = httpx.get(f"{server}/openapi.json").json()["paths"]
    unsaid = [f"{method.upper()} {path}" for path, operations in described.items()
              for method, operation in operations.items()
              if not operation.get("description", "").strip()]
    assert unsaid == []
    unsaid = [f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
              for path, operations in described.items()
              for method, operation in operations.items()
              for parameter in operation.get("parameters", ()) if parameter["in"] != "path"
              and not (parameter.get("description") or parameter["schema"].get("description"))]
    assert unsaid == []


def test_every_schema_the_api_description_refers_to_is_in_it(server):
    import httpx

    described = httpx.get(f"{server}/openapi.json").json()
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(described)))
    assert {"Location", "CRS", "IncidentReport"} <= refs
    assert refs <= set(described["components"]["schemas"])


def test_every_parameter_of_a_path_is_described(server):
    """A client made from the description fills in each ``{name}`` of a path (Open311's case
    and service code among them)."""
    described = httpx.get(f"{server}/openapi.json").json()["paths"]
    missing = {(method, path, name) for path, operations in described.items()
               for method, operation in operations.items()
               for name in re.findall(r"{(\w+)}", path)
               if name not in {p["name"] for p in operation.get("parameters", ())
                               if p["in"] == "path"}}
    assert missing == set()
    assert "/open311/v2/requests/{case}.{fmt}" in described


def test_the_embedded_cluster_caches_a_quarter_of_the_machines_memory(db, monkeypatch):
    from mapsvc.db.cluster import Cluster, memory_mb
    from mapsvc.settings import ClusterSettings

    available = memory_mb()
    assert 0 < available <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    with db.connect() as conn:
        pages = conn.execute(text(
            "SELECT setting::bigint FROM pg_settings WHERE name = 'shared_buffers'")).scalar_one()
    running_mb = pages * 8 / 1024
    assert running_mb <= available / 4
    assert running_mb == 8192 or running_mb > available / 4 - 1
    monkeypatch.setenv("MAPSVC_CLUSTER_SHARED_BUFFERS_MB", "300")
    assert Cluster(ClusterSettings()).shared_buffers_mb() == 300


def test_the_embedded_cluster_loads_postgis_once_for_all_its_backends(database_url):
    """A new connection has PostGIS loaded before its first spatial call: the server loaded it
    at its start, and each backend (and each worker of a parallel query) inherits it."""
    import psycopg

    from mapsvc.db.engine import conninfo

    with psycopg.connect(conninfo(database_url)) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        mapped = Path(f"/proc/{pid}/maps").read_text()
    assert "/postgis-3" in mapped


def test_the_service_reaches_the_embedded_cluster_through_its_socket(api, db):
    """The service's connections (and every other of mapsvc's) come through the cluster's
    Unix socket, which has no client address, not through its loopback port."""
    assert api.get("/health").status_code == 200  # which asks the database
    with db.connect() as conn:
        clients = conn.execute(text(
            "SELECT client_addr FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_type = 'client backend'")).all()
    assert len(clients) > 1  # this test's and the service's
    assert {c.client_addr for c in clients} == {None}


def test_the_workers_of_a_server_share_its_new_connections_out(database_url):
    """Each of `mapsvc serve --workers 2`'s workers listens on a socket of its own and the
    kernel spreads new connections over them by their addresses: clients connecting one after
    the other do not pile onto one worker (as on one shared socket, which hands most of them
    to the worker that waited last). A worker that dies is replaced by one listening likewise."""
    served = Server("workers", workers=2).start()
    try:
        splits = [connect_and_count(served, 100) for _ in range(3)]
        dead = next(iter(splits[0]))  # a worker's process id
        os.kill(dead, signal.SIGKILL)
        waited_until = time.monotonic() + 120  # its replacement starts in seconds, or more
        while time.monotonic() < waited_until and not replaced(served):  # on a busy machine
            time.sleep(0.2)
        after = connect_and_count(served, 100)  # a round it listened through from the start
    finally:
        served.stop()
    # by the hash, a worker takes fewer than a quarter of a round once in some five million
    assert all(len(held) == 2 and min(held.values()) >= 25 for held in [*splits, after]), \
        (splits, after)
    assert dead not in after


def replaced(served: Server) -> bool:
    """Whether both workers take connections again, one having died: until its replacement
    starts, the connections the kernel gives its socket wait there, taken by none."""
    try:
        return len(connect_and_count(served, 100)) == 2
    except AssertionError:
        return False


def connect_and_count(served: Server, clients: int) -> Counter:
    """How many of ``clients`` connections, made one after the other, each worker took."""
    opened = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(clients)]
    try:
        for _ in range(100):  # until the workers have taken them from their sockets
            held = connections_per_worker(served.base)
            if sum(held.values()) == clients:
                return held
            time.sleep(0.05)
        raise AssertionError(f"the workers took {held} of {clients} connections")
    finally:
        for client in opened:
            client.close()


def test_a_server_started_on_an_address_already_served_stops_and_says_so(database_url):
    """A second `mapsvc serve` on the address of one running neither joins its workers nor
    disturbs it: it stops, naming the address, and the first one serves on."""
    served = Server("first", workers=2).start()
    try:
        second = subprocess.run(Server("second", served.port, workers=2).command(),
                                capture_output=True, text=True)
        assert second.returncode == 2
        assert f"cannot serve on 127.0.0.1:{served.port}: Address already in use" \
            in second.stderr
        # `mapsvc stop` would still stop the first
        assert (ClusterSettings().dir / f"server-{served.port}.pid").read_text() \
            == str(served.proc.pid)
        assert httpx.get(f"{served.base}/api/v1/health").status_code == 200
    finally:
        served.stop()


def test_stop_stops_the_servers_and_leaves_a_process_given_a_stale_ones_id_alone(database_url,
                                                                                tmp_path):
    """`mapsvc stop` stops what `mapsvc serve` started. The file of a server that did not end
    cleanly (killed, a power cut) names a process id the system may since have given another
    process: that one is left alone, and the file goes."""
    import sys

    env = {"MAPSVC_CLUSTER_DIR": str(tmp_path), "MAPSVC_DATABASE_URL": database_url}
    served = Server("stopped", env=env).start()
    bystander = subprocess.Popen(["sleep", "120"])
    (tmp_path / "server-1.pid").write_text(str(bystander.pid))
    try:
        stop = subprocess.run([sys.executable, "-m", "mapsvc.cli", "stop"], capture_output=True,
                              text=True, env={**os.environ, **env}, timeout=60)
        assert stop.returncode == 0, stop.stderr
        assert served.proc.wait(30) is not None
        assert bystander.poll() is None
        assert list(tmp_path.glob("server-*.pid")) == []
    finally:
        bystander.kill()
        if served.proc.poll() is None:
            served.stop()


def test_a_server_stopped_by_its_service_manager_takes_its_process_file_with_it(database_url,
                                                                               tmp_path):
    """SIGTERM (systemd's stop, `kill`): the server ends and its file goes, with one worker
    and with two."""
    env = {"MAPSVC_CLUSTER_DIR": str(tmp_path), "MAPSVC_DATABASE_URL": database_url}
    for workers in (1, 2):
        served = Server(f"terminated-{workers}", workers=workers, env=env).start()
        assert len(list(tmp_path.glob("server-*.pid"))) == 1
        served.stop()
        assert list(tmp_path.glob("server-*.pid")) == []


@contextmanager
def cluster_of_its_own(prefix: str, checkout: str = ""):
    """An embedded cluster (not started) in a checkout of its own, ``checkout`` deep in a
    new directory named from ``prefix``, on a port no connection holds (one ending in
    TIME_WAIT on it would keep the server off it); stopped and its files gone after."""
    import shutil
    import tempfile

    from mapsvc.db.cluster import Cluster

    top = Path(tempfile.mkdtemp(prefix=prefix))
    top.chmod(0o755)  # the server's own user (as root: postgres) reaches the checkout
    cluster = Cluster(ClusterSettings(dir=top / checkout / ".mapsvc", port=free_port()))
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.rundir, ignore_errors=True)
        shutil.rmtree(top, ignore_errors=True)


def test_a_cluster_in_a_deep_checkout_starts_with_its_socket_elsewhere():
    """A checkout whose path leaves no room for the socket's name in a socket address (107
    bytes) still gets its cluster: the socket goes to a directory of its own."""
    import psycopg

    from mapsvc.db.cluster import SOCKET_PATH_MAX
    from mapsvc.db.engine import conninfo

    with cluster_of_its_own("mapsvc-deep-", "checkout-of-a-county-centre-" * 3) as cluster:
        port = cluster.settings.port
        assert len(str(cluster.settings.dir / "run" / f".s.PGSQL.{port}")) > SOCKET_PATH_MAX
        cluster.start()
        cluster.ensure_database("mapsvc")
        with psycopg.connect(conninfo(cluster.url())) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("mapsvc",)
            assert conn.info.host == str(cluster.rundir)
        assert len(str(cluster.rundir)) < SOCKET_PATH_MAX - len(f".s.PGSQL.{port}")


def test_processes_starting_together_set_up_one_cluster_and_start_it_once():
    """A fresh checkout's first commands, run at once (the test suite's workers, a server
    beside `mapsvc db start`): one of them sets the cluster up, all find it running, and it
    answers to the one password they all hold."""
    import psycopg

    from mapsvc.db.engine import conninfo

    with cluster_of_its_own("mapsvc-together-") as cluster:
        starting = threading.Barrier(3)

        def start():
            starting.wait()
            cluster.start()
            return cluster.password()

        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            passwords = list(pool.map(lambda _: start(), range(3)))
        assert len(set(passwords)) == 1
        with psycopg.connect(conninfo(cluster.url("postgres"))) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_keys_generated_by_processes_starting_together_are_one_whole_key(tmp_path):
    """The keys mapsvc generates on a checkout's first start (the token secret, the privacy
    key, the cluster's password), reached for by several processes at once: all of them read
    the same key, whole, in a file its owner alone may read, and nothing else is left behind."""
    from mapsvc.settings import generated_secret

    for round in range(20):
        path = tmp_path / f"key-{round}"
        starting = threading.Barrier(8)

        def generate():
            starting.wait()
            return generated_secret(path, nbytes=32)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            keys = list(pool.map(lambda _: generate(), range(8)))
        assert len(set(keys)) == 1 and len(keys[0]) == 43, keys
        assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"key-{r}" for r in range(20))


def test_migrations_match_the_table_definitions(db):
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # Tables or columns missing on either side (PostGIS's own spatial_ref_sys aside).
    structural = [d for d in diff if d[0] in ("add_table", "remove_table", "add_column",
                                              "remove_column")
                  and not (d[0] == "remove_table" and d[1].name == "spatial_ref_sys")]
    assert structural == []


def test_upgrading_again_changes_nothing(db, database_url):
    with db.connect() as conn:
        before = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    upgrade(database_url)
    with db.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == before


def test_every_migration_goes_down_and_up_again(database_url):
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from mapsvc.db.cluster import Cluster
    from mapsvc.db.migrate import alembic_config
    from mapsvc.registry.privacy import MOBILE, encrypt, phone_hash
    from mapsvc.settings import ClusterSettings

    scratch = make_url(database_url).set(database="mapsvc_migrations")
    Cluster(ClusterSettings()).ensure_database("mapsvc_migrations", fresh=True)
    config = alembic_config(scratch.render_as_string(hide_password=False))
    command.upgrade(config, "0086")
    # the mobiles registered before they were kept beside a keyed hash are hashed on the way
    engine = create_engine(scratch)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO person (name, mobile_enc, registration) "
                          "VALUES ('旧住户', :mobile, 'resident'), ('无手机', NULL, 'resident')"),
                     {"mobile": encrypt("13800001111", MOBILE)})
    command.upgrade(config, "head")
    with engine.connect() as conn:
        hashed = dict(conn.execute(text("SELECT name, mobile_hash FROM person")).all())
    engine.dispose()
    assert hashed == {"旧住户": phone_hash("13800001111"), "无手机": None}
    command.downgrade(config, "base")
    command.upgrade(config, "head")


def test_serve_refuses_a_database_not_at_the_schema_it_needs(database_url):
    """Served with no schema, one not yet upgraded or a newer mapsvc's, every request would
    fail: `mapsvc serve` says so and what to do, and serves nothing."""
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from mapsvc.db.cluster import Cluster
    from mapsvc.db.migrate import alembic_config

    Cluster(ClusterSettings()).ensure_database("mapsvc_test_behind", fresh=True)
    behind = make_url(database_url).set(database="mapsvc_test_behind").render_as_string(False)
    env = {"MAPSVC_DATABASE_NAME": "mapsvc_test_behind"}
    said = serve_to_its_end(env)
    assert said.returncode == 2
    assert "the database has no schema yet: run `mapsvc db upgrade`" in said.stderr
    command.stamp(alembic_config(behind), "0001")
    said = serve_to_its_end(env)
    assert said.returncode == 2
    assert "the database's schema is at migration 0001 and this mapsvc needs" in said.stderr
    assert "run `mapsvc db upgrade`" in said.stderr
    engine = create_engine(behind)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9001'"))
    engine.dispose()
    said = serve_to_its_end(env)
    assert said.returncode == 2
    assert "at migration 9001, which this mapsvc does not know" in said.stderr
    said = serve_to_its_end({"MAPSVC_DATABASE_URL":
                             "postgresql+psycopg://nobody:x@127.0.0.1:1/none"})
    assert said.returncode == 2 and "cannot reach the database: connection failed" in said.stderr


def test_while_the_database_is_away_requests_answer_503_and_are_served_once_it_is_back():
    """The database restarted (an upgrade of the machine, a crash): the next read is served
    as ever; while it is away every request answers 503 with when to try again, and the log
    says so in a line each; once it is back, a report sent again is stored, once."""
    import uuid

    from tests.conftest import ARTIFACTS, signed_in_client, with_an_administrator

    with cluster_of_its_own("mapsvc-away-") as cluster, ExitStack() as after:
        cluster.start()
        cluster.ensure_database("mapsvc")
        url = cluster.url().render_as_string(hide_password=False)
        with_an_administrator(url, "away")
        (ARTIFACTS / "away.log").unlink(missing_ok=True)
        served = Server("away", env={"MAPSVC_DATABASE_URL": url,
                                     "MAPSVC_DATABASE_NAME": "mapsvc",
                                     "MAPSVC_CLUSTER_DIR": str(cluster.settings.dir),
                                     # a read gives the database up after a second, not five
                                     "MAPSVC_DATABASE_WAIT_SECONDS": "1"}).start()
        after.callback(served.stop)
        api = signed_in_client(served.base, "away")
        report = {"client_id": str(uuid.uuid4()), "category": "05", "lon": 115.37, "lat": 22.79}
        where = {"lon": 115.37, "lat": 22.79}
        assert api.get("/locate", params=where).status_code == 200
        cluster.stop()  # restarted between two requests
        cluster.start()
        assert api.get("/locate", params=where).status_code == 200  # at once
        cluster.stop()
        for answer, operation in ((api.get("/health"), "/api/v1/health"),
                                  (api.get("/locate", params=where), "/api/v1/locate"),
                                  (api.post("/incidents", json=report), "/api/v1/incidents")):
            assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
            assert answer.json()["detail"] == ("the database cannot be reached just now: "
                                               "try again shortly")
            method = answer.request.method.lower()
            described = httpx.get(f"{served.base}/openapi.json").json()["paths"][operation]
            assert "503" in described[method]["responses"]
        for _ in range(3):  # a longer outage, over which the pool's attempts back off
            assert api.get("/locate", params=where).status_code == 503
        cluster.start()
        assert api.get("/locate", params=where).status_code == 200  # the first read, served
        for _ in range(2):  # the lost answer's retry, and its retry
            stored = api.post("/incidents", json=report)
            if stored.status_code != 503:  # a connection of before, found dropped: once
                break
        assert stored.status_code == 201
        assert api.post("/incidents", json=report).status_code == 200
        assert len(api.get("/incidents").json()["features"]) == 1
        log = (ARTIFACTS / "away.log").read_text()
        assert "POST /api/v1/incidents: the database is unavailable: " in log
        assert "Traceback" not in log


def test_the_commands_help_lists_each_command_in_a_sentence_of_its_own_length():
    """`mapsvc --help` lists the commands, each said by its description's first paragraph
    as one text, wrapped to the terminal's width, not broken where its source's lines end;
    and `mapsvc serve --help` says what the server's options default to."""
    from typer.testing import CliRunner

    from mapsvc.cli import app

    wide = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "400"}).output
    [serve] = [line for line in wide.splitlines() if line.startswith("│ serve ")]
    assert serve.split("│")[1].split(None, 1)[1].strip() == (
        "Serve the API (OpenAPI docs at /docs), over HTTPS given a certificate "
        "(MAPSVC_API_TLS_CERTFILE, MAPSVC_API_TLS_KEYFILE), once the database is up and at "
        "the schema this mapsvc needs (the embedded cluster started if used).")
    told = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "400"}).output
    assert "address to listen on (else MAPSVC_API_HOST, 127.0.0.1)" in told


def test_every_commands_arguments_and_options_say_what_they_are():
    from typer.main import get_command

    from mapsvc.cli import app

    def commands(group, path):
        for name, command in getattr(group, "commands", {}).items():
            yield f"{path} {name}", command
            yield from commands(command, f"{path} {name}")

    unsaid = [f"{path} {p.name}" for path, command in commands(get_command(app), "mapsvc")
              if command.callback for p in command.params if not p.help]
    assert unsaid == []
