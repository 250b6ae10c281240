"""Who may see and do what, where: roles, jurisdiction, tokens (the permission matrix)."""

import getpass
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest
from shapely.geometry import box
from sqlalchemy import text
from typer.testing import CliRunner

from mapsvc import settings
from mapsvc.accounts.model import Role
from mapsvc.accounts.store import create_account
from mapsvc.cli import app
from mapsvc.db.engine import in_transaction
from tests.conftest import PASSWORD, Server, new_account, run

ROLES = ["admin", "city", "command", "township_command", "chief", "worker", "department", "planner"]


@pytest.fixture(scope="module")
def anonymous(server):
    with httpx.Client(base_url=f"{server}/api/v1", timeout=30) as client:
        yield client


def _point(grids, code):
    return grids.set_index("code").geometry[code].representative_point()


@pytest.fixture(scope="module")
def seen(clients, grids, accounts, db):
    """Incidents placed so that each account's view differs; name → incident id."""
    chief_grids = accounts["chief"][1]["grid_codes"]
    worker_grid = accounts["worker"][1]["grid_codes"][0]
    township = worker_grid[:9]
    county_441502 = grids[grids["code"].str.startswith("441502")]
    other_township = county_441502[~county_441502["code"].str.startswith(township)].iloc[0].code
    wuchang = grids[grids["code"].str.startswith("420106")].iloc[0].code
    other_chief_grid = [c for c in chief_grids if c != worker_grid][0]
    # a county with no grids yet: what is reported there stays unassigned, in that county
    with db.begin() as conn:
        conn.execute(text(
            "INSERT INTO region (code, level, name, geom) VALUES "
            "('990300', 'county', '无网格县', ST_Multi(ST_GeomFromText(:wkt, 4326)))"),
            {"wkt": box(121.0, 21.0, 121.01, 21.01).wkt})
    run(in_transaction(lambda conn: create_account(
        conn, "empty_county", PASSWORD, Role.command, region_code="990300", origin="tests")))
    places = {"worker_grid": _point(grids, worker_grid),
              "chief_grid": _point(grids, other_chief_grid),
              "other_township": _point(grids, other_township), "wuchang": _point(grids, wuchang)}
    ids = {}
    for name, p in places.items():
        r = clients["admin"].post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "05", "lon": p.x, "lat": p.y})
        ids[name] = r.json()["id"]
    r = clients["worker"].post("/incidents", json={  # the worker reports outside their grid
        "client_id": str(uuid.uuid4()), "category": "05", "lon": places["wuchang"].x,
        "lat": places["wuchang"].y})
    assert r.status_code == 201
    ids["worker_reported_elsewhere"] = r.json()["id"]
    r = clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "05", "lon": 121.005, "lat": 21.005})
    assert r.json()["method"] == "unassigned"
    ids["unassigned_in_empty_county"] = r.json()["id"]
    return ids


VISIBLE = {
    "admin": "all", "city": "all",
    "command": {"worker_grid", "chief_grid", "other_township"},
    "township_command": {"worker_grid", "chief_grid"},
    "chief": {"worker_grid", "chief_grid"},
    "worker": {"worker_grid", "worker_reported_elsewhere"},
    "department": set(),
    "planner": {"wuchang", "worker_reported_elsewhere"},
}


@pytest.mark.parametrize("role", ROLES)
def test_each_account_lists_and_reads_only_its_jurisdiction(clients, seen, role):
    visible = set(seen) if VISIBLE[role] == "all" else VISIBLE[role]
    listed = {f["id"] for f in
              clients[role].get("/incidents", params={"limit": 1000}).json()["features"]}
    for name, incident_id in seen.items():
        assert (incident_id in listed) == (name in visible), (role, name)
        status = clients[role].get(f"/incidents/{incident_id}").status_code
        assert status == (200 if name in visible else 404), (role, name)


