"""Which grid holds a point: asked by phones as they drop a pin, a hot path (mapsvc.api.hot)."""

from fastapi import Request, Response
from pydantic import Field
from starlette.routing import Route

from mapsvc.api.auth import bearer, signed_in
from mapsvc.api.deps import AT
from mapsvc.api.hot import parameters, read, schema_ref
from mapsvc.incidents.assignment import locate as locate_point
from mapsvc.incidents.model import ACCURACY_MAX_M, Location, Point, ReportTime


NEAR_MAX_M = 1000  # how far the grids named nearby may lie, however poor the fix


class LocateQuery(Point):
    at: ReportTime | None = Field(None, description=AT)
    accuracy_m: float | None = Field(
        None, gt=0, le=ACCURACY_MAX_M, allow_inf_nan=False,
        description="how far off the point may be (a phone's fix): the answer then also names "
                    f"the other grids that near it, up to {NEAR_MAX_M} m (nearby)")


async def locate(request: Request) -> Response:
    """The grid a point falls in, how it was chosen, and the regions above it; given the
    point's accuracy, the other grids it may lie in."""
    await signed_in(request, await bearer(request))
    query = read(LocateQuery, request.query_params, "query")
    reach = None if query.accuracy_m is None else min(query.accuracy_m, NEAR_MAX_M)
    location = await locate_point(request.app.state.reads, query, query.at, reach)
    return Response(location.model_dump_json(), media_type="application/json")


PATH = "/api/v1/locate"
route = Route(PATH, locate, methods=["GET"])


def document(openapi: dict) -> None:
    """Put the locate route into the API's OpenAPI description."""
    openapi["paths"][PATH] = {"get": {
        "tags": ["incidents"], "summary": "Locate", "description": locate.__doc__,
        "operationId": "locate", "parameters": parameters(openapi, LocateQuery, "query"),
        "security": [{"OAuth2PasswordBearer": []}],
        "responses": {"200": {"description": "where the point falls", "content": {
                          "application/json": {"schema": schema_ref(openapi, Location)}}},
                      "401": {"description": "not signed in"},
                      "422": {"description": "a coordinate is missing, out of range or looks "
                                             "swapped; the body names it"}}}}
