"""Domain errors to HTTP statuses, with one JSON body shape for every refusal of a request's
values or of a domain rule; a database out of reach to 503; a method its path does not take to
405, naming those it takes; and the errors each operation may answer in the API description.

The body is FastAPI's own validation shape, ``{"detail": [{"loc", "msg", "type"}]}``, so a client
reads a bad field the same way whether pydantic or a domain rule refused it. Refusals at sign-in
and of a role (401, 403 from mapsvc.api.auth) carry FastAPI's plain ``{"detail": "…"}``.
"""

import logging
import math

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount

from mapsvc.db.engine import database_said
from mapsvc.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Refused

logger = logging.getLogger(__name__)

STATUS = {InvalidInput: 422, Forbidden: 403, NotFound: 404, Conflict: 409}
# The database out of reach (restarting, the way to it down) or every connection to it busy
# past the pool's wait. The request's work may not be done: sent again, it is done once (a
# report or step by its client id).
UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError,
               psycopg.OperationalError, psycopg.InterfaceError)
RETRY_AFTER_S = 5


def _said(error: DomainError, loc: list) -> dict:
    said = {"loc": [*loc, *error.field.split(".")] if error.field else loc,
            "msg": error.reason, "type": type(error).__name__.lower()}
    if error.context:
        said["ctx"] = error.context
    return said


def error_body(error: DomainError, location: str = "body") -> dict:
    """The error's body; a field inside another (``point.lon``) is named by its path, as
    FastAPI names it, and what the client may act on is its ``ctx``, as pydantic's. A batch's
    items refused are each named by their place in it (``ids.3.status``: the status of the
    fourth case named)."""
    if isinstance(error, Refused):
        return {"detail": [_said(refused, [location, error.field, place])
                           for place, refused in error.refusals]}
    return {"detail": [_said(error, [location])]}


def _status(error: DomainError) -> int:
    if isinstance(error, Refused):
        return _status(error.refusals[0][1])
    return STATUS.get(type(error), 400)


def _location(request: Request) -> str:
    """Where a request's values came from, for the error's ``loc``."""
    return "query" if request.method in ("GET", "DELETE") else "body"


async def domain_error_handler(request: Request, error: DomainError) -> JSONResponse:
    return JSONResponse(error_body(error, _location(request)), status_code=_status(error))


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
                             error: exc.DataError | psycopg.DataError) -> JSONResponse:
    """A value the database cannot take as it is (PostgreSQL's class 22, "data exception":
    text holding the NUL character, a number out of range), where no check before named it;
    a query parameter holding the NUL character, which no text in PostgreSQL may, named."""
    held = [name for name, value in request.query_params.multi_items() if "\x00" in value]
    return JSONResponse({"detail": [{"loc": [_location(request), *held[:1]],
                                     "msg": database_said(error), "type": "data_error"}]},
                        status_code=422)


async def unavailable_handler(request: Request, error: Exception) -> JSONResponse:
    """503, for the client to send the request again shortly; a line in the log, not a trace
    per request."""
    logger.warning("%s %s: the database is unavailable: %s", request.method, request.url.path,
                   database_said(error))
    return JSONResponse({"detail": "the database cannot be reached just now: try again shortly"},
                        status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


async def method_not_allowed_handler(request: Request, error: HTTPException) -> JSONResponse:
    """405 naming in Allow every method the path takes (RFC 9110 §15.5.6), not only those of
    the first of its routes, as Starlette would (GET and POST /incidents are two). Files
    (mounted) take what they say."""
    allowed = [method for method in _METHODS if any(
        not isinstance(route, Mount)
        and route.matches({**request.scope, "method": method})[0] is Match.FULL
        for route in request.app.router.routes)]
    return JSONResponse({"detail": error.detail}, status_code=405,
                        headers={"Allow": ", ".join(allowed)} if allowed else error.headers)


async def validation_error_handler(request: Request, error: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": _writable(jsonable_encoder(error.errors()))}, status_code=422)


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(405, method_not_allowed_handler)
    app.add_exception_handler(exc.DataError, data_error_handler)
    app.add_exception_handler(psycopg.DataError, data_error_handler)
    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, unavailable_handler)


# The errors an operation may answer beside those it declares, for the API description.
_SIGNED_IN = {"401": {"description": "not signed in, or the token has expired"},
              "403": {"description": "the account's role may not do this"}}
_NAMED = {"404": {"description": "nothing of that name or id within the account's scope"}}
_BODY = {"400": {"description": "the body cannot be read: no text, or a broken form"},
         "413": {"description": "the body is larger than the service takes"}}
_AWAY = {"503": {"description": "the database cannot be reached just now: send the request "
                                "again after the seconds of Retry-After"}}


def document_errors(schema: dict) -> None:
    """Put into the API description (``schema``) the errors each operation may answer beside
    those it declares: 401 and 403 where it needs a token (a role may not take it: an
    auditor's takes none but the audit's), 404 where its path names something and 400 and 413
    where it reads a body; and 503 (UNAVAILABLE) everywhere."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            errors = dict(_AWAY)
            if operation.get("security"):
                errors |= _SIGNED_IN
            if any(p["in"] == "path" for p in operation.get("parameters", ())):
                errors |= _NAMED
            if "requestBody" in operation:
                errors |= _BODY
            operation["responses"] = dict(sorted({**errors, **operation["responses"]}.items()))
