"""People (实有人口): stored with encrypted identifiers, shown masked, revealed with an audit row;
those who moved away or died leave the registry and are erased once the privacy settings' days
are over."""

from datetime import date, datetime, timedelta
from typing import Literal
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.jurisdiction import registry_scope
from mapsvc.accounts.model import Account, Role
from mapsvc.errors import Conflict, InvalidInput, NotFound
from mapsvc.geojson import Filters, page
from mapsvc.incidents.model import LOCAL_TIME
from mapsvc.registry.micro_grids import CODE, LEADER_HERE, split_code
from mapsvc.registry.privacy import (
    ID_NUMBER,
    MOBILE,
    decrypt,
    encrypt,
    lookup_hash,
    mask_name,
    mask_number,
    normalise_id,
    phone_hash,
    valid_id_number,
)
from mapsvc.registry.queries import address_in_reach, household_in_reach, place_filters

REGISTRATION_NAMES = {"resident": "户籍", "floating": "流动", "overseas": "境外"}
REGISTRATIONS = tuple(REGISTRATION_NAMES)
# to the house they live in
RELATION_NAMES = {"owner": "产权人", "tenant": "租住", "lodger": "借住"}
RELATIONS = tuple(RELATION_NAMES)
SEX_NAMES = {"male": "男", "female": "女"}
SEXES = tuple(SEX_NAMES)
MOBILE_NUMBER = r"1\d{10}"  # a mainland mobile number
Field = Literal["name", "id_number", "mobile"]
FIELD_NAMES = {"name": "姓名", "id_number": "身份证号", "mobile": "手机"}  # as the pages call them
# what a correction may change, likewise
DETAIL_NAMES = {**FIELD_NAMES, "birth_date": "出生日期", "sex": "性别", "registration": "类别",
                "care_tags": "关怀标签"}
Departure = Literal["moved_away", "deceased"]
DEPARTURE_NAMES = {"moved_away": "迁出", "deceased": "去世"}
# Roles that may reveal a field of a person in their jurisdiction, stating why; that may
# export the people of a query (masked), stating why.
REVEALERS = frozenset({Role.admin, Role.command, Role.grid_chief, Role.grid_worker})
EXPORTERS = frozenset({Role.command, Role.admin})


# A person's place: the address of their household's house.
_PLACED = """
  FROM person p
  LEFT JOIN household h ON h.id = p.household_id
  LEFT JOIN house ho ON ho.id = h.house_id
  LEFT JOIN address a ON a.id = ho.address_id
  LEFT JOIN grid g ON g.id = a.grid_id
 WHERE {where}"""
_PEOPLE = """
SELECT p.id, p.name, p.id_number_enc, p.mobile_enc, p.birth_date, p.sex, p.registration,
       p.care_tags, p.household_id,
       a.full_text AS address, g.code AS grid, g.name AS grid_name, p.left_on,
       p.left_reason""" + _PLACED + """
 ORDER BY p.id {page}
"""


def _masked(row) -> dict:
    return {
        "id": row.id, "name": mask_name(row.name),
        "id_number": mask_number(decrypt(row.id_number_enc, ID_NUMBER))
        if row.id_number_enc else None,
        "mobile": mask_number(decrypt(row.mobile_enc, MOBILE)) if row.mobile_enc else None,
        "birth_year": row.birth_date.year if row.birth_date else None, "sex": row.sex,
        "registration": row.registration, "care_tags": list(row.care_tags),
        "household_id": row.household_id, "address": row.address, "grid": row.grid,
        "grid_name": row.grid_name,
        "left_on": row.left_on.isoformat() if row.left_on else None,
        "left_reason": row.left_reason,
        "erased_after": _erased_after(row.left_on).isoformat() if row.left_on else None,
    }


def _erased_after(left_on: date) -> date:
    """The last day a person who left on ``left_on`` is kept."""
    return left_on + timedelta(days=settings.privacy().person_days)


