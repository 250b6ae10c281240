"""A roster (花名册): the accounts of many people made at once from a spreadsheet, as a county
takes on its grid workers. One row an account (its columns headed by their names or in Chinese:
账号, 角色 …): ``username`` and ``role`` (as the API names it, or in Chinese: 网格员), and as
the role is bound, ``grids`` (codes, apart by spaces, commas or 、), ``region`` or
``department``; and ``display_name``.

All or nothing: a roster with any row refused stores nothing, and each refusal names its line
and column. A name that is an account already is left as it is and said so: a roster sent
again (its answer lost, or with rows added) makes only the accounts it did not make before.
Each account made gets a first password of its own, which it changes before it first signs in;
they are answered once, to be handed over, and kept nowhere but as hashes.
"""

import re
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.model import ROLE_NAMES, Role
from mapsvc.accounts.passwords import first_password
from mapsvc.accounts.store import AccountSpec, refusals, store_accounts
from mapsvc.db.spreadsheet import sheet_text
from mapsvc.errors import InvalidInput
from mapsvc.tables import APART, CheckedRows, RowError, read_table

COLUMNS = (("username", "role"), ("display_name", "grids", "region", "department"))
# how a roster made in Chinese heads its columns, as the accounts page names them
HEADINGS = {"username": "账号", "role": "角色", "display_name": "姓名", "grids": "网格编码",
            "region": "区域编码", "department": "部门编码"}
MAX_ROWS = 2000  # a county's grid workers, chiefs and centres; each password hash takes a while
# a role as a roster may write it: as the API names it, or in Chinese
_ROLES = {**{role.value: role for role in Role}, **{name: Role(role)
                                                  for role, name in ROLE_NAMES.items()}}


@dataclass
class Enrolled:
    """An account the roster made, with the first password to hand over."""
    username: str
    display_name: str
    role: Role
    password: str


@dataclass
class RosterResult:
    rows: int
    created: list[Enrolled] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)  # accounts already: left as they are
    errors: list[RowError] = field(default_factory=list)  # any: nothing was stored


def read_roster(source, filename: str) -> pd.DataFrame:
    frame = read_table(source, filename, *COLUMNS, HEADINGS)
    if len(frame) > MAX_ROWS:
        raise InvalidInput(f"{filename}: {len(frame)} rows; a roster holds at most {MAX_ROWS}",
                           field="file")
    return frame


# Only one roster is read at a time: one sent twice at once makes its accounts once.
_ONE_AT_A_TIME = text("SELECT pg_advisory_xact_lock(hashtext('mapsvc account roster'))")


async def import_roster(conn: AsyncConnection, frame: pd.DataFrame, *,
                        origin: str) -> RosterResult:
    """Make the roster's accounts in the caller's transaction, or none of them."""
    await conn.execute(_ONE_AT_A_TIME)
    rows = CheckedRows(frame)
    rows.flag(frame["username"] == "", "username", "is empty", {"rule": "empty"})
    rows.flag(~frame["role"].isin(list(_ROLES)), "role",
              f"must be one of {', '.join(Role)} (or {', '.join(ROLE_NAMES.values())})",
              {"rule": "role"})
    named = frame["username"].where(rows.ok)
    rows.flag(named.duplicated(keep=False) & named.notna(), "username",
              lambda i: f"{frame['username'].iat[i]!r} is on more than one line",
              {"rule": "repeated"})
    existing = set((await conn.execute(text(
        "SELECT username FROM account WHERE username = ANY(:names)"),
        {"names": frame["username"][rows.ok].tolist()})).scalars())
    new = rows.ok & ~frame["username"].isin(existing).to_numpy()
    at = [int(i) for i in new.nonzero()[0]]
    specs = [AccountSpec(
        username=row.username, password=first_password(row.username), role=_ROLES[row.role],
        region_code=row.region or None, department_code=row.department or None,
        grid_codes=tuple(code for code in re.split(APART, row.grids) if code),
        display_name=row.display_name) for row in frame.iloc[at].itertuples()]
    for index, refusal in (await refusals(conn, specs)).items():
        rows.errors.append(RowError(int(rows.line[at[index]]), refusal.field or "username",
                                    refusal.reason, refusal.context))
    result = RosterResult(rows=len(frame), existing=sorted(existing),
                          errors=sorted(rows.errors, key=lambda e: e.line))
    if not result.errors:
        await store_accounts(conn, specs, origin=origin, to_change=True)
        result.created = [Enrolled(s.username, s.display_name, s.role, s.password)
                          for s in specs]
    return result


def password_sheet(created: list[Enrolled]) -> str:
    """The accounts made and their first passwords, as a spreadsheet's CSV text (with the
    byte-order mark Excel reads UTF-8 by; names never formulas), to hand over."""
    return "\ufeff" + sheet_text([("账号", "姓名", "角色", "初始密码"),
                                  *((a.username, a.display_name, ROLE_NAMES[a.role], a.password)
                                    for a in created)])