def test_a_command_centre_sees_unassigned_incidents_in_its_region(server, seen):
    with httpx.Client(base_url=f"{server}/api/v1") as c:
        token = c.post("/auth/token", data={"username": "empty_county",
                                             "password": PASSWORD}).json()["access_token"]
        listed = c.get("/incidents", headers={"Authorization": f"Bearer {token}"}).json()
    assert [f["id"] for f in listed["features"]] == [seen["unassigned_in_empty_county"]]


@pytest.mark.parametrize("role", ROLES)
def test_boundaries_and_locate_are_open_to_every_signed_in_account(clients, role, grids):
    p = grids.geometry.iloc[0].representative_point()
    assert clients[role].get("/regions", params={"level": "county"}).status_code == 200
    assert clients[role].get("/grids", params={"limit": 1}).status_code == 200
    assert clients[role].get("/locate", params={"lon": p.x, "lat": p.y}).status_code == 200


REPORTERS = {"admin", "city", "command", "township_command", "chief", "worker"}
IMPORTERS = {"admin", "city", "command", "township_command"}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_report_and_who_may_import(clients, role, grids):
    p = grids.geometry.iloc[2].representative_point()
    r = clients[role].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "05", "lon": p.x, "lat": p.y})
    assert r.status_code == (201 if role in REPORTERS else 403)
    csv = f"client_id,category,lon,lat\n{uuid.uuid4()},05,{p.x},{p.y}\n".encode()
    r = clients[role].post("/incidents/import", files={"file": ("a.csv", csv, "text/csv")})
    assert r.status_code == (200 if role in IMPORTERS else 403)
    if r.status_code == 403:
        assert role in r.json()["detail"]


@pytest.mark.parametrize("method,path", [
    ("GET", "/regions"), ("GET", "/grids"), ("GET", "/locate?lon=115&lat=23"),
    ("GET", "/incidents"), ("GET", "/incidents/1"), ("POST", "/incidents"),
    ("POST", "/incidents/import")])
def test_without_a_token_everything_but_health_answers_401(anonymous, method, path):
    r = anonymous.request(method, path)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert anonymous.get("/health").status_code == 200


def _token(secret: str, **claims) -> str:
    base = {"sub": "admin", "uid": 1, "role": "admin", "iat": datetime.now(timezone.utc),
            "exp": datetime.now(timezone.utc) + timedelta(hours=1)}
    return jwt.encode({**base, **claims}, secret, algorithm="HS256")


@pytest.mark.parametrize("token", [
    "not-a-token",
    _token("some other key, not ours at all, long enough"),
    "EXPIRED",
    "BADROLE",
])
def test_forged_expired_or_garbled_tokens_answer_401(anonymous, token):
    secret = settings.auth().secret_value()
    token = {"EXPIRED": _token(secret, exp=datetime.now(timezone.utc) - timedelta(minutes=1)),
             "BADROLE": _token(secret, role="emperor")}.get(token, token)
    r = anonymous.get("/incidents", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_a_token_stops_working_when_it_expires_though_it_worked_before(anonymous, accounts):
    expires = datetime.now(timezone.utc) + timedelta(seconds=2)
    token = _token(settings.auth().secret_value(), exp=expires)
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/incidents", headers=headers).status_code == 200
    time.sleep(max((expires - datetime.now(timezone.utc)).total_seconds(), 0) + 1)
    assert anonymous.get("/incidents", headers=headers).status_code == 401


@pytest.mark.parametrize("username,password", [("admin", "wrong"), ("nobody", PASSWORD)])
def test_wrong_credentials_get_no_token(anonymous, accounts, username, password):
    r = anonymous.post("/auth/token", data={"username": username, "password": password})
    assert r.status_code == 401 and "access_token" not in r.json()


def _sign_in(client, username: str, password: str) -> httpx.Response:
    return client.post("/auth/token", data={"username": username, "password": password})


def test_wrong_passwords_in_a_row_hold_the_account_name_back_for_a_while(anonymous, accounts,
                                                                        db):
    """Five wrong passwords within 15 minutes of the first: a sixth try, even the right one, is
    refused (429) for the rest of those minutes; once they are over, the right one signs in
    and the count starts again."""
    name = new_account()
    assert [_sign_in(anonymous, name, f"guess-{n}").status_code for n in range(5)] == [401] * 5
    held = _sign_in(anonymous, name, PASSWORD)
    assert held.status_code == 429 and "access_token" not in held.json()
    assert "too many failed sign-ins" in held.json()["detail"]
    assert 14 * 60 < int(held.headers["retry-after"]) <= 15 * 60
    with db.begin() as conn:  # the 15 minutes pass
        conn.execute(text("UPDATE sign_in_failure SET first_at = first_at - interval '15 minutes' "
                          "WHERE username = :u"), {"u": name})
    assert _sign_in(anonymous, name, PASSWORD).status_code == 200
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sign_in_failure WHERE username = :u"),
                            {"u": name}).scalar_one() == 0


