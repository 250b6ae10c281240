"""Domain errors to HTTP statuses, with one JSON body shape for every client error.

The body is FastAPI's own validation shape, ``{"detail": [{"loc", "msg", "type"}]}``, so a client
reads a bad field the same way whether pydantic or a domain rule refused it.
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
    loc = [location, error.field] if error.field else [location]
    kind = type(error).__name__.lower()
    return {"detail": [{"loc": loc, "msg": error.reason, "type": kind}]}


def _location(request: Request) -> str:
    """Where a request's values came from, for the error's ``loc``."""
    return "query" if request.method == "GET" else "body"


async def domain_error_handler(request: Request, error: DomainError) -> JSONResponse:
    return JSONResponse(error_body(error, _location(request)),
                        status_code=STATUS.get(type(error), 400))


def _finite(value):
    """JSON has no NaN or infinity: echo such inputs back as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


async def data_error_handler(request: Request,
                             error: DataError | psycopg.DataError) -> JSONResponse:
    """A value the database cannot take as it is (PostgreSQL's class 22, "data exception":
    text holding the NUL character, a number out of range), where no check before named it."""
    reason = str(getattr(error, "orig", None) or error).splitlines()[0]
    return JSONResponse({"detail": [{"loc": [_location(request)], "msg": reason,
                                     "type": "data_error"}]}, status_code=422)


async def validation_error_handler(request: Request, error: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": _finite(jsonable_encoder(error.errors()))}, status_code=422)


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(DataError, data_error_handler)
    app.add_exception_handler(psycopg.DataError, data_error_handler)
