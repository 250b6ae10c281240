"""People (实有人口): stored with encrypted identifiers, shown masked, revealed with an audit row."""

from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import registry_scope
from mapsvc.accounts.model import Account, Role
from mapsvc.errors import InvalidInput, NotFound
from mapsvc.geojson import Filters, page
from mapsvc.registry.privacy import (
    ID_NUMBER,
    MOBILE,
    decrypt,
    mask_id,
    mask_mobile,
    mask_name,
)
from mapsvc.registry.queries import place_filters

REGISTRATIONS = ("resident", "floating", "overseas")  # 户籍, 流动, 境外
Field = Literal["name", "id_number", "mobile"]
# Roles that may reveal a field of a person in their jurisdiction, stating why.
REVEALERS = frozenset({Role.admin, Role.command, Role.grid_chief, Role.grid_worker})


# A person's place: the address of their household's house.
_PEOPLE = """
SELECT p.id, p.name, p.id_number_enc, p.mobile_enc, p.birth_date, p.sex, p.registration,
       p.care_tags, p.household_id, a.full_text AS address, g.code AS grid
  FROM person p
  LEFT JOIN household h ON h.id = p.household_id
  LEFT JOIN house ho ON ho.id = h.house_id
  LEFT JOIN address a ON a.id = ho.address_id
  LEFT JOIN grid g ON g.id = a.grid_id
 WHERE {where}
 ORDER BY p.id {page}
"""


def _masked(row) -> dict:
    return {
        "id": row.id, "name": mask_name(row.name),
        "id_number": mask_id(decrypt(row.id_number_enc, ID_NUMBER))
        if row.id_number_enc else None,
        "mobile": mask_mobile(decrypt(row.mobile_enc, MOBILE)) if row.mobile_enc else None,
        "birth_year": row.birth_date.year if row.birth_date else None, "sex": row.sex,
        "registration": row.registration, "care_tags": list(row.care_tags),
        "household_id": row.household_id, "address": row.address, "grid": row.grid,
    }


async def list_people(conn: AsyncConnection, account: Account, *, grid: str | None = None,
                      region: str | None = None, bbox=None, near=None,
                      care_tag: str | None = None, limit: int = 100, offset: int = 0) -> list[dict]:
    """People in the account's jurisdiction, where their household's address lies, masked."""
    f = Filters()
    registry_scope(account, f, alias="a")
    place_filters(f, "a", grid=grid, region=region, bbox=bbox, near=near)
    if care_tag:
        f.add(":care_tag = ANY(p.care_tags)", care_tag=care_tag)
    rows = (await conn.execute(text(_PEOPLE.format(where=f.where(), page=page(limit, offset))),
                               f.params)).all()
    return [_masked(r) for r in rows]


async def _person_row(conn: AsyncConnection, account: Account, person_id: int):
    f = Filters(params={"pid": person_id})
    f.add("p.id = :pid")
    registry_scope(account, f, alias="a")
    row = (await conn.execute(text(_PEOPLE.format(where=f.where(), page=page(1))),
                              f.params)).first()
    if row is None:
        raise NotFound(f"no person {person_id}", field="id")
    return row


async def read_person(conn: AsyncConnection, account: Account, person_id: int) -> dict:
    return _masked(await _person_row(conn, account, person_id))


async def export_people(conn: AsyncConnection, account: Account, reason: str, **where) -> list[dict]:
    """The people ``list_people`` gives (masked), every row of them; the export is audited."""
    if not reason.strip():
        raise InvalidInput("say why the export is needed", field="reason")
    people = await list_people(conn, account, limit=1_000_000, **where)
    await conn.execute(text("""
        INSERT INTO audit_log (account_id, action, entity, entity_id, reason)
        VALUES (:account, 'export', 'person', :what, :reason)"""),
        {"account": account.id, "what": f"{len(people)} people " + ", ".join(
            f"{k}={v}" for k, v in where.items() if v), "reason": reason.strip()})
    return people


async def reveal(conn: AsyncConnection, account: Account, person_id: int, field: Field,
                 reason: str) -> str | None:
    """One field of one person in full, for a stated reason; the reveal is audited in the same
    transaction, so no value is shown without its audit row."""
    if not reason.strip():
        raise InvalidInput("say why the full value is needed", field="reason")
    row = await _person_row(conn, account, person_id)
    value = {"name": lambda: row.name,
             "id_number": lambda: decrypt(row.id_number_enc, ID_NUMBER)
             if row.id_number_enc else None,
             "mobile": lambda: decrypt(row.mobile_enc, MOBILE)
             if row.mobile_enc else None}[field]()
    await conn.execute(text("""
        INSERT INTO audit_log (account_id, action, entity, entity_id, field, reason)
        VALUES (:account, 'reveal', 'person', :pid, :field, :reason)"""),
        {"account": account.id, "pid": str(person_id), "field": field, "reason": reason.strip()})
    return value