def test_a_right_password_clears_the_wrong_ones_before_it(anonymous, accounts):
    name = new_account()
    for _ in range(2):
        assert [_sign_in(anonymous, name, "guess").status_code for _ in range(4)] == [401] * 4
        assert _sign_in(anonymous, name, PASSWORD).status_code == 200


def test_a_name_no_account_has_is_held_back_alike(anonymous):
    """The answers tell nothing of which names exist."""
    name = f"nobody_{uuid.uuid4().hex[:8]}"
    codes = [_sign_in(anonymous, name, "guess").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]


def test_guesses_sent_at_once_pass_the_limit_none_the_more(server, accounts):
    """Twelve wrong passwords at once over twelve connections: five are checked, the others
    refused unchecked."""
    name = new_account()

    def guess(n: int) -> int:
        with httpx.Client(base_url=f"{server}/api/v1", timeout=60) as client:
            return _sign_in(client, name, f"guess-{n}").status_code

    with ThreadPoolExecutor(12) as pool:
        codes = sorted(pool.map(guess, range(12)))
    assert codes == [401] * 5 + [429] * 7


def _until(check, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.2)


def _reads(client, token: str) -> int:
    return client.get("/incidents", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_disabled_account_signs_in_no_more_and_its_tokens_stop_counting(anonymous, accounts):
    """Someone who left: disabled, they can no longer sign in, and the token they hold stops
    counting within seconds; enabled again, they sign in anew (the old token stays dead)."""
    name = new_account()
    before = _sign_in(anonymous, name, PASSWORD).json()["access_token"]
    assert _reads(anonymous, before) == 200
    result = CliRunner().invoke(app, ["accounts", "disable", name])
    assert result.exit_code == 0 and "disabled and signed out everywhere" in result.output
    assert _sign_in(anonymous, name, PASSWORD).status_code == 401
    _until(lambda: _reads(anonymous, before) == 401, "refused the disabled account's token")
    assert CliRunner().invoke(app, ["accounts", "enable", name]).exit_code == 0
    after = _sign_in(anonymous, name, PASSWORD).json()["access_token"]
    assert (_reads(anonymous, after), _reads(anonymous, before)) == (200, 401)


def test_a_password_reset_signs_the_account_out_and_lets_it_in_to_change_it(anonymous,
                                                                            accounts):
    """A forgotten password (the name held back by the tries): the administrator's new one
    signs the account out everywhere, lets the name in at once, and is the account's to change
    before it signs in."""
    name = new_account()
    before = _sign_in(anonymous, name, PASSWORD).json()["access_token"]
    for n in range(6):
        _sign_in(anonymous, name, f"guess-{n}")
    assert _sign_in(anonymous, name, PASSWORD).status_code == 429
    result = CliRunner().invoke(app, ["accounts", "password", name, "--password", "New-0ne-Pass"])
    assert result.exit_code == 0, result.output
    assert "to change before it signs in" in result.output
    assert _sign_in(anonymous, name, PASSWORD).status_code == 401
    _until(lambda: _reads(anonymous, before) == 401, "refused the token of the old password")
    refused = _sign_in(anonymous, name, "New-0ne-Pass")
    assert refused.status_code == 403 and "must be changed" in refused.json()["detail"]
    assert anonymous.post("/auth/password", data={
        "username": name, "password": "New-0ne-Pass",
        "new_password": "Own-Choice-2026"}).status_code == 204
    after = _sign_in(anonymous, name, "Own-Choice-2026").json()["access_token"]
    assert _reads(anonymous, after) == 200


def test_a_worker_moved_to_other_grids_works_in_those_alone(anonymous, clients, accounts, grids,
                                                           db):
    """Moved to the next grid (grids redrawn): signed out, the worker signs in again to the new
    grid's cases and none of the old one's, and each grid names its workers anew."""
    old, new = accounts["chief"][1]["grid_codes"][:2]
    name = new_account(role="grid_worker", grid_codes=[old])
    cases = {code: clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "05", "lon": _point(grids, code).x,
        "lat": _point(grids, code).y}).json()["id"] for code in (old, new)}
    before = _sign_in(anonymous, name, PASSWORD).json()["access_token"]
    result = CliRunner().invoke(app, ["accounts", "grids", name, "--grid", new])
    assert result.exit_code == 0, result.output
    _until(lambda: _reads(anonymous, before) == 401, "refused the token of the old grid")
    after = _sign_in(anonymous, name, PASSWORD).json()["access_token"]
    listed = {f["id"] for f in anonymous.get("/incidents", params={"limit": 1000}, headers={
        "Authorization": f"Bearer {after}"}).json()["features"]}
    assert cases[new] in listed and cases[old] not in listed
    with db.connect() as conn:
        workers = dict(conn.execute(text("SELECT code, coalesce(workers, '') FROM grid "
                                         "WHERE code IN (:o, :n)"), {"o": old, "n": new}).all())
    assert name in workers[new] and name not in workers[old]


