"""Accounts in the database: create and administer them, check a password (and how often one
was wrong), and keep what befell each (its events)."""

import asyncio
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.model import GRID_ROLES, REGION_ROLES, ROLE_NAMES, Account, Role
from mapsvc.accounts.passwords import check_password, hash_password, verify_password
from mapsvc.errors import Conflict, DomainError, InvalidInput, NotFound
from mapsvc.geojson import Filters, page

_ACCOUNT = text("""
SELECT a.id, a.username, a.role, a.region_code, a.department_code, a.password_hash,
       a.password_to_change,
       coalesce(array_agg(ag.grid_id ORDER BY ag.grid_id) FILTER (WHERE ag.grid_id IS NOT NULL),
                '{}') AS grid_ids
  FROM account a LEFT JOIN account_grid ag ON ag.account_id = a.id
 WHERE a.username = :username AND a.active
 GROUP BY a.id
""")


USERNAME_LENGTH = 64
DISPLAY_NAME_LENGTH = 64


@dataclass(frozen=True)
class AccountSpec:
    """An account to make: its name, its first password, its role and the scope the role is
    bound to, and the name it shows."""
    username: str
    password: str
    role: Role
    region_code: str | None = None
    department_code: str | None = None
    grid_codes: tuple[str, ...] = ()
    display_name: str = ""

    @property
    def scope(self) -> str:
        return self.region_code or self.department_code or " ".join(self.grid_codes)


def _unfit(spec: AccountSpec) -> InvalidInput | None:
    """What is wrong with an account in itself (a scope that does not fit its role, its name,
    its password), before the database is asked."""
    role = spec.role
    needs, unbound = {"rule": "needs", "role": role}, {"rule": "unbound", "role": role}
    if role in GRID_ROLES and not spec.grid_codes:
        return InvalidInput(f"a {role} account needs the grids it works in", field="grids",
                            context=needs)
    if role is Role.department and not spec.department_code:
        return InvalidInput("a department account needs its department", field="department",
                            context=needs)
    if role not in REGION_ROLES and spec.region_code:
        return InvalidInput(f"{role} accounts are not bound to a region", field="region",
                            context=unbound)
    if role not in GRID_ROLES and spec.grid_codes:
        return InvalidInput(f"{role} accounts are not bound to grids", field="grids",
                            context=unbound)
    if role is not Role.department and spec.department_code:
        return InvalidInput(f"{role} accounts are not bound to a department", field="department",
                            context=unbound)
    if not 0 < len(spec.username) <= USERNAME_LENGTH or any(c.isspace() for c in spec.username):
        return InvalidInput(f"must be 1 to {USERNAME_LENGTH} characters, none of them a space",
                            field="username", context={"rule": "username",
                                                       "most": USERNAME_LENGTH})
    if len(spec.display_name) > DISPLAY_NAME_LENGTH:
        return InvalidInput(f"at most {DISPLAY_NAME_LENGTH} characters", field="display_name",
                            context={"rule": "longest", "most": DISPLAY_NAME_LENGTH})
    try:
        check_password(spec.password, spec.username)
    except InvalidInput as refused:
        return refused
    return None


async def _found(conn: AsyncConnection, table: str, codes: set[str]) -> set[str]:
    """Those of ``codes`` that ``table`` has."""
    return set((await conn.execute(text(f"SELECT code FROM {table} WHERE code = ANY(:c)"),
                                   {"c": list(codes)})).scalars())