def _people_filters(account: Account, *, grid: str | None = None, region: str | None = None,
                    bbox=None, near=None, care_tag: str | None = None, left: bool = False,
                    micro_grid: str | None = None, id_number: str | None = None,
                    mobile: str | None = None, name: str | None = None) -> Filters:
    """The people of the account's jurisdiction asked for, where their household's address lies
    (``_PEOPLE``'s aliases; of a micro-grid, by its code); ``left``: those who moved away or
    died instead, until erased; with the ID number, mobile (by their keyed hashes) or full name
    given."""
    f = Filters()
    if id_number:
        if not valid_id_number(id_number):
            raise InvalidInput("not a valid resident ID number (18 characters, check digit)",
                               field="id_number")
        f.add("p.id_number_hash = :id_number_hash", id_number_hash=lookup_hash(id_number))
    if mobile:
        f.add("p.mobile_hash = :mobile_hash", mobile_hash=phone_hash(mobile))
    if name:
        f.add("p.name = :name", name=name.strip())
    f.add("p.left_on IS NOT NULL" if left else "p.left_on IS NULL")
    registry_scope(account, f, alias="a")
    place_filters(f, "a", grid=grid, region=region, bbox=bbox, near=near)
    if care_tag:
        f.add(":care_tag = ANY(p.care_tags)", care_tag=care_tag)
    if micro_grid:
        grid_code, serial = split_code(micro_grid)
        f.add("EXISTS (SELECT 1 FROM micro_grid m JOIN grid mg ON mg.id = m.grid_id "
              "WHERE m.id = a.micro_grid_id AND m.grid_id = a.grid_id "
              "AND mg.code = :micro_grid_grid AND m.serial = :micro_grid_serial)",
              micro_grid_grid=grid_code, micro_grid_serial=serial)
    return f


# The people a lookup shows, each written to the audit log as looked up (a lookup that finds
# no one too), in the same statement: none is shown without its audit row.
_LOOKED_UP = """
WITH shown AS (""" + _PEOPLE + """), logged AS (
    INSERT INTO audit_log (account_id, action, entity, entity_id, field, reason)
    SELECT :account, 'lookup', 'person', CAST(id AS text), :field, :reason FROM shown
    UNION ALL
    SELECT :account, 'lookup', 'person', '未找到', :field, :reason
     WHERE NOT EXISTS (SELECT 1 FROM shown))
SELECT * FROM shown ORDER BY id"""
# what a person is looked up by, as ``_people_filters`` takes it
LOOKUPS = ("id_number", "mobile", "name")


async def list_people(conn: AsyncConnection, account: Account, *, limit: int = 100,
                      offset: int = 0, reason: str | None = None, **where) -> list[dict]:
    """People in the account's jurisdiction (``_people_filters``), masked. Looked up by an ID
    number, a mobile or a name (one at a time), for a stated reason: audited."""
    f = _people_filters(account, **where)
    looked_up = [field for field in LOOKUPS if where.get(field)]
    statement = _PEOPLE
    if looked_up:
        if len(looked_up) > 1:
            raise InvalidInput("look a person up by one of id_number, mobile and name",
                               field=looked_up[1])
        if not (reason or "").strip():
            raise InvalidInput("say why you look this person up", field="reason")
        statement = _LOOKED_UP
        f.params.update(account=account.id, field=looked_up[0], reason=reason.strip())
    rows = (await conn.execute(text(statement.format(where=f.where(),
                                                     page=page(limit, offset))),
                               f.params)).all()
    return [_masked(r) for r in rows]


# Households where their house's address lies, with the people living in them (none: a house
# whose people all left, waiting for the next), and their micro-grid with its leader.
_HOUSEHOLDS = """
SELECT h.id, h.number, a.full_text AS address, g.code AS grid, mg.micro_grid,
       coalesce(json_agg(json_build_object('id', p.id, 'name', p.name,
                                           'birth_year', extract(year FROM p.birth_date)::int,
                                           'sex', p.sex, 'care_tags', p.care_tags)
                         ORDER BY p.id) FILTER (WHERE p.id IS NOT NULL), '[]') AS members
  FROM household h
  JOIN house ho ON ho.id = h.house_id
  JOIN address a ON a.id = ho.address_id
  LEFT JOIN grid g ON g.id = a.grid_id
  LEFT JOIN person p ON p.household_id = h.id AND p.left_on IS NULL
  LEFT JOIN LATERAL (  -- (the grid g is the micro-grid's)
      SELECT jsonb_build_object('code', """ + CODE + """, 'name', m.name, 'leader', (
                 SELECT jsonb_build_object('id', l.id, 'name', l.name) FROM person l
                  WHERE l.id = m.leader_id AND """ + LEADER_HERE + """)) AS micro_grid
        FROM micro_grid m WHERE m.id = a.micro_grid_id AND m.grid_id = a.grid_id) mg ON true
 WHERE {where}
 GROUP BY h.id, a.full_text, g.code, mg.micro_grid
 ORDER BY h.id {page}
"""