@pytest.mark.parametrize("args,message", [
    (["grids", "nobody_at_all", "--grid", "x"], "USERNAME: no account"),
    (["grids", "admin", "--grid", "x"], "--grid: admin accounts are not bound to grids"),
    (["grids", "worker", "--grid", "no-such-grid"], "--grid: no grid no-such-grid"),
    (["password", "nobody_at_all", "--password", "Long-En0ugh"], "USERNAME: no account"),
    (["password", "admin", "--password", "Ab-12"], "--password: must be at least 8 characters"),
    (["password", "admin", "--password", "only-lower-case"], "--password: must mix three of"),
    (["password", "admin", "--password", "12345678abcdefgh"], "--password: must mix three of"),
    (["password", "admin", "--password", "My-ADMIN-2026"], "--password: must not hold the acc"),
    (["disable", "nobody_at_all"], "USERNAME: no account"),
    (["enable", "nobody_at_all"], "USERNAME: no account"),
])
def test_changing_an_account_that_is_not_there_or_to_a_weak_password_is_refused(
        accounts, anonymous, args, message):
    result = CliRunner().invoke(app, ["accounts", *args])
    assert result.exit_code == 2 and message in result.output
    assert _sign_in(anonymous, "admin", PASSWORD).status_code == 200  # unchanged


