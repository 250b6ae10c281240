"""The hot paths' routes: tiles, locate and reports, most of the requests pages and phones make.

They are Starlette's own, which spares each request FastAPI's routing and per-parameter work
(about as long as serving a cached tile), and are answered ahead of the API's middleware
(HotPaths), which spares it the middleware's turns on the way in and out (a fifth of a
cached tile's time). Pydantic models read their parameters and bodies, refuse them with the
API's 422 answer and document them in its OpenAPI description.
"""

import json
from collections.abc import Mapping, Sequence

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

_REF = "#/components/schemas/{model}"


class HotPaths:
    """ASGI: a request a hot path's route takes (path and method) goes to that route straight,
    behind the API's exception handlers (``handlers``), so its errors are answered as the API
    answers them; every other request goes to ``app``, the API's middleware and routes (where
    the hot routes also are: a hot path asked with another method is answered there). An
    error no handler takes reaches the server, which answers 500 and logs it, as the API's
    middleware would."""

    def __init__(self, app: ASGIApp, routes: Sequence[Route], handlers: Mapping):
        self.app = app
        self.routes = [(route, ExceptionMiddleware(route.handle, handlers=handlers))
                       for route in routes]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route, answer in self.routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    await answer(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def read(model: type[BaseModel], values, location: str):
    """``values`` (path or query parameters, or a body's JSON) read by ``model``."""
    try:
        return model.model_validate(values)
    except ValidationError as e:
        raise RequestValidationError([{**error, "loc": (location, *error["loc"])}
                                      for error in e.errors(include_url=False)]) from None


def read_json(model: type[BaseModel], body: bytes):
    """A JSON request body read by ``model``; one that is no JSON is refused as FastAPI does:
    422 naming where it fails, or 400 when it is no text in any of JSON's encodings."""
    try:
        values = json.loads(body)
    except json.JSONDecodeError as e:
        raise RequestValidationError([{
            "type": "json_invalid", "loc": ("body", e.pos), "msg": "JSON decode error",
            "input": {}, "ctx": {"error": e.msg}}]) from None
    except UnicodeDecodeError:
        raise HTTPException(400, "There was an error parsing the body") from None
    return read(model, values, "body")


def _schema(openapi: dict, model: type[BaseModel]) -> dict:
    """``model``'s JSON schema, the schemas it uses put among the API's components."""
    schema = model.model_json_schema(ref_template=_REF)
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    return schema


def parameters(openapi: dict, model: type[BaseModel], location: str) -> list[dict]:
    """The OpenAPI parameters ``model`` reads."""
    schema = _schema(openapi, model)
    return [{"name": name, "in": location, "required": name in schema.get("required", ()),
             "schema": field, "description": field.get("description", "")}
            for name, field in schema["properties"].items()]


def schema_ref(openapi: dict, model: type[BaseModel]) -> dict:
    """A reference to ``model``'s schema, put among the API's components."""
    openapi["components"]["schemas"][model.__name__] = _schema(openapi, model)
    return {"$ref": _REF.format(model=model.__name__)}