async def list_households(conn: AsyncConnection, account: Account, *, grid: str | None = None,
                          region: str | None = None, bbox=None, near=None,
                          address: int | None = None, limit: int = 100,
                          offset: int = 0) -> list[dict]:
    """Households in the account's jurisdiction, where their house's address lies (or at one
    standard address), each with its people (names masked): those a worker at the door
    visits, registers a newcomer to, or records a member of as gone; those a person moves
    to."""
    f = Filters()
    registry_scope(account, f, alias="a")
    place_filters(f, "a", grid=grid, region=region, bbox=bbox, near=near)
    if address is not None:
        f.add("a.id = :address", address=address)
    rows = (await conn.execute(text(_HOUSEHOLDS.format(where=f.where(),
                                                       page=page(limit, offset))),
                               f.params)).mappings()
    return [{**row, "micro_grid": _led(row["micro_grid"]),
             "members": [{**m, "name": mask_name(m["name"])} for m in row["members"]]}
            for row in rows]


def _led(micro_grid: dict | None) -> dict | None:
    """A household's micro-grid, its leader's name masked."""
    if not micro_grid or not micro_grid["leader"]:
        return micro_grid
    return {**micro_grid, "leader": {**micro_grid["leader"],
                                     "name": mask_name(micro_grid["leader"]["name"])}}


async def _person_in_reach(conn: AsyncConnection, account: Account, clause: str, **params):
    """The person ``clause`` (over ``p``, with ``params``) finds in the account's jurisdiction,
    as ``_PEOPLE`` reads them, or None."""
    f = Filters(params=params)
    f.add(clause)
    registry_scope(account, f, alias="a")
    return (await conn.execute(text(_PEOPLE.format(where=f.where(), page=page(1))),
                               f.params)).first()


async def _person_row(conn: AsyncConnection, account: Account, person_id: int):
    row = await _person_in_reach(conn, account, "p.id = :pid", pid=person_id)
    if row is None:
        raise NotFound(f"no person {person_id}", field="id")
    return row


async def read_person(conn: AsyncConnection, account: Account, person_id: int) -> dict:
    return _masked(await _person_row(conn, account, person_id))


# The register as a spreadsheet's columns: a person masked as a list shows them.
SHEET_HEADINGS = ("编号", "姓名", "身份证号", "手机", "出生年份", "性别", "类别", "关怀标签", "地址",
                  "网格编码", "网格", "离开日期", "离开原因")


def sheet_cells(row) -> tuple:
    """A person (as ``_PEOPLE`` reads them) as the sheet's cells."""
    shown = _masked(row)
    return (shown["id"], shown["name"], shown["id_number"], shown["mobile"],
            shown["birth_year"], SEX_NAMES.get(row.sex), REGISTRATION_NAMES[row.registration],
            "、".join(row.care_tags), row.address, row.grid, row.grid_name, shown["left_on"],
            DEPARTURE_NAMES.get(row.left_reason))


# what a person was looked up by, as the export's audit row names it: masked
_MASKED_ASKED = {"id_number": lambda v: mask_number(normalise_id(v)), "mobile": mask_number,
                 "name": lambda v: mask_name(v.strip())}
# the export's filters as its audit row names them (the pages' words)
_ASKED_NAMES = {**FIELD_NAMES, "grid": "网格", "region": "区域", "bbox": "范围", "near": "附近",
                "care_tag": "关怀标签", "left": "已离开", "micro_grid": "微网格"}


