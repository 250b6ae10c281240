"""The registry: people (masked unless revealed, with an audit row) and the audit log."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from mapsvc.accounts.model import Account, Role
from mapsvc.api.auth import SignedIn, allowed
from mapsvc.api.deps import Page, statements, transaction
from mapsvc.registry.audit import audit_entries
from mapsvc.registry.people import REVEALERS, list_people, read_person, reveal
from mapsvc.registry.people import Field as PersonField

router = APIRouter(tags=["registry"])


@router.get("/registry/people")
async def people(
    request: Request,
    account: SignedIn,
    grid: Annotated[str | None, Query(description="grid code")] = None,
    care_tag: Annotated[str | None, Query(description="e.g. 独居老人")] = None,
    page: Page = Depends(),
) -> list[dict]:
    """People in your jurisdiction, with name, ID number and mobile masked."""
    async with statements(request) as conn:
        return await list_people(conn, account, grid=grid, care_tag=care_tag,
                                 limit=page.limit, offset=page.offset)


@router.get("/registry/people/{person_id}", responses={404: {"description": "not in your scope"}})
async def person(request: Request, person_id: int, account: SignedIn) -> dict:
    async with statements(request) as conn:
        return await read_person(conn, account, person_id)


class RevealRequest(BaseModel):
    field: PersonField
    reason: str = Field(min_length=2, max_length=500, description="why the full value is needed")


@router.post("/registry/people/{person_id}/reveal")
async def reveal_field(request: Request, person_id: int, body: RevealRequest,
                       account: Annotated[Account, Depends(allowed(REVEALERS))]) -> dict:
    """One field in full; the reveal is written to the audit log with your reason."""
    async with transaction(request) as conn:
        value = await reveal(conn, account, person_id, body.field, body.reason)
    return {"id": person_id, "field": body.field, "value": value}


@router.get("/audit")
async def audit(request: Request, account: Annotated[Account, Depends(allowed(
                    frozenset({Role.admin})))], page: Page = Depends()) -> list[dict]:
    """Every reveal and export of personal data, newest first (admins only)."""
    async with statements(request) as conn:
        return await audit_entries(conn, limit=page.limit, offset=page.offset)