async def refusals(conn: AsyncConnection, specs: list[AccountSpec]) -> dict[int, DomainError]:
    """Why each account of ``specs`` that cannot be made cannot, by its place in them: as it
    is (_unfit), or as the database has it (a name taken or asked for twice; a region, a
    department or grids there are none of)."""
    found: dict[int, DomainError] = {i: e for i, spec in enumerate(specs) if (e := _unfit(spec))}
    asked = Counter(spec.username for spec in specs)
    taken = set((await conn.execute(text("SELECT username FROM account WHERE username = ANY(:u)"),
                                    {"u": list(asked)})).scalars())
    regions = await _found(conn, "region", {s.region_code for s in specs if s.region_code})
    departments = await _found(conn, "department",
                               {s.department_code for s in specs if s.department_code})
    grids = await _found(conn, "grid", {code for s in specs for code in s.grid_codes})
    for i, spec in enumerate(specs):
        if i in found:
            continue
        missing = [code for code in spec.grid_codes if code not in grids]
        if spec.username in taken:
            found[i] = Conflict(f"account {spec.username!r} already exists", field="username",
                                context={"rule": "exists"})
        elif asked[spec.username] > 1:
            found[i] = Conflict(f"account {spec.username!r} is asked for more than once",
                                field="username", context={"rule": "repeated"})
        elif spec.region_code and spec.region_code not in regions:
            found[i] = InvalidInput(f"no region {spec.region_code!r}", field="region",
                                    context={"missing": [spec.region_code]})
        elif spec.department_code and spec.department_code not in departments:
            found[i] = InvalidInput(f"no department {spec.department_code!r}",
                                    field="department",
                                    context={"missing": [spec.department_code]})
        elif missing:
            found[i] = InvalidInput(f"no grid {', '.join(missing)}", field="grids",
                                    context={"missing": missing})
    return found


_CREATE = text("""
INSERT INTO account (username, password_hash, display_name, role, region_code, department_code,
                     password_to_change)
SELECT *, :to_change
  FROM unnest(CAST(:usernames AS text[]), CAST(:hashes AS text[]), CAST(:names AS text[]),
              CAST(:roles AS text[]), CAST(:regions AS text[]), CAST(:departments AS text[]))
RETURNING username, id
""")
_THEIR_GRIDS = text("""
INSERT INTO account_grid (account_id, grid_id)
SELECT a.id, g.id
  FROM unnest(CAST(:usernames AS text[]), CAST(:codes AS text[])) AS w (username, code)
  JOIN account a ON a.username = w.username
  JOIN grid g ON g.code = w.code
""")
_CREATED = text("""
INSERT INTO account_event (username, event, origin, detail)
SELECT username, 'created', :origin, detail
  FROM unnest(CAST(:usernames AS text[]), CAST(:details AS text[])) AS c (username, detail)
""")


async def create_accounts(conn: AsyncConnection, specs: list[AccountSpec], *, origin: str,
                          to_change: bool = False) -> list[int]:
    """Make the accounts bound to their scopes, all or none (the first refusal raised: see
    ``refusals``); their ids, in order. ``origin`` says who made them (kept in their events);
    ``to_change``: their passwords are theirs to change before they sign in (ones an
    administrator chose)."""
    if found := await refusals(conn, specs):
        raise found[min(found)]
    return await store_accounts(conn, specs, origin=origin, to_change=to_change)


async def store_accounts(conn: AsyncConnection, specs: list[AccountSpec], *, origin: str,
                         to_change: bool) -> list[int]:
    """``create_accounts`` for accounts ``refusals`` has found nothing against."""
    hashes = await asyncio.gather(*(hash_password(spec.password) for spec in specs))
    ids = dict((await conn.execute(_CREATE, {
        "usernames": [s.username for s in specs], "hashes": hashes,
        "names": [s.display_name for s in specs], "roles": [s.role.value for s in specs],
        "regions": [s.region_code for s in specs],
        "departments": [s.department_code for s in specs], "to_change": to_change})).all())
    works = [(spec.username, code) for spec in specs for code in dict.fromkeys(spec.grid_codes)]
    if works:
        await conn.execute(_THEIR_GRIDS, {"usernames": [u for u, _ in works],
                                          "codes": [c for _, c in works]})
    await conn.execute(_CREATED, {"origin": origin, "usernames": [s.username for s in specs],
                                  "details": [f"{ROLE_NAMES[s.role]} {s.scope}".strip()
                                              for s in specs]})
    return [ids[spec.username] for spec in specs]


