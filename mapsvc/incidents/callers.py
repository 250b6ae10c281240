"""Who reported a case from outside the grids (a 12345 caller, a citizen): their name and phone,
kept to answer them and to call them back (回访), as personal information under PIPL: each value
encrypted at rest beside its masked form, shown masked to the centre and to the department the
case is with, revealed in full for a stated reason with an audit row, and erased once the case
has been closed for the privacy settings' days."""

from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.model import Account, Role
from mapsvc.errors import InvalidInput, NotFound
from mapsvc.incidents.model import Caller
from mapsvc.incidents.queries import readable
from mapsvc.registry.privacy import decrypt, encrypt, mask_mobile, mask_name
from mapsvc.workflow.machine import CLOSED_SQL

CallerField = Literal["name", "phone"]
CALLER_FIELD_NAMES = {"caller_name": "来电人姓名", "caller_phone": "来电人电话"}  # in the audit
# Roles that see a case's caller (masked) and may reveal them: the centre, which calls back,
# and the department the case is with, which answers the caller (答复).
CALLER_READERS = frozenset({Role.command, Role.admin, Role.department})
# why a desk commonly reveals a caller (常用语)
REVEAL_REASONS = ("回访诉求人", "答复诉求人", "核实诉求内容")


def _context(incident_id: int, field: CallerField) -> bytes:
    """What a value is sealed with beside the key: a value moved to another case or field
    does not decrypt."""
    return f"incident.{incident_id}.caller_{field}".encode()


def _mask_phone(value: str) -> str:
    """138****1234, 0660****123: the first three and the last four characters."""
    return mask_mobile(value.replace("-", ""))


async def store_caller(conn: AsyncConnection, incident_id: int, caller: Caller) -> None:
    sealed = {f"{field}_enc": encrypt(value, _context(incident_id, field)) if value else None
              for field, value in (("name", caller.name), ("phone", caller.phone))}
    await conn.execute(text("""
        INSERT INTO incident_caller (incident_id, name_shown, name_enc, phone_shown, phone_enc)
        VALUES (:id, :name_shown, :name_enc, :phone_shown, :phone_enc)"""),
        {"id": incident_id, "name_shown": mask_name(caller.name) or None,
         "phone_shown": _mask_phone(caller.phone) if caller.phone else None, **sealed})


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
    sealed = (await conn.execute(text(f"""
        SELECT {field}_enc FROM incident_caller WHERE incident_id = :id"""),
        {"id": incident_id})).scalar_one_or_none()
    if sealed is None:
        raise NotFound(f"incident {incident_id} has no caller's {field}", field="field")
    await conn.execute(text("""
        INSERT INTO audit_log (account_id, action, entity, entity_id, field, reason)
        VALUES (:account, 'reveal', 'incident', :id, :field, :reason)"""),
        {"account": account.id, "id": str(incident_id), "field": f"caller_{field}",
         "reason": reason.strip()})
    return decrypt(sealed, _context(incident_id, field))


async def erase_old_callers(conn: AsyncConnection) -> int:
    """Erase the callers of the cases closed (or voided) longer ago than the privacy settings'
    days, untouched since; how many. A case reopened meanwhile keeps its caller."""
    erased = await conn.execute(text(f"""
        DELETE FROM incident_caller c USING incident i
         WHERE i.id = c.incident_id AND i.status IN {CLOSED_SQL}
           AND i.updated_at < now() - make_interval(days => :days)"""),
        {"days": settings.privacy().caller_days})
    return erased.rowcount
