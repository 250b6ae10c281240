"""The hot paths' routes: tiles, locate and reports, most of the requests pages and phones make.

They are Starlette's own, ahead of the API's, which spares each request FastAPI's routing and
per-parameter work (about as long as serving a cached tile). Pydantic models read their
parameters and bodies, refuse them with the API's 422 answer and document them in its OpenAPI
description.
"""

import json

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

_REF = "#/components/schemas/{model}"


def read(model: type[BaseModel], values, location: str):
    """``values`` (path or query parameters, or a body's JSON) read by ``model``."""
    try:
        return model.model_validate(values)
    except ValidationError as e:
        raise RequestValidationError([{**error, "loc": (location, *error["loc"])}
                                      for error in e.errors(include_url=False)]) from None


def read_json(model: type[BaseModel], body: bytes):
    """A JSON request body read by ``model``; one that is no JSON is refused as FastAPI does."""
    try:
        values = json.loads(body)
    except ValueError as e:  # not JSON, or not UTF-8
        raise RequestValidationError([{
            "type": "json_invalid", "loc": ("body", getattr(e, "pos", 0)),
            "msg": "JSON decode error", "input": {},
            "ctx": {"error": getattr(e, "msg", str(e))}}]) from None
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