async def create_account(conn: AsyncConnection, username: str, password: str, role: Role, *,
                         region_code: str | None = None, department_code: str | None = None,
                         grid_codes: list[str] | tuple[str, ...] = (), display_name: str = "",
                         origin: str, to_change: bool = False) -> int:
    """Create one account (create_accounts); refuse a scope that does not fit the role."""
    [account_id] = await create_accounts(conn, [AccountSpec(
        username, password, role, region_code, department_code, tuple(grid_codes),
        display_name)], origin=origin, to_change=to_change)
    return account_id


_RECORD = text("INSERT INTO account_event (username, event, origin, detail) "
               "VALUES (:username, :event, :origin, :detail)")


async def record(conn: AsyncConnection, username: str, event: str, origin: str,
                 detail: str = "") -> None:
    """Keep an event of the account (or account name) ``username``: see migration 0042."""
    await conn.execute(_RECORD, {"username": username, "event": event, "origin": origin,
                                 "detail": detail})


_WORKS_IN = text("INSERT INTO account_grid (account_id, grid_id) "
                 "SELECT :a, unnest(CAST(:g AS bigint[]))")


async def _grid_ids(conn: AsyncConnection, codes) -> dict[str, int]:
    """The grids of ``codes`` by code; InvalidInput naming those there are none of."""
    grids = dict((await conn.execute(text("SELECT code, id FROM grid WHERE code = ANY(:c)"),
                                     {"c": list(codes)})).all())
    if missing := [c for c in codes if c not in grids]:
        raise InvalidInput(f"no grid {', '.join(missing)}", field="grids",
                           context={"missing": missing})
    return grids


async def set_grids(conn: AsyncConnection, username: str, grid_codes: list[str], *,
                    origin: str) -> None:
    """Give a grid worker or chief the grids they now work in (grids redrawn, a worker moved),
    in place of those before; signed out everywhere, as a token carries its grids. The grids'
    workers (the tiles', the coverage layer's) follow."""
    row = (await conn.execute(text("SELECT id, role FROM account WHERE username = :u"),
                              {"u": username})).first()
    if row is None:
        raise NotFound(f"no account {username!r}", field="username")
    if Role(row.role) not in GRID_ROLES:
        raise InvalidInput(f"{row.role} accounts are not bound to grids", field="grids")
    if not grid_codes:
        raise InvalidInput(f"a {row.role} account needs the grids it works in", field="grids")
    grids = await _grid_ids(conn, grid_codes)
    await conn.execute(text("DELETE FROM account_grid WHERE account_id = :a"), {"a": row.id})
    await conn.execute(_WORKS_IN, {"a": row.id, "g": list(grids.values())})
    await conn.execute(text("UPDATE account SET signed_out_at = now() WHERE id = :a"),
                       {"a": row.id})
    await record(conn, username, "new_grids", origin, " ".join(grid_codes))


async def worked_all_along(conn: AsyncConnection, username: str | None = None) -> None:
    """The grid workers and chiefs (or ``username`` alone) as having worked the grids they hold
    from the start (their periods in them, migration 0053, from ``-infinity``): accounts made
    for cases reported before them, a demo's, a benchmark's, a test's."""
    await conn.execute(text(
        "UPDATE account_grid_period SET since = '-infinity' WHERE until IS NULL AND "
        "(CAST(:u AS text) IS NULL OR account_id = (SELECT id FROM account WHERE username = :u))"),
        {"u": username})


# Signed out everywhere: the tokens issued before now no longer count (mapsvc.accounts.tokens).
_SET_PASSWORD = text("""
UPDATE account SET password_hash = :hash, signed_out_at = now(), password_to_change = :to_change
 WHERE username = :username
RETURNING id
""")
_SET_ACTIVE = text("""
UPDATE account SET active = :active,
       signed_out_at = CASE WHEN :active THEN signed_out_at ELSE now() END
 WHERE username = :username RETURNING id
""")


async def set_password(conn: AsyncConnection, username: str, password: str, *,
                       origin: str, to_change: bool) -> None:
    """Give the account a new password, sign it out everywhere, and clear its wrong
    passwords (a name held back signs in again at once). ``to_change``: one an administrator
    set, the account's to change before it signs in."""
    check_password(password, username)
    changed = await conn.execute(_SET_PASSWORD, {"username": username, "to_change": to_change,
                                                 "hash": await hash_password(password)})
    if changed.first() is None:
        raise NotFound(f"no account {username!r}", field="username")
    await conn.execute(text("DELETE FROM sign_in_failure WHERE username = :username"),
                       {"username": username})
    await record(conn, username, "new_password", origin)


