"""The category tree: read by every signed-in account (the phone's picker searches it), loaded
by admins."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile

from mapsvc.accounts.model import Account, Role
from mapsvc.api.auth import SignedIn, allowed
from mapsvc.api.deps import StoredWhole, refused_rows, statements, stored_whole
from mapsvc.incidents.categories import category_tree, import_categories, read_categories

router = APIRouter(prefix="/categories", tags=["categories"])


@router.get("", response_class=Response, responses={200: {"content": {"application/json": {}}}})
async def categories(
    request: Request,
    account: SignedIn,
    q: Annotated[str | None, Query(max_length=100,
                                   description="part of a name or path, or a code's start")] = None,
) -> Response:
    """Every class with its path, whether it is a leaf, its time limit and default department
    (inherited), filing and closing conditions, and national class codes."""
    async with statements(request) as conn:
        return Response(await category_tree(conn, q), media_type="application/json")


@router.post("/import", responses=refused_rows("StoredWhole", "nothing stored"))
async def import_file(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV or Excel: code, name [, parent_code, "
                                                 "time_limit, time_limit_unit, department_code, "
                                                 "filing_condition, closing_condition, "
                                                 "gb30428_code, gb39666_code, …]")],
    account: Account = Depends(allowed(frozenset({Role.admin}))),
) -> StoredWhole:
    """Load a category tree: all of it, or nothing when a line has a problem (422 listing them)."""
    return await stored_whole(request, file, read_categories, import_categories)