def test_accounts_are_listed_with_their_role_scope_and_state(accounts, anonymous):
    held, disabled = new_account(), new_account()
    for n in range(5):
        _sign_in(anonymous, held, f"guess-{n}")
    assert CliRunner().invoke(app, ["accounts", "disable", disabled]).exit_code == 0
    result = CliRunner().invoke(app, ["accounts", "list"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    rows = {cells[0]: cells[1:] for cells in _table(result.output)}
    assert rows["worker"][1:4] == ["grid_worker", "active", accounts["worker"][1]["grid_codes"][0]]
    assert rows[disabled] == [disabled, "command", "disabled", "441502 城区", ""]
    assert re.fullmatch(r"active, held back until \d\d:\d\d", rows[held][2])


def test_an_account_changes_its_own_password_and_is_signed_out_everywhere(anonymous, accounts):
    """With the password it has (a wrong one counts as a failed sign-in), to one the rules
    allow and unlike it; then signed out everywhere, to sign in with the new one."""
    name = new_account()
    before = _sign_in(anonymous, name, PASSWORD).json()["access_token"]

    def change(current: str, new: str) -> httpx.Response:
        return anonymous.post("/auth/password", data={"username": name, "password": current,
                                                      "new_password": new})

    for new, reason in (("Short-1", "must be at least 8 characters"),
                        (PASSWORD, "must differ from the password it replaces"),
                        (f"{name}-X1", "must not hold the account's name")):
        refused = change(PASSWORD, new)
        assert refused.status_code == 422 and refused.json()["detail"][0] == {
            "loc": ["body", "new_password"], "msg": reason, "type": "invalidinput"}
    assert change("Wrong-Passw0rd", "Brand-New-2026").status_code == 401
    assert change(PASSWORD, "Brand-New-2026").status_code == 204
    assert _sign_in(anonymous, name, PASSWORD).status_code == 401
    assert _sign_in(anonymous, name, "Brand-New-2026").status_code == 200
    _until(lambda: _reads(anonymous, before) == 401, "refused the token of the old password")
    shown = CliRunner().invoke(app, ["accounts", "history", name], env={"COLUMNS": "300"})
    assert [r[2:4] for r in _table(shown.output) if r[2] == "new password"] == [
        ["new password", "本人，来自 127.0.0.1"]]


def test_a_password_change_asked_for_again_answers_as_it_did_and_changes_nothing(anonymous,
                                                                                accounts):
    """Its answer lost on a weak signal, the page asks again: done (no wrong password, however
    often), nothing changed twice. A password an administrator set is no change made."""
    name = new_account()
    ask = {"username": name, "password": PASSWORD, "new_password": "Brand-New-2026"}
    assert anonymous.post("/auth/password", data=ask).status_code == 204
    for _ in range(6):  # more than the wrong passwords that hold a name back
        assert anonymous.post("/auth/password", data=ask).status_code == 204
    assert _sign_in(anonymous, name, "Brand-New-2026").status_code == 200
    shown = CliRunner().invoke(app, ["accounts", "history", name], env={"COLUMNS": "300"})
    events = [r[2] for r in _table(shown.output)]
    assert events[-2:] == ["new password", "signed in"] and "wrong password" not in events
    assert events.count("new password") == 1
    assert CliRunner().invoke(app, ["accounts", "password", name, "--password",
                                    "Set-By-Admin-1"]).exit_code == 0
    again = anonymous.post("/auth/password", data={**ask, "new_password": "Set-By-Admin-1"})
    assert again.status_code == 401
    assert _sign_in(anonymous, name, "Set-By-Admin-1").status_code == 403


def test_wrong_passwords_to_change_one_hold_the_name_back_as_sign_ins_do(anonymous, accounts):
    name = new_account()
    for n in range(5):
        assert anonymous.post("/auth/password", data={
            "username": name, "password": f"guess-{n}",
            "new_password": "Brand-New-2026"}).status_code == 401
    held = anonymous.post("/auth/password", data={"username": name, "password": PASSWORD,
                                                  "new_password": "Brand-New-2026"})
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    assert _sign_in(anonymous, name, PASSWORD).status_code == 429  # unchanged, and held back


def _table(output: str) -> list[list[str]]:
    """The rows of a table the CLI printed, cell by cell."""
    return [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in output.splitlines() if line.startswith("│")]


def test_what_befell_an_account_is_kept_with_who_or_where_it_came_from(anonymous, accounts, db,
                                                                       clients):
    """等保's 安全审计: each change an administrator made, by which system user, and each
    sign-in, right, wrong or held back, from which address, in order; never to be altered."""
    first, second = accounts["chief"][1]["grid_codes"][:2]
    name = f"kept_{uuid.uuid4().hex[:8]}"
    runner = CliRunner()
    assert runner.invoke(app, ["accounts", "add", name, "--role", "grid_worker", "--grid", first,
                               "--password", PASSWORD]).exit_code == 0
    assert _sign_in(anonymous, name, "Wrong-Passw0rd").status_code == 401
    assert _sign_in(anonymous, name, PASSWORD).status_code == 403  # the administrator's: changed
    assert anonymous.post("/auth/password", data={
        "username": name, "password": PASSWORD, "new_password": "Own-Choice-2026"}).status_code \
        == 204
    assert _sign_in(anonymous, name, "Own-Choice-2026").status_code == 200
    for n in range(6):
        _sign_in(anonymous, name, f"guess-{n}")
    for change in (["password", name, "--password", "New-0ne-Pass"],
                   ["grids", name, "--grid", second], ["disable", name], ["enable", name]):
        assert runner.invoke(app, ["accounts", *change]).exit_code == 0
    shown = runner.invoke(app, ["accounts", "history", name], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    rows = _table(shown.output)
    assert [r[2] for r in rows] == (["created", "wrong password", "new password", "signed in"]
                                    + ["wrong password"] * 5 + ["held back", "new password",
                                                                "new grids", "disabled", "enabled"])
    administrator = f"mapsvc accounts, {getpass.getuser()}"
    assert [r[3] for r in rows] == [administrator, "127.0.0.1",
                                    "本人，来自 127.0.0.1"] + ["127.0.0.1"] * 7 \
        + [administrator] * 4
    assert rows[0][4] == f"网格员 {first}" and rows[-3][4] == second
    assert {r[1] for r in rows} == {name}
    times = [datetime.strptime(r[0], "%Y-%m-%d %H:%M:%S") for r in rows]
    assert times == sorted(times)
    china_now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert abs(times[-1] - china_now) < timedelta(minutes=1)

    # the same for an administrator over the API, newest first, a page at a time
    served = clients["admin"].get("/accounts/events", params={"username": name}).json()
    assert [(e["event"].replace("_", " "), e["origin"], e["detail"]) for e in served] == [
        (r[2], r[3], r[4]) for r in reversed(rows)]
    assert [datetime.fromisoformat(e["at"]).astimezone(ZoneInfo("Asia/Shanghai"))
            .strftime("%Y-%m-%d %H:%M:%S") for e in served] == [r[0] for r in reversed(rows)]
    assert clients["admin"].get("/accounts/events", params={
        "username": name, "limit": 2, "offset": 1}).json() == served[1:3]
    assert clients["command"].get("/accounts/events").status_code == 403

    listed = {r[0]: r for r in _table(runner.invoke(app, ["accounts", "list"],
                                                    env={"COLUMNS": "300"}).output)}
    assert listed[name][5] == rows[3][0][:16]  # when it last signed in
    with db.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("UPDATE account_event SET origin = 'elsewhere' "
                          "WHERE username = :n"), {"n": name})


def test_a_name_too_long_for_an_account_is_refused_and_its_sign_ins_kept_nowhere(anonymous,
                                                                                 accounts, db):
    name = "x" * 65
    result = CliRunner().invoke(app, ["accounts", "add", name, "--role", "admin",
                                      "--password", PASSWORD])
    assert result.exit_code == 2 and "USERNAME: must be 1 to 64 characters" in result.output
    assert _sign_in(anonymous, name, PASSWORD).status_code == 401
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM account_event WHERE username = :n"),
                            {"n": name}).scalar_one() == 0


def test_passwords_are_stored_hashed(db, accounts):
    with db.connect() as conn:
        hashes = conn.execute(text("SELECT password_hash FROM account")).scalars().all()
    assert hashes and all(h.startswith("$argon2") and PASSWORD not in h for h in hashes)


@pytest.mark.parametrize("args,message", [
    (["--role", "emperor"], "--role"),
    (["--role", "grid_worker"], "--grid"),
    (["--role", "grid_worker", "--grid", "nope"], "--grid"),
    (["--role", "command", "--region", "000000"], "--region"),
    (["--role", "department"], "--department"),
    (["--role", "grid_worker", "--region", "441502", "--grid", "x"], "--region"),
    (["--role", "auditor", "--region", "441502"], "--region: auditor accounts are not bound"),
    (["--role", "auditor", "--grid", "x"], "--grid: auditor accounts are not bound"),
    (["--role", "admin", "--department", "T1"], "--department: admin accounts are not bound"),
    (["--role", "admin", "--name", "名" * 65], "--name: at most 64 characters"),
])
def test_an_account_whose_scope_does_not_fit_its_role_is_refused(accounts, args, message):
    result = CliRunner().invoke(app, ["accounts", "add", "someone", *args,
                                      "--password", "Pw-123456"])
    assert result.exit_code == 2 and message in result.output


def test_a_taken_username_is_refused(accounts):
    result = CliRunner().invoke(app, ["accounts", "add", "admin", "--role", "admin",
                                      "--password", "Pw-123456"])
    assert result.exit_code == 2 and "already exists" in result.output


FOLIUM_PAGES = {"/map/wall", "/map/desk", "/map/plan"}  # their maps written inline


@pytest.mark.parametrize("path", ["/map/login", "/map/password", "/map/wall", "/map/desk",
                                  "/map/plan", "/map/people", "/map/stats", "/map/audit", "/m/"])
def test_every_page_loads_only_its_own_sites_scripts_and_is_framed_by_no_other(server, accounts,
                                                                                path):
    """Scripts from mapsvc's files alone; inline ones on the pages Folium writes alone."""
    with httpx.Client(base_url=server, timeout=30) as browser:
        browser.post("/api/v1/auth/session", data={"username": "admin", "password": PASSWORD})
        page = browser.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = dict(rule.strip().split(" ", 1)
                  for rule in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'self'"
    assert policy["script-src"].split() == (["'self'", "'unsafe-inline'"] if path in FOLIUM_PAGES
                                            else ["'self'"])


@pytest.mark.parametrize("path", ["/map/login", "/map/people", "/m/"])
def test_a_script_written_into_a_page_that_needs_none_inline_does_not_run(browser, server,
                                                                          accounts, path):
    """Were a name or a note to slip past its escaping into the people's register, the
    sign-in page or the phone, as a script, the browser would not run it."""
    context = browser.new_context()
    context.request.post(f"{server}/api/v1/auth/session",
                         data={"username": "admin", "password": PASSWORD})
    page = context.new_page()
    page.goto(f"{server}{path}")
    page.wait_for_load_state("load")
    assert page.evaluate("""() => {
      const written = document.createElement("div");
      written.innerHTML = '<img src="data:," onerror="window.ran = 1">';
      document.body.append(written);
      const script = document.createElement("script");
      script.textContent = "window.ran = 2";
      document.body.append(script);
      return new Promise((done) => setTimeout(() => done(window.ran === undefined), 300));
    }""")
    context.close()


@pytest.mark.parametrize("username,page", [
    ("admin", "/map/wall"), ("command", "/map/wall"), ("planner", "/map/plan"),
    ("worker", "/m/"), ("chief", "/m/"), ("department", "/map/desk"),
    ("auditor", "/map/audit")])
def test_the_site_leads_each_account_to_the_page_of_its_work(server, accounts, username, page):
    with httpx.Client(base_url=server, timeout=30, follow_redirects=True) as browser:
        assert browser.get("/").url.path == "/map/login"  # signed in nowhere yet
        browser.post("/api/v1/auth/session", data={"username": username, "password": PASSWORD})
        arrived = browser.get("/")
        assert arrived.status_code == 200 and arrived.url.path == page


def test_a_password_hashed_at_another_cost_signs_in_and_is_hashed_anew_at_the_settings(
        anonymous, db, monkeypatch):
    """A deployment that changes what a password's hash costs (MAPSVC_AUTH_HASH_*): a password
    hashed at the cost before still signs in, and its hash is made anew at the settings' then
    (a wrong password changes nothing); a cost below OWASP's least is refused, naming the
    setting."""
    served = settings.auth()
    with monkeypatch.context() as before:
        for setting, value in (("MEMORY_KIB", 47104), ("PASSES", 1), ("LANES", 2)):
            before.setenv(f"MAPSVC_AUTH_HASH_{setting}", str(value))
        settings.auth.cache_clear()
        name = new_account()
    settings.auth.cache_clear()

    def stored() -> str:
        with db.connect() as conn:
            return conn.execute(text("SELECT password_hash FROM account WHERE username = :n"),
                                {"n": name}).scalar_one()
    old = stored()
    assert "$m=47104,t=1,p=2$" in old
    assert _sign_in(anonymous, name, "Wrong-Passw0rd").status_code == 401
    assert stored() == old
    assert _sign_in(anonymous, name, PASSWORD).status_code == 200
    renewed = stored()
    assert (f"$m={served.hash_memory_kib},t={served.hash_passes},p={served.hash_lanes}$"
            in renewed) and renewed != old
    assert _sign_in(anonymous, name, PASSWORD).status_code == 200 and stored() == renewed
    with monkeypatch.context() as lighter:
        lighter.setenv("MAPSVC_AUTH_HASH_MEMORY_KIB", "8192")
        lighter.setenv("MAPSVC_AUTH_HASH_PASSES", "4")
        assert settings.problems() == ["MAPSVC_AUTH_HASH_PASSES: Value error, with "
                                       "hash_memory_kib 8192, at least 5 (OWASP's least "
                                       "work: 7 MiB over 5 passes)"]


def test_the_service_answers_others_while_a_password_is_checked():
    """A shift signing in does not hold the service up: while a password's hash is worked (here
    at a cost of seconds), the service answers other requests."""
    served = Server("slow-hash", env={"MAPSVC_AUTH_HASH_MEMORY_KIB": "262144",
                                      "MAPSVC_AUTH_HASH_PASSES": "9"}).start()
    try:
        with ThreadPoolExecutor(1) as shift:
            signing_in = shift.submit(httpx.post, f"{served.base}/api/v1/auth/token", data={
                "username": "nobody_of_the_shift", "password": PASSWORD}, timeout=120)
            time.sleep(0.5)  # its hash under way
            assert httpx.get(f"{served.base}/api/v1/health", timeout=120).status_code == 200
            assert not signing_in.done()
            assert signing_in.result().status_code == 401
    finally:
        served.stop()


def test_a_longer_password_length_is_kept_and_said_on_the_password_page(accounts):
    """A deployment asking for 12 characters (MAPSVC_AUTH_PASSWORD_LENGTH): refused below
    them, and the page that changes passwords says 12."""
    name = new_account()
    served = Server("password-length", env={"MAPSVC_AUTH_PASSWORD_LENGTH": "12"}).start()
    try:
        assert "至少 12 位" in httpx.get(f"{served.base}/map/password").text
        short = httpx.post(f"{served.base}/api/v1/auth/password", data={
            "username": name, "password": PASSWORD, "new_password": "Ten-Chars1"})
        assert short.status_code == 422
        assert short.json()["detail"][0]["msg"] == "must be at least 12 characters"
    finally:
        served.stop()
