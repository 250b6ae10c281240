"""Which grid holds a point: asked by phones as they drop a pin, a hot path (mapsvc.api.hot)."""

from fastapi import Request, Response
from pydantic import Field
from starlette.routing import Route

from mapsvc.api.auth import bearer, signed_in
from mapsvc.api.deps import AT
from mapsvc.api.hot import parameters, read, schema_ref
from mapsvc.incidents.assignment import locate as locate_point
from mapsvc.incidents.model import Location, Point, ReportTime


class LocateQuery(Point):
    at: ReportTime | None = Field(None, description=AT)


async def locate(request: Request) -> Response:
    """The grid a point falls in, how it was chosen, and the regions above it."""
    await signed_in(request, await bearer(request))
    query = read(LocateQuery, request.query_params, "query")
    location = await locate_point(request.app.state.reads, query, query.at)
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