def _asked(key: str, value) -> str:
    """A filter of an export, as its audit row names it: a flag by its name, a box or a circle
    by its numbers, a person's detail masked."""
    if value is True:
        return _ASKED_NAMES[key]
    shown = (",".join(map(str, value)) if isinstance(value, tuple)
             else _MASKED_ASKED.get(key, str)(value))
    return f"{_ASKED_NAMES[key]} {shown}"


_EXPORTED = """
INSERT INTO audit_log (account_id, action, entity, entity_id, reason)
SELECT :account, 'export', 'person', count(*) || ' 人' || :what, :reason""" + _PLACED


async def export_people(conn: AsyncConnection, account: Account, reason: str,
                        **where) -> tuple[str, dict]:
    """The people ``list_people`` finds, all of them, as the statement reading them (for
    ``sheet_cells``) and its parameters; the export is audited first, with how many people it
    holds."""
    if not reason.strip():
        raise InvalidInput("say why the export is needed", field="reason")
    f = _people_filters(account, **where)
    asked = "".join(f"，{_asked(k, v)}" for k, v in where.items() if v)
    await conn.execute(text(_EXPORTED.format(where=f.where())),
                       {**f.params, "account": account.id, "what": asked,
                        "reason": reason.strip()})
    return _PEOPLE.format(where=f.where(), page=""), f.params


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


async def register_person(conn: AsyncConnection, account: Account, *,
                          household_id: int | None = None, address_id: int | None = None,
                          client_id: UUID, name: str, registration: str,
                          relation: str = "lodger", id_number: str | None = None,
                          mobile: str | None = None, birth_date: date | None = None,
                          sex: str | None = None, care_tags: tuple[str, ...] = ()) -> tuple[
                              dict, bool]:
    """A newcomer to a household in the account's jurisdiction, or the first member of a new
    household (新立户) at a standard address there (404 for any other), living in its house
    from today; identifiers encrypted as an import stores them. The same client id again is
    the person registered, and makes no other household; an ID number registered to someone
    who has not left is refused. Returns the person (masked) and whether they are new."""
    await _destination_in_reach(conn, account, household_id, address_id)
    checked = _checked_details({"name": name, "birth_date": birth_date, "id_number": id_number})
    params = {
        "client_id": client_id, "account": account.id, "name": checked["name"],
        "registration": registration, "relation": relation, "birth_date": birth_date,
        "sex": sex, "care_tags": list(care_tags),
        **_sealed_id_number(checked["id_number"]), **_sealed_mobile(mobile)}
    # a retry lost in a race makes no household: what it made is taken back to here
    registering = await conn.begin_nested()
    try:
        params["hh"] = household_id or await _new_household(conn, address_id)
        made = (await conn.execute(_REGISTER, params)).scalar()
    except IntegrityError:  # the one registered ID number among those who have not left
        await registering.rollback()
        raise await _registered_already(conn, account, params["id_hash"]) from None
    if made is None:
        await registering.rollback()
        made = (await conn.execute(text(
            "SELECT id FROM person WHERE client_id = :client_id AND registered_by = :account"),
            params)).scalar()
        if made is None:
            raise Conflict(f"client_id {client_id} names another account's registration",
                           field="client_id")
        return await read_person(conn, account, made), False
    await registering.commit()
    return await read_person(conn, account, made), True


async def _destination_in_reach(conn: AsyncConnection, account: Account,
                                household_id: int | None, address_id: int | None) -> None:
    """Where someone comes to live: a household, or a standard address for a new one, one of
    them given, in the account's jurisdiction (NotFound naming it otherwise)."""
    if (household_id is None) == (address_id is None):
        raise InvalidInput("give household_id or address_id (a new household there), not both",
                           field="household_id" if household_id is None else "address_id")
    if household_id is not None:
        await household_in_reach(conn, account, household_id)
    else:
        await address_in_reach(conn, account, address_id)


async def _registered_already(conn: AsyncConnection, account: Account,
                              id_hash: bytes) -> Conflict:
    """The refusal of an ID number registered to someone who has not left: naming them
    (``ctx.person``, to move them instead) when they are in the account's jurisdiction, and
    saying nothing of where otherwise."""
    found = await _person_in_reach(conn, account, "p.id_number_hash = :h AND p.left_on IS NULL",
                                   h=id_hash)
    if found is None:
        return Conflict("a person with this ID number is registered already", field="id_number")
    return Conflict(f"a person with this ID number is registered already in your jurisdiction: "
                    f"person {found.id}, at {found.address} (move them: POST "
                    f"/api/v1/registry/people/{found.id}/move)", field="id_number",
                    context={"person": found.id})


