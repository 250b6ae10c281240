"""Who reported a case from outside the grids (a 12345 caller, a citizen): their name and phone,
kept to answer them and to call them back (回访), as personal information under PIPL: each value
encrypted at rest beside its masked form, shown masked to the centre and to the department the
case is with, revealed in full for a stated reason with an audit row, and erased once the case
has been closed for the privacy settings' days. A phone is also kept as a keyed hash, which
finds the same caller's other cases (重复来电) without decrypting a number."""

from typing import Literal
from uuid import UUID

import pandas as pd
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.model import Account, Role
from mapsvc.errors import InvalidInput, NotFound
from mapsvc.incidents.model import Caller
from mapsvc.incidents.queries import readable
from mapsvc.registry.privacy import decrypt, encrypt, mask_name, mask_number, phone_hash
from mapsvc.tables import bytea_text, copy_into
from mapsvc.workflow.machine import CLOSED_SQL

CallerField = Literal["name", "phone"]
CALLER_FIELD_NAMES = {"caller_name": "来电人姓名", "caller_phone": "来电人电话"}  # in the audit
# Roles that see a case's caller (masked) and may reveal them: the centre, which calls back,
# and the department the case is with, which answers the caller (答复).
CALLER_READERS = frozenset({Role.command, Role.admin, Role.department})
# why a desk commonly reveals a caller (常用语)
REVEAL_REASONS = ("回访诉求人", "答复诉求人", "核实诉求内容")


def _context(client_id: UUID, field: CallerField) -> bytes:
    """What a value is sealed with beside the key, its case's client id (known before the case
    is stored, as a file's rows are) and field: a value moved to another case or field does not
    decrypt."""
    return f"incident.{client_id}.caller_{field}".encode()


def _mask_phone(value: str) -> str:
    """138****1234, 066****8123: the first three and the last four digits."""
    return mask_number(value.replace("-", ""))


def _sealed(client_id: UUID, name: str, phone: str) -> dict:
    """A caller's row: each value given, masked and encrypted (None for one not given), the
    phone also as the keyed hash its other cases are found by."""
    return {"name_shown": mask_name(name) or None,
            "name_enc": encrypt(name, _context(client_id, "name")) if name else None,
            "phone_shown": _mask_phone(phone) if phone else None,
            "phone_enc": encrypt(phone, _context(client_id, "phone")) if phone else None,
            "phone_hash": phone_hash(phone) if phone else None}


async def store_caller(conn: AsyncConnection, incident_id: int, client_id: UUID,
                       caller: Caller) -> None:
    """The caller of the case just stored, in the caller's transaction."""
    await conn.execute(text("""
        INSERT INTO incident_caller (incident_id, name_shown, name_enc, phone_shown, phone_enc,
                                     phone_hash)
        VALUES (:id, :name_shown, :name_enc, :phone_shown, :phone_enc, :phone_hash)"""),
        {"id": incident_id, **_sealed(client_id, caller.name, caller.phone)})


_STAGE = """CREATE TEMP TABLE caller_stage (client_id uuid, name_shown text, name_enc bytea,
                                           phone_shown text, phone_enc bytea, phone_hash bytea)
            ON COMMIT DROP"""
# each caller staged, to the case of their client id that has none yet (a file imported again
# stores nothing twice)
_STAGED = """
INSERT INTO incident_caller (incident_id, name_shown, name_enc, phone_shown, phone_enc,
                             phone_hash)
SELECT i.id, c.name_shown, c.name_enc, c.phone_shown, c.phone_enc, c.phone_hash
  FROM caller_stage c JOIN incident i ON i.client_id = c.client_id
    ON CONFLICT (incident_id) DO NOTHING"""


async def store_callers(conn: AsyncConnection, rows: pd.DataFrame) -> None:
    """The callers of a file's ``rows`` (``client_id``, ``caller_name`` and ``caller_phone``,
    checked; both empty: none), each to the case stored under the row's client id, in the
    caller's transaction."""
    rows = rows[(rows["caller_name"] != "") | (rows["caller_phone"] != "")]
    if rows.empty:
        return
    frame = pd.DataFrame([{"client_id": str(client_id), **_sealed(client_id, name, phone)}
                          for client_id, name, phone in zip(map(UUID, rows["client_id"]),
                                                            rows["caller_name"],
                                                            rows["caller_phone"])])
    frame = frame.assign(**{column: bytea_text(frame[column])
                            for column in ("name_enc", "phone_enc", "phone_hash")})
    await conn.execute(text("DROP TABLE IF EXISTS pg_temp.caller_stage"))
    await conn.execute(text(_STAGE))
    await copy_into(conn, "caller_stage", frame)
    await conn.execute(text(_STAGED))


async def caller_shown(conn: AsyncConnection, incident_id: int) -> dict | None:
    """The case's caller, masked (for an account of CALLER_READERS that may read the case);
    None where there is none."""
    row = (await conn.execute(text("""
        SELECT name_shown AS name, phone_shown AS phone FROM incident_caller
         WHERE incident_id = :id"""), {"id": incident_id})).mappings().first()
    return dict(row) if row else None


async def reveal_caller(conn: AsyncConnection, account: Account, incident_id: int,
                        field: CallerField, reason: str) -> str:
    """One value of the case's caller in full, for a stated reason (for an account of
    CALLER_READERS); the reveal is audited in the same transaction, so no value is shown
    without its audit row."""
    if not reason.strip():
        raise InvalidInput("say why the full value is needed", field="reason")
    await readable(conn, incident_id, account)
    client_id, sealed = (await conn.execute(text(f"""
        SELECT i.client_id, c.{field}_enc FROM incident i
          LEFT JOIN incident_caller c ON c.incident_id = i.id
         WHERE i.id = :id"""), {"id": incident_id})).one()
    if sealed is None:
        raise NotFound(f"incident {incident_id} has no caller's {field}", field="field")
    await conn.execute(text("""
        INSERT INTO audit_log (account_id, action, entity, entity_id, field, reason)
        VALUES (:account, 'reveal', 'incident', :id, :field, :reason)"""),
        {"account": account.id, "id": str(incident_id), "field": f"caller_{field}",
         "reason": reason.strip()})
    return decrypt(sealed, _context(client_id, field))


async def erase_old_callers(conn: AsyncConnection) -> int:
    """Erase the callers of the cases closed (or voided) longer ago than the privacy settings'
    days, untouched since; how many. A case reopened meanwhile keeps its caller."""
    erased = await conn.execute(text(f"""
        DELETE FROM incident_caller c USING incident i
         WHERE i.id = c.incident_id AND i.status IN {CLOSED_SQL}
           AND i.updated_at < now() - make_interval(days => :days)"""),
        {"days": settings.privacy().caller_days})
    return erased.rowcount
