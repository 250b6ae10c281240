"""Plans (规划方案) for planners and admins: drafts, split and merge, a redrawn layer from a
file, validation, impact preview, publish. A draft's grids are edited one by one through OGC
API – Features (mapsvc.api.features), as QGIS and the planner page do."""

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mapsvc.accounts.model import Account
from mapsvc.api.auth import allowed
from mapsvc.api.deps import GEOJSON, read_upload, statements, transaction
from mapsvc.boundaries.export import MEDIA_TYPES, export_plan
from mapsvc.boundaries.plans import (
    HALVES,
    PLANNERS,
    LayerRefused,
    create_plan,
    discard_plan,
    layer_problems,
    list_plans,
    load_layer,
    load_plan,
    merge_grids,
    plan_doc,
    plan_grids_geojson,
    split_grid,
)
from mapsvc.boundaries.proposals import propose
from mapsvc.boundaries.publish import preview, publish
from mapsvc.boundaries.reading import BoundaryFileError, FieldNames, read_boundaries
from mapsvc.boundaries.validation import validate
from mapsvc.errors import InvalidInput
from mapsvc.incidents.model import ReportTime
from mapsvc.numbers import Whole

router = APIRouter(prefix="/plans", tags=["plans"])
Planner = Annotated[Account, Depends(allowed(PLANNERS))]