_REGISTER = text("""
WITH made AS (
    INSERT INTO person (name, id_number_enc, id_number_hash, mobile_enc, mobile_hash,
                        birth_date, sex, registration, care_tags, household_id, client_id,
                        registered_by)
    VALUES (:name, :id_enc, :id_hash, :mobile_enc, :mobile_hash, :birth_date, :sex,
            :registration, :care_tags, :hh, :client_id, :account)
    ON CONFLICT (client_id) DO NOTHING RETURNING id
), tie AS (
    INSERT INTO person_house (person_id, house_id, relation)
    SELECT made.id, h.house_id, :relation FROM made, household h WHERE h.id = :hh
)
SELECT id FROM made""")


async def _new_household(conn: AsyncConnection, address_id: int) -> int:
    """A new household in the house at ``address_id`` (the house made, residential, when the
    address has none yet)."""
    return (await conn.execute(text("""
        WITH ho AS (  -- the house, made or found (and held for this transaction)
            INSERT INTO house (address_id) VALUES (:a)
            ON CONFLICT (address_id) DO UPDATE SET address_id = excluded.address_id
            RETURNING id
        )
        INSERT INTO household (house_id) SELECT id FROM ho RETURNING id"""),
        {"a": address_id})).scalar_one()


async def move_person(conn: AsyncConnection, account: Account, person_id: int, *,
                      household_id: int | None = None, address_id: int | None = None,
                      relation: str = "lodger", on: date | None = None) -> dict:
    """A person of the account's jurisdiction who has not left moves, keeping their number,
    to a household there, or as the first of a new household at a standard address there
    (404 for any other), ``on`` a day (default: China's today, never ahead of it): their
    ties to houses end that day and one to the new house begins. Moved there already, nothing
    changes. Returns the person (masked)."""
    today = datetime.now(LOCAL_TIME).date()
    on = on or today
    if on > today:
        raise InvalidInput("a move cannot be recorded ahead of today", field="on")
    row = await _person_row(conn, account, person_id)
    if row.left_on is not None:
        raise Conflict(f"person {person_id} left on {row.left_on.isoformat()}", field="id")
    await _destination_in_reach(conn, account, household_id, address_id)
    params = {"pid": person_id, "hh": household_id, "a": address_id, "relation": relation,
              "on": on}
    # one move of a person at a time: a retry racing the first finds it made
    await conn.execute(text("SELECT 1 FROM person WHERE id = :pid FOR UPDATE"), params)
    there = (await conn.execute(text("""
        SELECT h.id = :hh OR ho.address_id = :a FROM person p
          JOIN household h ON h.id = p.household_id JOIN house ho ON ho.id = h.house_id
         WHERE p.id = :pid"""), params)).scalar()
    if there:  # sent again: moved already
        return _masked(row)
    params["hh"] = household_id or await _new_household(conn, address_id)
    await conn.execute(text("""
        WITH ended AS (
            UPDATE person_house SET valid_to = greatest(:on, valid_from)
             WHERE person_id = :pid AND valid_to IS NULL
        )
        UPDATE person SET household_id = :hh WHERE id = :pid"""), params)
    await conn.execute(text("""
        INSERT INTO person_house (person_id, house_id, relation, valid_from)
        SELECT :pid, house_id, :relation, :on FROM household WHERE id = :hh
        ON CONFLICT (person_id, house_id, relation, valid_from) DO UPDATE SET valid_to = NULL"""),
        params)
    return await read_person(conn, account, person_id)


_CORRECTED = """
WITH changed AS (
    UPDATE person SET {changes} WHERE id = :pid AND left_on IS NULL RETURNING id
)
INSERT INTO audit_log (account_id, action, entity, entity_id, field, reason)
SELECT :account, 'correct', 'person', :entity, f.field, :reason
  FROM changed, unnest(CAST(:fields AS text[])) AS f (field)"""