async def set_active(conn: AsyncConnection, username: str, active: bool, *,
                     origin: str) -> None:
    """Let the account sign in again, or no longer (signed out everywhere at once: its work,
    its cases' steps and its name in them, stays; a grid worker's periods in its grids end,
    and start again when it is enabled: migration 0054)."""
    changed = await conn.execute(_SET_ACTIVE, {"username": username, "active": active})
    if changed.first() is None:
        raise NotFound(f"no account {username!r}", field="username")
    await record(conn, username, "enabled" if active else "disabled", origin)


async def signed_out_accounts(conn: AsyncConnection) -> dict[int, float]:
    """The accounts whose tokens issued before a time no longer count, with that time (seconds
    since 1970), of those a token still unexpired may have been issued to."""
    rows = await conn.execute(text(
        "SELECT id, extract(epoch FROM signed_out_at)::float8 FROM account "
        "WHERE signed_out_at > now() - :hours * interval '1 hour'"),
        {"hours": settings.auth().token_hours})
    return dict(rows.all())


_LISTED = """
SELECT a.username, a.display_name, a.role, a.active,
       coalesce(r.code || ' ' || r.name, d.code || ' ' || d.name,
                (SELECT string_agg(g.code, ' ' ORDER BY g.code)
                   FROM account_grid ag JOIN grid g ON g.id = ag.grid_id
                  WHERE ag.account_id = a.id), '') AS scope,
       (SELECT json_agg(json_build_object('code', g.code, 'name', g.name) ORDER BY g.code)
          FROM account_grid ag JOIN grid g ON g.id = ag.grid_id
         WHERE ag.account_id = a.id) AS grids,
       CASE WHEN f.failures >= :attempts AND f.first_at > now() - :window
            THEN f.first_at + :window END AS held_until,
       (SELECT e.at FROM account_event e WHERE e.username = a.username
           AND e.event = 'signed_in' ORDER BY e.id DESC LIMIT 1) AS signed_in_at
  FROM account a
  LEFT JOIN region r ON r.code = a.region_code
  LEFT JOIN department d ON d.code = a.department_code
  LEFT JOIN sign_in_failure f ON f.username = a.username
 WHERE {where}
 ORDER BY a.role, a.username {page}
"""


async def list_accounts(conn: AsyncConnection, *, role: Role | None = None,
                        username: str | None = None, limit: int | None = None,
                        offset: int = 0) -> list:
    """Every account (of ``role``, or the one named ``username``), a page of them (``limit``,
    None: all): its name, shown name, role, whether it may sign in, its scope (region,
    department or grids), its grids by code and name, if wrong passwords hold it back until
    when, and when it last signed in."""
    guard = settings.auth()
    f = Filters(params={"attempts": guard.sign_in_attempts,
                        "window": timedelta(minutes=guard.sign_in_minutes)})
    if role is not None:
        f.add("a.role = :role", role=role.value)
    if username is not None:
        f.add("a.username = :username", username=username)
    paged = "" if limit is None else page(limit, offset)
    return (await conn.execute(text(_LISTED.format(where=f.where(), page=paged)),
                               f.params)).all()


async def account_events(conn: AsyncConnection, username: str | None, limit: int,
                         offset: int = 0, *, since: datetime | None = None,
                         until: datetime | None = None) -> list:
    """The events of the account name ``username`` (None: of every one), newest first;
    ``since`` and ``until``: those from then up to then."""
    f = Filters()
    if username is not None:
        f.add("username = :username", username=username)
    f.during("at", since, until)
    return (await conn.execute(text(f"""
        SELECT at, username, event, origin, detail FROM account_event WHERE {f.where()}
         ORDER BY id DESC {page(limit, offset)}"""), f.params)).all()