class NewPlan(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    villages: list[str] = Field(min_length=1, max_length=500, description="village codes")


class Proposal(BaseModel):
    village: str = Field(description="the village to divide")
    max_households: Whole = Field(ge=1, le=100_000)
    name: str | None = Field(None, max_length=200)


class Split(BaseModel):
    code: str = Field(description="the grid to cut")
    line: dict | None = Field(None, description="a GeoJSON LineString drawn across it")
    halves: Literal[HALVES] | None = Field(None, description=(
        "with no line: cut in two halves across its longer side, of equal area or of as near "
        "equal registered households as their homes allow"))


class Merge(BaseModel):
    codes: list[str] = Field(min_length=2, description="the grids; the first keeps its code")


class Publication(BaseModel):
    effective_from: ReportTime | None = Field(
        None, description="when the new grids took effect (default: now; not in the future)")
    force_reason: str | None = Field(None, max_length=2000,
                                     description="an admin's reason to publish despite errors")


@router.get("")
async def plans(
    request: Request,
    account: Planner,
    village: Annotated[str | None, Query(max_length=15, description="a village's code: the "
                                                                   "plans redrawing it")] = None,
    status: Annotated[Literal["draft", "published", "discarded"] | None, Query(
        description="in one state alone")] = None,
) -> JSONResponse:
    """The plans of the villages you plan, the newest 200 first, each as ``GET /plans/{id}``
    answers it."""
    async with statements(request) as conn:
        return JSONResponse(await list_plans(conn, account, village=village, status=status))


@router.post("", status_code=201)
async def new_plan(request: Request, body: NewPlan, account: Planner) -> JSONResponse:
    """A draft holding the villages' grids in force."""
    async with transaction(request) as conn:
        plan_id = await create_plan(conn, account, body.name.strip(), body.villages)
        return JSONResponse(await plan_doc(conn, plan_id), status_code=201)


@router.post("/propose", status_code=201)
async def new_proposal(request: Request, body: Proposal, account: Planner) -> JSONResponse:
    """A draft dividing a village into compact grids of at most ``max_households``, drawn from
    its registered households."""
    async with transaction(request) as conn:
        plan_id = await propose(conn, account, body.village, body.max_households, body.name)
        return JSONResponse(await plan_doc(conn, plan_id), status_code=201)


@router.get("/{plan_id:int}")
async def plan(request: Request, plan_id: int, account: Planner) -> JSONResponse:
    """The plan: its name, villages and state, who made and who published it and when, how many
    grids it draws and, a draft, the grids in force it would retire."""
    async with statements(request) as conn:
        await load_plan(conn, account, plan_id)
        return JSONResponse(await plan_doc(conn, plan_id))


@router.get("/{plan_id:int}/grids", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def plan_grids(request: Request, plan_id: int, account: Planner) -> Response:
    """The drafted grids, each with its change against the live grid of its code."""
    async with statements(request) as conn:
        plan = await load_plan(conn, account, plan_id)
        body = await plan_grids_geojson(conn, plan)
    return Response(body, media_type=GEOJSON)


@router.post("/{plan_id:int}/split")
async def split(request: Request, plan_id: int, body: Split, account: Planner) -> dict:
    """Cut a grid along a line, or in two halves of its area or of its households: the
    largest piece keeps the code."""
    if (body.halves is None) == (body.line is None):
        raise InvalidInput("draw a line across the grid, or ask for halves", field="line")
    async with transaction(request) as conn:
        plan = await load_plan(conn, account, plan_id, draft=True)
        return {"codes": await split_grid(conn, plan, body.code, body.line, body.halves)}


@router.post("/{plan_id:int}/merge")
async def merge(request: Request, plan_id: int, body: Merge, account: Planner) -> dict:
    """Merge drafted grids of one village into the first named, which keeps its code and name;
    the others are retired on publish."""
    async with transaction(request) as conn:
        plan = await load_plan(conn, account, plan_id, draft=True)
        return {"code": await merge_grids(conn, plan, body.codes)}


@router.get("/{plan_id:int}/layer", response_class=Response, responses={200: {
    "content": {media_type: {} for media_type in MEDIA_TYPES.values()},
    "description": "the draft's grids as a file"}})
async def layer_file(
    request: Request,
    plan_id: int,
    account: Planner,
    format: Annotated[Literal["gpkg", "geojson"], Query(
        description="GeoPackage (gpkg) or GeoJSON")] = "gpkg",
) -> Response:
    """The draft as a layer to redraw in QGIS, say, and put back (PUT): each grid with the
    fields the layer is read by (code, name, parent_code, kind, households, population), in
    WGS84."""
    async with statements(request) as conn:
        await load_plan(conn, account, plan_id)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"plan-{plan_id}.{format}"
            await export_plan(conn, plan_id, path, format)
            body = path.read_bytes()
    return Response(body, media_type=MEDIA_TYPES[format], headers={
        "Content-Disposition": f'attachment; filename="{path.name}"'})


@router.put("/{plan_id:int}/layer")
async def layer(
    request: Request,
    plan_id: int,
    account: Planner,
    file: Annotated[UploadFile, File(description="GeoPackage, GeoJSON or zipped Shapefile")],
    crs: Annotated[str | None, Form(description="when the file declares none: EPSG:4326, "
                                               "EPSG:4490, gcj02 or bd09")] = None,
    code_field: Annotated[str, Form()] = "code",
    name_field: Annotated[str, Form()] = "name",
    parent_field: Annotated[str, Form(description="the village code field")] = "parent_code",
    encoding: Annotated[str | None, Form(
        description="a Shapefile's text encoding (gbk, big5 …), where its .cpg names none "
                    "or the wrong one (by default UTF-8 where its text is UTF-8, else "
                    "GB18030)")] = None,
) -> JSONResponse:
    """Replace the draft with a redrawn layer (edited in QGIS, say): all of it, or nothing
    when a feature has a problem (422 listing them)."""
    data = await read_upload(file)
    suffix = Path(file.filename or "layer.gpkg").suffix.lower()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"layer{suffix}"
        path.write_bytes(data)
        try:
            # a form's field left empty is one not given
            bf = read_boundaries(path, "grid", crs=crs or None,
                                 fields=FieldNames(code=code_field, name=name_field,
                                                   parent=parent_field),
                                 encoding=encoding or None)
        except BoundaryFileError as e:
            raise InvalidInput(str(e), field="file", context=e.ctx) from None
    async with transaction(request) as conn:
        plan = await load_plan(conn, account, plan_id, draft=True)
        try:
            loaded = await load_layer(conn, plan, bf)
        except LayerRefused as e:
            return JSONResponse({"detail": [{"loc": ["body", "file"], "msg": e.reason,
                                             "type": "invalidinput"}],
                                 "rejected": layer_problems(e.problems)}, status_code=422)
    return JSONResponse({"grids": loaded, "repaired": layer_problems(bf.repaired)})


@router.get("/{plan_id:int}/validation")
async def validation(request: Request, plan_id: int, account: Planner) -> JSONResponse:
    """Every problem of the draft with where it is, and each grid's size against its rule."""
    async with statements(request) as conn:
        plan = await load_plan(conn, account, plan_id)
        return JSONResponse(await validate(conn, plan))


@router.get("/{plan_id:int}/impact")
async def impact(request: Request, plan_id: int, account: Planner) -> JSONResponse:
    """What publishing now would move, and whose grids change; nothing is kept."""
    async with transaction(request) as conn:
        plan = await load_plan(conn, account, plan_id, draft=True)
        return JSONResponse(await preview(conn, plan, account))


@router.post("/{plan_id:int}/publish")
async def publish_plan(request: Request, plan_id: int, body: Publication,
                       account: Planner) -> JSONResponse:
    """Close the old grid versions and open the drafted ones in one transaction; open
    incidents and registry records move with them. Refused (409) while the report has errors,
    unless an admin forces it with a reason."""
    async with transaction(request) as conn:
        plan = await load_plan(conn, account, plan_id, draft=True)
        moved = await publish(conn, plan, account, effective_from=body.effective_from,
                              force_reason=body.force_reason)
        return JSONResponse({**await plan_doc(conn, plan_id), "impact": moved})


@router.post("/{plan_id:int}/discard")
async def discard(request: Request, plan_id: int, account: Planner) -> JSONResponse:
    """Set a draft aside, unpublished: the grids in force stay as they are; kept, as
    discarded."""
    async with transaction(request) as conn:
        plan = await load_plan(conn, account, plan_id, draft=True)
        await discard_plan(conn, plan)
        return JSONResponse(await plan_doc(conn, plan_id))