async def correct_person(conn: AsyncConnection, account: Account, person_id: int,
                         details: dict, reason: str) -> dict:
    """A person of the account's jurisdiction who has not left, their details corrected as
    found (信息更正: a new mobile, a name misspelt, care tags since a visit): each field given
    (``details``, of ``DETAIL_NAMES``; None clears an ID number, mobile, birth date or sex)
    that differs from what is held is changed, and written to the audit log with the reason,
    in the caller's transaction; identifiers stored encrypted as a registration stores them.
    Sent again, nothing differs and nothing is written. Returns the person (masked)."""
    if not details:
        raise InvalidInput(f"name what is corrected: one of {', '.join(DETAIL_NAMES)}",
                           field="body")
    if not reason.strip():
        raise InvalidInput("say why the details are corrected", field="reason")
    row = await _person_row(conn, account, person_id)
    if row.left_on is not None:
        raise Conflict(f"person {person_id} left on {row.left_on.isoformat()}", field="id")
    wanted = _checked_details(details)
    held = {"name": row.name, "birth_date": row.birth_date, "sex": row.sex,
            "registration": row.registration, "care_tags": list(row.care_tags),
            "id_number": decrypt(row.id_number_enc, ID_NUMBER) if row.id_number_enc else None,
            "mobile": decrypt(row.mobile_enc, MOBILE) if row.mobile_enc else None}
    fields = [f for f in DETAIL_NAMES if f in wanted and wanted[f] != held[f]]
    if not fields:
        return _masked(row)
    params = {"pid": person_id, "account": account.id, "entity": str(person_id),
              "reason": reason.strip(), "fields": fields,
              **{f: wanted[f] for f in fields if f not in ("id_number", "mobile")}}
    changes = [f"{f} = :{f}" for f in fields if f in params]
    if "id_number" in fields:
        changes.append("id_number_enc = :id_enc, id_number_hash = :id_hash")
        params.update(_sealed_id_number(wanted["id_number"]))
    if "mobile" in fields:
        changes.append("mobile_enc = :mobile_enc, mobile_hash = :mobile_hash")
        params.update(_sealed_mobile(wanted["mobile"]))
    correcting = await conn.begin_nested()
    try:
        await conn.execute(text(_CORRECTED.format(changes=", ".join(changes))), params)
    except IntegrityError:  # the one registered ID number among those who have not left
        await correcting.rollback()
        raise await _registered_already(conn, account, params["id_hash"]) from None
    await correcting.commit()
    return await read_person(conn, account, person_id)


def _sealed_id_number(number: str | None) -> dict:
    """An ID number (normalised) as it is stored: encrypted, beside its keyed hash."""
    return {"id_enc": encrypt(number, ID_NUMBER) if number else None,
            "id_hash": lookup_hash(number) if number else None}


def _sealed_mobile(mobile: str | None) -> dict:
    """A mobile as it is stored: encrypted, beside the keyed hash it is found by."""
    return {"mobile_enc": encrypt(mobile, MOBILE) if mobile else None,
            "mobile_hash": phone_hash(mobile) if mobile else None}


def _checked_details(details: dict) -> dict:
    """A person's details as a registration or a correction gives them, as they are held (an
    ID number in capitals, no blanks; care tags each once), or InvalidInput naming the first
    at fault."""
    checked = dict(details)
    for kept in ("registration", "care_tags"):
        if kept in checked and checked[kept] is None:
            raise InvalidInput("cannot be cleared", field=kept)
    if "name" in checked:
        if not (checked["name"] or "").strip():
            raise InvalidInput("empty", field="name")
        checked["name"] = checked["name"].strip()
    if checked.get("birth_date") and checked["birth_date"] > datetime.now(LOCAL_TIME).date():
        raise InvalidInput("a birth date cannot be ahead of today", field="birth_date")
    if checked.get("id_number"):
        if not valid_id_number(checked["id_number"]):
            raise InvalidInput("not a valid resident ID number (18 characters, check digit)",
                               field="id_number")
        checked["id_number"] = normalise_id(checked["id_number"])
    if "care_tags" in checked:
        checked["care_tags"] = list(dict.fromkeys(t.strip() for t in checked["care_tags"]
                                                  if t.strip()))
    return checked


