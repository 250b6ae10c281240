"""The accounts, for administrators: made (one, or a roster at once), listed, given a new password
or new grids, disabled and enabled over the API as `mapsvc accounts` does on the server, each
change kept in the account's events with who made it and from where; and what befell the
accounts (等保 2.0 安全审计), for administrators and auditors: each creation, new password, new grids,
disabling and enabling, and each sign-in, right, wrong or held back."""

import io
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mapsvc.accounts.model import AUDIT_READERS, Account, Role
from mapsvc.accounts.roster import import_roster, read_roster
from mapsvc.accounts.store import (DISPLAY_NAME_LENGTH, USERNAME_LENGTH, account_events,
                                   create_account, list_accounts, set_active, set_grids,
                                   set_password)
from mapsvc.api.auth import address, allowed
from mapsvc.api.deps import (During, Page, RowProblem, read_upload, refused_rows, statements,
                             transaction)
from mapsvc.errors import InvalidInput
from mapsvc.incidents.model import NO_NUL, Place

router = APIRouter(prefix="/accounts", tags=["accounts"])

Administrator = Annotated[Account, Depends(allowed(frozenset({Role.admin})))]


class AccountEvent(BaseModel):
    at: datetime
    username: str
    event: str
    origin: str
    detail: str


@router.get("/events")
async def events(
    request: Request,
    account: Annotated[Account, Depends(allowed(AUDIT_READERS))],
    page: Page,
    during: During,
    username: Annotated[str | None, Query(max_length=200, description=(
        "an account name, or a name signed in with (no account has it)"))] = None,
) -> list[AccountEvent]:
    """Newest first, with who or where each came from (`mapsvc accounts history` prints the
    same)."""
    async with statements(request) as conn:
        return [AccountEvent(**e._mapping)
                for e in await account_events(conn, username, page.limit, page.offset,
                                              since=during.since, until=during.until)]


class ListedAccount(BaseModel):
    username: str
    display_name: str
    role: Role
    active: bool
    scope: str = Field(description="its region, department or grids (codes and names)")
    grids: list[Place] | None = Field(description="the grids it works in, where it has any")
    held_until: datetime | None = Field(description="wrong passwords hold it back until then")
    signed_in_at: datetime | None = Field(description="when it last signed in")


@router.get("")
async def accounts(request: Request, account: Administrator, page: Page,
                   role: Annotated[Role | None, Query(description="of one role alone")] = None,
                   ) -> list[ListedAccount]:
    """Every account (of one role), by role and name, as `mapsvc accounts list` shows them."""
    async with statements(request) as conn:
        return [ListedAccount(**a._mapping)
                for a in await list_accounts(conn, role=role, limit=page.limit,
                                             offset=page.offset)]


Username = Annotated[str, Field(min_length=1, max_length=USERNAME_LENGTH,
                                pattern=r"^[A-Za-z0-9_.@-]+$")]
GridCodes = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]],
                      Field(max_length=500)]


class NewAccount(BaseModel):
    username: Username
    role: Role
    password: str = Field(max_length=200, description="one the account changes before it "
                                                      "first signs in")
    display_name: str = Field("", max_length=DISPLAY_NAME_LENGTH, pattern=NO_NUL)
    region: str | None = Field(None, max_length=12, description="command, planner: its "
                                                                "region's code (none: all)")
    grids: GridCodes = Field([], description="grid_worker, grid_chief: the grids they work")
    department: str | None = Field(None, max_length=32, description="department: its code")


def _origin(request: Request, account: Account) -> str:
    """Who changed an account over the API, and from where, as its events keep it."""
    return f"{account.username} 经接口，来自 {address(request)}"


@router.post("", status_code=201, responses={
    409: {"description": "an account of that name exists"}})
async def new_account(request: Request, body: NewAccount,
                      account: Administrator) -> ListedAccount:
    """Make an account bound to its scope, with a password it changes before it first signs
    in; a scope that does not fit the role is refused, naming it. The answer lists it."""
    async with transaction(request) as conn:
        await create_account(conn, body.username, body.password, body.role,
                             region_code=body.region, department_code=body.department,
                             grid_codes=body.grids, display_name=body.display_name,
                             origin=_origin(request, account), to_change=True)
        [made] = await list_accounts(conn, username=body.username)
    return ListedAccount(**made._mapping)


class EnrolledAccount(BaseModel):
    username: str
    display_name: str
    role: Role
    password: str = Field(description="its first password, to hand over (answered this once; "
                                      "the account changes it before it first signs in)")


class RosterAnswer(BaseModel):
    rows: int
    created: list[EnrolledAccount]
    existing: list[str] = Field(description="names that are accounts already: left as they are")
    errors: list[RowProblem] = Field(description="any (422): nothing was stored")


@router.post("/import", responses=refused_rows("RosterAnswer", "nothing made"))
async def import_accounts(
    request: Request, account: Administrator,
    file: Annotated[UploadFile, File(description=(
        "a roster (花名册), CSV or Excel with a header line: username, role [, display_name, "
        "grids, region, department]"))],
) -> RosterAnswer:
    """Make the accounts of a roster at once, each with a first password it changes before it
    first signs in: all of them, or none if a line has a problem (422 listing each, by its
    line and column). A name that is an account already is left as it is, so that a roster
    sent again makes only the accounts it did not make before."""
    frame = read_roster(io.BytesIO(await read_upload(file)), file.filename or "roster.csv")
    async with transaction(request) as conn:
        result = await import_roster(conn, frame, origin=_origin(request, account))
    answer = RosterAnswer(rows=result.rows, created=[asdict(a) for a in result.created],
                          existing=result.existing, errors=[asdict(e) for e in result.errors])
    return JSONResponse(answer.model_dump(mode="json"), status_code=422 if result.errors else 200,
                        headers={"Cache-Control": "no-store"})  # first passwords


class AccountChange(BaseModel):
    active: bool | None = Field(None, description="false: it signs in no more, and is signed "
                                                  "out everywhere; true: it signs in again")
    grids: GridCodes | None = Field(None, description="grid_worker, grid_chief: the grids "
                                                      "they now work, in place of those before")


@router.patch("/{username}", status_code=204)
async def change_account(request: Request, username: str, body: AccountChange,
                         account: Administrator) -> None:
    """Disable or enable an account, or move it to other grids (grids redrawn, a worker
    moved); either signs it out everywhere. What it did stays under its name. An
    administrator does not disable the account they are signed in with."""
    if body.active is False and username == account.username:
        raise InvalidInput("the account you are signed in with: another administrator, or "
                           "`mapsvc accounts disable` on the server, disables it", field="active")
    async with transaction(request) as conn:
        if body.grids is not None:
            await set_grids(conn, username, body.grids, origin=_origin(request, account))
        if body.active is not None:
            await set_active(conn, username, body.active, origin=_origin(request, account))


class PasswordReset(BaseModel):
    password: str = Field(max_length=200, description="one the account changes before it "
                                                      "signs in again")


@router.post("/{username}/password", status_code=204)
async def reset_password(request: Request, username: str, body: PasswordReset,
                         account: Administrator) -> None:
    """Give an account a new password (one forgotten), which it changes before it signs in
    again: it is signed out everywhere, and a name held back by wrong passwords is let in."""
    async with transaction(request) as conn:
        await set_password(conn, username, body.password, to_change=True,
                           origin=_origin(request, account))