async def find_account(conn: AsyncConnection, username: str) -> Account | None:
    """The active account of that name, as its token would describe it."""
    row = (await conn.execute(_ACCOUNT, {"username": username})).first()
    return None if row is None else _account(row)


def _account(row) -> Account:
    return Account(id=row.id, username=row.username, role=Role(row.role),
                   region_code=row.region_code, department_code=row.department_code,
                   grid_ids=tuple(row.grid_ids))


class TooManyFailures(DomainError):
    """The account name was signed in with wrongly too often lately."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed sign-ins for this account name: try again in "
                         f"{math.ceil(retry_after / 60)} minutes")
        self.retry_after = retry_after


class PasswordToChange(DomainError):
    """The right password, but one an administrator set: the account's to change first."""

    def __init__(self):
        super().__init__("the password an administrator set must be changed before signing in "
                         "(POST /api/v1/auth/password)")


class PasswordChanged(DomainError):
    """The password is already the one asked for, and not by an administrator's hand."""

    def __init__(self):
        super().__init__("the password is already the new one")


# A try counts as failed until it succeeds: counted first, under the row's lock, tries at once
# cannot pass the limit together. A name's count starts again once a window from its first
# failure is over. (Names are counted whether or not an account has them: a refusal tells
# nothing of which names exist.)
_TRIED = text("""
INSERT INTO sign_in_failure AS f (username, failures, first_at) VALUES (:username, 1, now())
ON CONFLICT (username) DO UPDATE
   SET failures = CASE WHEN f.first_at > now() - :window THEN f.failures + 1 ELSE 1 END,
       first_at = CASE WHEN f.first_at > now() - :window THEN f.first_at ELSE now() END
RETURNING failures, extract(epoch FROM first_at + :window - now())
""")
# A right password's hash made at another cost than the settings' now, made anew at theirs.
_RENEWED = text("UPDATE account SET password_hash = :hash WHERE id = :id")
# A success clears its name's count, and the counts whose window is over.
_SUCCEEDED = text("""
DELETE FROM sign_in_failure WHERE username = :username OR first_at <= now() - :window
""")


async def authenticate(conn: AsyncConnection, username: str, password: str, *,
                       origin: str, changing_to: str | None = None) -> Account | None:
    """The account whose name and password these are, or None; in the caller's transaction,
    which must commit either way (a failure is counted, and each try kept among the name's
    events, from ``origin``). Past the settings' failures within their window, refused before
    the password is checked (TooManyFailures). A password an administrator set signs in no
    one (PasswordToChange) but is right to change to ``changing_to`` (the password is checked
    to be changed, not to sign in). A change its account made already, asked for again (its
    answer lost on the way), is no wrong password: PasswordChanged."""
    if len(username) > USERNAME_LENGTH:  # no account's: nothing kept of it
        await verify_password(password, None)
        return None
    guard = settings.auth()
    window = timedelta(minutes=guard.sign_in_minutes)
    failures, left_s = (await conn.execute(_TRIED, {"username": username,
                                                    "window": window})).one()
    if failures > guard.sign_in_attempts:
        await record(conn, username, "held_back", origin)
        raise TooManyFailures(math.ceil(left_s))
    row = (await conn.execute(_ACCOUNT, {"username": username})).first()
    known = None if row is None else row.password_hash
    right, renewed = await verify_password(password, known)
    if renewed:  # made at another cost than the settings' now: at theirs from now on
        await conn.execute(_RENEWED, {"id": row.id, "hash": renewed})
    # Checked whoever asks, the name an account's or not: the time taken tells nothing either.
    changed = (not right and changing_to is not None
               and (await verify_password(changing_to, known))[0])
    if changed and row is not None and not row.password_to_change:
        await conn.execute(_SUCCEEDED, {"username": username, "window": window})
        raise PasswordChanged()
    if row is None or not right:
        await record(conn, username, "wrong_password", origin)
        return None
    await conn.execute(_SUCCEEDED, {"username": username, "window": window})
    if changing_to is None:
        if row.password_to_change:
            raise PasswordToChange()
        await record(conn, username, "signed_in", origin)
    return _account(row)
