"""The departments (职能部门): read by every signed-in account, loaded by admins."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile

from mapsvc.accounts.model import Account, Role
from mapsvc.api.auth import SignedIn, allowed
from mapsvc.api.deps import StoredWhole, refused_rows, statements, stored_whole
from mapsvc.workflow.departments import departments_json, import_departments, read_departments

router = APIRouter(prefix="/departments", tags=["departments"])


@router.get("", response_class=Response, responses={200: {"content": {"application/json": {}}}})
async def departments(request: Request, account: SignedIn) -> Response:
    """Every department, with the region it serves (none: everywhere) and the classes it
    answers for there (负责类别), by code."""
    async with statements(request) as conn:
        return Response(await departments_json(conn), media_type="application/json")


@router.post("/import", responses=refused_rows("StoredWhole", "nothing stored"))
async def import_file(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV or Excel: code, name [, region, "
                                                 "classes] (or 部门编码, 部门名称, 区域编码, "
                                                 "负责类别)")],
    account: Account = Depends(allowed(frozenset({Role.admin}))),
) -> StoredWhole:
    """Load the departments: all of them, or nothing when a line has a problem (422 listing
    them)."""
    return await stored_whole(request, file, read_departments, import_departments)
