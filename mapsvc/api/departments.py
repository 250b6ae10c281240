"""The departments (职能部门): read by every signed-in account, loaded by admins."""

import io
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mapsvc.accounts.model import Account, Role
from mapsvc.api.auth import SignedIn, allowed
from mapsvc.api.deps import RowProblem, read_upload, refused_rows, statements, transaction
from mapsvc.workflow.departments import departments_json, import_departments, read_departments

router = APIRouter(prefix="/departments", tags=["departments"])


@router.get("", response_class=Response, responses={200: {"content": {"application/json": {}}}})
async def departments(request: Request, account: SignedIn) -> Response:
    """Every department, with the region it serves (none: everywhere) and the classes it
    answers for there (负责类别), by code."""
    async with statements(request) as conn:
        return Response(await departments_json(conn), media_type="application/json")


class DepartmentsAnswer(BaseModel):
    rows: int
    stored: int = Field(description="the departments stored (none on a 422)")
    errors: list[RowProblem] = Field(description="any (422): nothing was stored")


@router.post("/import", responses=refused_rows("DepartmentsAnswer", "nothing stored"))
async def import_file(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV or Excel: code, name [, region, "
                                                 "classes] (or 部门编码, 部门名称, 区域编码, "
                                                 "负责类别)")],
    account: Account = Depends(allowed(frozenset({Role.admin}))),
) -> DepartmentsAnswer:
    """Load the departments: all of them, or nothing when a line has a problem (422 listing
    them)."""
    data = await read_upload(file)
    frame = read_departments(io.BytesIO(data), file.filename or "upload.csv")
    async with transaction(request) as conn:
        result = await import_departments(conn, frame)
    answer = DepartmentsAnswer(rows=result.rows, stored=result.stored,
                               errors=[asdict(e) for e in result.errors])
    return JSONResponse(answer.model_dump(mode="json"),
                        status_code=422 if result.errors else 200)
