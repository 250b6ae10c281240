"""Domain errors to HTTP statuses, with one JSON body shape for every refusal of a request's
values or of a domain rule, and the client errors each operation answers in the API
description.

The body is FastAPI's own validation shape, ``{"detail": [{"loc", "msg", "type"}]}``, so a client
reads a bad field the same way whether pydantic or a domain rule refused it. Refusals at sign-in
and of a role (401, 403 from mapsvc.api.auth) carry FastAPI's plain ``{"detail": "…"}``.
"""

import math

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from mapsvc.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound

STATUS = {InvalidInput: 422, Forbidden: 403, NotFound: 404, Conflict: 409}


def error_body(error: DomainError, location: str = "body") -> dict:
    """The error's body; a field inside another (``point.lon``) is named by its path, as
    FastAPI names it."""
    loc = [location, *error.field.split(".")] if error.field else [location]
    kind = type(error).__name__.lower()
    return {"detail": [{"loc": loc, "msg": error.reason, "type": kind}]}


def _location(request: Request) -> str:
    """Where a request's values came from, for the error's ``loc``."""
    return "query" if request.method == "GET" else "body"


async def domain_error_handler(request: Request, error: DomainError) -> JSONResponse:
    return JSONResponse(error_body(error, _location(request)),
                        status_code=STATUS.get(type(error), 400))


def _writable(value):
    """JSON has no NaN or infinity, and UTF-8 no lone surrogate (a JSON string may escape one,
    as \\ud800): echo such inputs back as text, the surrogate as its escape."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {k: _writable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_writable(v) for v in value]
    return value


async def data_error_handler(request: Request,
                             error: DataError | psycopg.DataError) -> JSONResponse:
    """A value the database cannot take as it is (PostgreSQL's class 22, "data exception":
    text holding the NUL character, a number out of range), where no check before named it."""
    reason = str(getattr(error, "orig", None) or error).splitlines()[0]
    return JSONResponse({"detail": [{"loc": [_location(request)], "msg": reason,
                                     "type": "data_error"}]}, status_code=422)


async def validation_error_handler(request: Request, error: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": _writable(jsonable_encoder(error.errors()))}, status_code=422)


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(DataError, data_error_handler)
    app.add_exception_handler(psycopg.DataError, data_error_handler)


# The client errors an operation answers beside those it declares, for the API description.
_SIGNED_IN = {"401": {"description": "not signed in, or the token has expired"}}
_NAMED = {"404": {"description": "nothing of that name or id within the account's scope"}}
_BODY = {"400": {"description": "the body cannot be read: no text, or a broken form"},
         "413": {"description": "the body is larger than the service takes"}}


def document_errors(schema: dict) -> None:
    """Put into the API description (``schema``) the client errors each operation answers
    beside those it declares: 401 where it needs a token, 404 where its path names something
    and 400 and 413 where it reads a body. Those only some roles may take declare their 403
    (mapsvc.api.auth.FORBIDDEN)."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            errors = {}
            if operation.get("security"):
                errors |= _SIGNED_IN
            if any(p["in"] == "path" for p in operation.get("parameters", ())):
                errors |= _NAMED
            if "requestBody" in operation:
                errors |= _BODY
            operation["responses"] = dict(sorted({**errors, **operation["responses"]}.items()))