async def record_departure(conn: AsyncConnection, account: Account, person_id: int,
                           reason: Departure, on: date | None = None, note: str = "") -> dict:
    """A person in the account's jurisdiction moved away or died ``on`` a day (default: China's
    today, and never ahead of it): their ties to houses end that day, they leave lists and
    counts, and the record is audited in the caller's transaction. The same departure sent
    again changes nothing; another one for a person who has left is refused."""
    today = datetime.now(LOCAL_TIME).date()
    on = on or today
    if on > today:
        raise InvalidInput("a departure cannot be recorded ahead of today", field="on")
    await _person_row(conn, account, person_id)  # in the account's jurisdiction, or 404
    params = {"pid": person_id, "on": on, "reason": reason}
    left = (await conn.execute(text("""
        UPDATE person SET left_on = :on, left_reason = :reason
         WHERE id = :pid AND left_on IS NULL RETURNING id"""), params)).first()
    if left is None:
        row = await _person_row(conn, account, person_id)
        if (row.left_on, row.left_reason) != (on, reason):
            raise Conflict(f"person {person_id} is recorded as {row.left_reason} on "
                           f"{row.left_on.isoformat()}", field="reason")
        return _masked(row)
    await conn.execute(text("""
        UPDATE person_house SET valid_to = greatest(:on, valid_from)
         WHERE person_id = :pid AND valid_to IS NULL"""), params)
    await conn.execute(text("""
        INSERT INTO audit_log (account_id, action, entity, entity_id, reason)
        VALUES (:account, 'departure', 'person', :entity, :what)"""),
        {"account": account.id, "entity": str(person_id),
         "what": " ".join((f"{DEPARTURE_NAMES[reason]} {on.isoformat()}", note.strip())).strip()})
    return _masked(await _person_row(conn, account, person_id))


async def withdraw_departure(conn: AsyncConnection, account: Account, person_id: int,
                             reason: str) -> None:
    """A departure recorded by mistake taken back, for a stated reason: the person is in the
    lists and counts again, with the ties to houses that the departure ended; audited in the
    caller's transaction. A person who has not left (the withdrawal sent again) is left as is;
    one registered anew meanwhile under the same ID number is refused."""
    if not reason.strip():
        raise InvalidInput("say why the departure is withdrawn", field="reason")
    await _person_row(conn, account, person_id)  # in the account's jurisdiction, or 404
    try:
        left = (await conn.execute(text("""
            WITH was AS (SELECT left_on, left_reason FROM person
                          WHERE id = :pid AND left_on IS NOT NULL FOR UPDATE)
            UPDATE person p SET left_on = NULL, left_reason = NULL FROM was
             WHERE p.id = :pid RETURNING was.left_on, was.left_reason"""),
            {"pid": person_id})).first()
    except IntegrityError:  # the one registered ID number among those who have not left
        raise Conflict("the same ID number has been registered anew since") from None
    if left is None:
        return
    await conn.execute(text("""
        UPDATE person_house SET valid_to = NULL
         WHERE person_id = :pid AND valid_to = greatest(:on, valid_from)"""),
        {"pid": person_id, "on": left.left_on})
    await conn.execute(text("""
        INSERT INTO audit_log (account_id, action, entity, entity_id, reason)
        VALUES (:account, 'departure withdrawn', 'person', :entity, :what)"""),
        {"account": account.id, "entity": str(person_id),
         "what": f"{DEPARTURE_NAMES[left.left_reason]} {left.left_on.isoformat()}："
                 f"{reason.strip()}"})


async def erase_people_who_left(conn: AsyncConnection) -> int:
    """Erase the people who left longer ago than the privacy settings' days, with their ties
    to houses; how many. The audit log keeps that they left, by their number alone."""
    gone = (await conn.execute(text("""
        WITH gone AS (SELECT id FROM person
                       WHERE left_on < CAST(now() AT TIME ZONE 'Asia/Shanghai' AS date)
                                       - CAST(:days AS integer)),
             ties AS (DELETE FROM person_house t USING gone WHERE t.person_id = gone.id)
        DELETE FROM person p USING gone WHERE p.id = gone.id"""),
        {"days": settings.privacy().person_days}))
    return gone.rowcount
