"""The category tree: read by every signed-in account (the phone's picker searches it), loaded
by admins."""

import io
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mapsvc.accounts.model import Account, Role
from mapsvc.api.auth import SignedIn, allowed
from mapsvc.api.deps import RowProblem, read_upload, refused_rows, statements, transaction
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


class CategoriesAnswer(BaseModel):
    rows: int
    stored: int = Field(description="the classes stored (none on a 422)")
    errors: list[RowProblem] = Field(description="any (422): nothing was stored")


@router.post("/import", responses=refused_rows("CategoriesAnswer", "nothing stored"))
async def import_file(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV or Excel: code, name [, parent_code, "
                                                 "time_limit, time_limit_unit, department_code, "
                                                 "filing_condition, closing_condition, "
                                                 "gb30428_code, gb39666_code, …]")],
    account: Account = Depends(allowed(frozenset({Role.admin}))),
) -> CategoriesAnswer:
    """Load a category tree: all of it, or nothing when a line has a problem (422 listing them)."""
    data = await read_upload(file)
    frame = read_categories(io.BytesIO(data), file.filename or "upload.csv")
    async with transaction(request) as conn:
        result = await import_categories(conn, frame)
    answer = CategoriesAnswer(rows=result.rows, stored=result.stored,
                              errors=[asdict(e) for e in result.errors])
    return JSONResponse(answer.model_dump(mode="json"),
                        status_code=422 if result.errors else 200)
