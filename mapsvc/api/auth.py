"""Sign-in (OAuth2 password flow) and the dependencies that check who is asking.

Dependencies here and in ``deps`` are coroutines: FastAPI would run plain functions in a
thread pool, a hop that costs more than the work they do.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from mapsvc import settings
from mapsvc.accounts.model import Account, Role
from mapsvc.accounts.passwords import check_password
from mapsvc.accounts.store import (PasswordChanged, PasswordToChange, TooManyFailures,
                                   authenticate, set_password)
from mapsvc.accounts.tokens import InvalidToken, issue_token, read_token
from mapsvc.api.deps import transaction
from mapsvc.errors import InvalidInput

router = APIRouter(prefix="/auth", tags=["auth"])
bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

_UNAUTHORISED = {"WWW-Authenticate": "Bearer"}


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: Role = Field(description="the account's role, for a page to offer its work")


_WRONG_PASSWORDS = {401: {"description": "wrong credentials"},
                    429: {"description": "too many wrong passwords for this account name "
                                         "lately: try again after Retry-After seconds"}}
_SIGN_IN_REFUSALS = {**_WRONG_PASSWORDS,
                     403: {"description": "the password an administrator set: change it first "
                                          "(POST /api/v1/auth/password)"}}


@router.post("/token", response_model=Token, responses=_SIGN_IN_REFUSALS)
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Sign in with an account's name and password (OAuth2 password flow): a bearer token for
    the requests that follow, valid for the session's hours, and the account's role."""
    async with transaction(request) as conn:  # failures counted and kept are committed
        account = await _signed_in_with(request, conn, form.username, form.password)
    return Token(access_token=issue_token(account), role=account.role)


async def _signed_in_with(request: Request, conn, username: str, password: str, *,
                          changing_to: str | None = None) -> Account:
    """The account of ``username`` and ``password``, or 401 (429 when wrong passwords hold
    the name back; 403 for a password an administrator set, unless changing it to
    ``changing_to``); the try is counted and kept, so the caller commits whatever comes."""
    try:
        account = await authenticate(conn, username, password, origin=address(request),
                                     changing_to=changing_to)
    except TooManyFailures as refused:
        await conn.commit()
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, refused.reason,
                            headers={"Retry-After": str(refused.retry_after)}) from None
    except PasswordToChange as refused:
        await conn.commit()
        raise HTTPException(status.HTTP_403_FORBIDDEN, refused.reason) from None
    if account is None:
        await conn.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers=_UNAUTHORISED)
    return account


def address(request: Request) -> str:
    """Where a request came from (behind a proxy, the address it forwarded)."""
    return request.client.host if request.client else ""


@router.post("/password", status_code=204, responses=_WRONG_PASSWORDS)
async def change_password(request: Request, username: Annotated[str, Form()],
                          password: Annotated[str, Form()],
                          new_password: Annotated[str, Form()]) -> None:
    """Change your own password, signing in with the one you have (a wrong one counts as a
    failed sign-in). The account is then signed out everywhere: sign in with the new one. The
    same change asked for again (its answer lost) answers as it did, changing nothing."""
    try:
        check_password(new_password, username)
    except InvalidInput as weak:
        raise InvalidInput(weak.reason, field="new_password") from None
    if new_password == password:
        raise InvalidInput("must differ from the password it replaces", field="new_password")
    async with transaction(request) as conn:
        try:
            await _signed_in_with(request, conn, username, password, changing_to=new_password)
        except PasswordChanged:
            return
        await set_password(conn, username, new_password, to_change=False,
                           origin=f"本人，来自 {address(request)}")


# Pages sign in once and keep the token in this cookie: tiles, the live feed (EventSource can
# send no header) and other reads use it. It is HttpOnly and SameSite=Strict, and only safe
# methods accept it, so another site can neither read it nor make a page act with it.
SESSION_COOKIE = "mapsvc_session"
_SAFE_METHODS = ("GET", "HEAD")


@router.post("/session", response_model=Token, responses=_SIGN_IN_REFUSALS)
async def open_session(request: Request, response: Response,
                       form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Sign in a page: the token goes into an HttpOnly cookie, which reads (tiles, the live
    feed), and is answered for the page's changes, which send it as a bearer token."""
    issued = await token(request, form)
    response.set_cookie(SESSION_COOKIE, issued.access_token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/",
                        max_age=int(settings.auth().token_hours * 3600))
    return issued


@router.delete("/session", status_code=204)
async def close_session(response: Response) -> None:
    """Sign a page out: its session cookie is cleared."""
    response.delete_cookie(SESSION_COOKIE, path="/")


async def any_account(request: Request,
                      token: Annotated[str | None, Depends(bearer)]) -> Account:
    """The account behind the bearer token (or, for reads, the session cookie), whatever its
    role; 401 without a valid one."""
    if token is None and request.method in _SAFE_METHODS:
        token = request.cookies.get(SESSION_COOKIE)
    if token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first", headers=_UNAUTHORISED)
    try:
        account = read_token(token)
    except InvalidToken:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token",
                            headers=_UNAUTHORISED) from None
    request.state.token = token
    return account


async def signed_in(request: Request,
                    token: Annotated[str | None, Depends(bearer)]) -> Account:
    """The account behind the token, as ``any_account``; 403 for an auditor, who reads the
    audit alone (operations open to auditors say so: ``allowed``)."""
    return admit(await any_account(request, token), _NOT_AUDITORS)


def still_signed_in(request: Request) -> bool:
    """Whether the token a request was signed in with still counts: a response that goes on
    (the live feed) asks now and then, and ends when its token has expired or its account was
    signed out."""
    try:
        read_token(request.state.token)
    except InvalidToken:
        return False
    return True


def admit(account: Account, roles: frozenset[Role]) -> Account:
    """``account`` if its role is one of ``roles``; 403 for the others."""
    if account.role not in roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"a {account.role} account may not do this")
    return account


_NOT_AUDITORS = frozenset(Role) - {Role.auditor}


def allowed(roles: frozenset[Role]):
    """A dependency admitting only ``roles`` (403 for the others)."""

    async def check(account: Annotated[Account, Depends(any_account)]) -> Account:
        return admit(account, roles)

    return check


SignedIn = Annotated[Account, Depends(signed_in)]
