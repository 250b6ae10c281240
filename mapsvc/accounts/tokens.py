"""Bearer tokens: signed JWTs that carry the account's role and scope for one work shift."""

from datetime import datetime, timedelta, timezone
from functools import lru_cache

import jwt
from cachetools import LRUCache

from mapsvc import settings
from mapsvc.accounts.model import Account, Role

ALGORITHM = "HS256"


@lru_cache
def _key() -> str:
    return settings.auth().secret_value()


# Tokens already verified, with their account, expiry and issue time: a shift's requests skip
# checking the signature again (a token is signed, so it stays what it was until it expires).
_verified: LRUCache = LRUCache(maxsize=4096)
# Accounts signed out everywhere (disabled, or their password changed): account id → the time
# (seconds since 1970) before which the tokens issued to it no longer count. Each process reads
# it from the database every SIGN_OUT_SECONDS (mapsvc.api.main).
_signed_out: dict[int, float] = {}
SIGN_OUT_SECONDS = 3


def refuse_tokens_before(signed_out: dict[int, float]) -> None:
    """Take the accounts signed out everywhere as the database now has them."""
    global _signed_out
    _signed_out = signed_out


class InvalidToken(Exception):
    """The token is missing, malformed, expired or not ours."""


def issue_token(account: Account) -> str:
    now = datetime.now(timezone.utc)
    claims = {
        "sub": account.username, "uid": account.id, "role": account.role.value,
        "region": account.region_code, "department": account.department_code,
        "grids": list(account.grid_ids),
        "iat": now.timestamp(),  # to the microsecond: signed out a moment after, it is refused
        "exp": now + timedelta(hours=settings.auth().token_hours),
    }
    return jwt.encode(claims, _key(), algorithm=ALGORITHM)


def read_token(token: str) -> Account:
    known = _verified.get(token)
    if known is None or known[1] <= datetime.now(timezone.utc).timestamp():
        try:
            claims = jwt.decode(token, _key(), algorithms=[ALGORITHM],
                                options={"require": ["sub", "uid", "role", "exp", "iat"]})
            account = Account(id=claims["uid"], username=claims["sub"],
                              role=Role(claims["role"]), region_code=claims.get("region"),
                              department_code=claims.get("department"),
                              grid_ids=tuple(claims.get("grids") or ()))
        except (jwt.PyJWTError, ValueError, KeyError) as e:
            raise InvalidToken(str(e)) from e
        known = _verified[token] = (account, claims["exp"], claims["iat"])
    account, _, issued = known
    if issued < _signed_out.get(account.id, 0):
        raise InvalidToken("the account was signed out")
    return account
