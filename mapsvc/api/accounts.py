"""What befell the accounts (等保 2.0 安全审计), for administrators and auditors: each creation,
new password, new grids, disabling and enabling, and each sign-in, right, wrong or held back."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from mapsvc.accounts.model import AUDIT_READERS, Account
from mapsvc.accounts.store import account_events
from mapsvc.api.auth import allowed
from mapsvc.api.deps import During, Page, statements

router = APIRouter(prefix="/accounts", tags=["accounts"])


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
