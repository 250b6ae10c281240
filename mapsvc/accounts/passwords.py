"""Passwords: what one must be (等保 2.0's 口令复杂度), and their hashes (Argon2id, at the cost
the settings give)."""

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from mapsvc import settings
from mapsvc.errors import InvalidInput


@lru_cache
def _hashing(passes: int, memory_kib: int, lanes: int) -> tuple[PasswordHash, str]:
    """Argon2id at this cost, and a hash of its own verified against for a name no account
    has, so a wrong name costs as long as a wrong password."""
    hasher = PasswordHash((Argon2Hasher(time_cost=passes, memory_cost=memory_kib,
                                        parallelism=lanes),))
    return hasher, hasher.hash("not a password")


def _current() -> tuple[PasswordHash, str]:
    cost = settings.auth()
    return _hashing(cost.hash_passes, cost.hash_memory_kib, cost.hash_lanes)


@lru_cache
def _hashers(lanes: int) -> ThreadPoolExecutor:
    """The threads hashes are worked on, off the service's event loop (Argon2 holds no lock of
    Python's): as many hashes at once as the cores take their lanes, so that the service's
    other requests are answered meanwhile, as a shift signs in."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1  # those the process may run on
    return ThreadPoolExecutor(max(1, cores // lanes), thread_name_prefix="password-hash")


async def _worked(work):
    return await asyncio.get_running_loop().run_in_executor(
        _hashers(settings.auth().hash_lanes), work)


async def hash_password(password: str) -> str:
    return await _worked(lambda: _current()[0].hash(password))


async def verify_password(password: str, hashed: str | None) -> tuple[bool, str | None]:
    """Whether ``password`` is the one ``hashed`` (None: no account's, never right, checked
    as long), and, when it is and ``hashed`` was made at another cost than the settings' now,
    its hash at theirs."""
    def verify() -> tuple[bool, str | None]:
        hasher, dummy = _current()
        if hashed is None:
            hasher.verify(password, dummy)
            return False, None
        return hasher.verify_and_update(password, hashed)
    return await _worked(verify)


_KINDS = (str.islower, str.isupper, str.isdigit)


def check_password(password: str, username: str) -> None:
    """Refuse a password shorter than the settings' length, one of fewer than three kinds of
    characters (lower-case letters, capitals, digits, other signs), or one holding its
    account's name: InvalidInput naming the password."""
    length = settings.auth().password_length
    if len(password) < length:
        raise InvalidInput(f"must be at least {length} characters", field="password")
    kinds = {next((i for i, kind in enumerate(_KINDS) if kind(c)), len(_KINDS))
             for c in password}
    if len(kinds) < 3:
        raise InvalidInput("must mix three of: lower-case letters, capitals, digits, other "
                           "signs", field="password")
    if len(username) >= 3 and username.casefold() in password.casefold():
        raise InvalidInput("must not hold the account's name", field="password")


def password_rules() -> str:
    """The rules ``check_password`` keeps, as the pages say them."""
    return (f"至少 {settings.auth().password_length} 位，含小写字母、大写字母、数字、其他符号中的"
            "至少三种，不含账号名")


# Lower-case letters, capitals and digits, none that reads as another (0 O o, 1 l I).
_PLAIN = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
FIRST_LENGTH = 12


def first_password(username: str) -> str:
    """A random password for an administrator to hand over, which the account changes before
    it first signs in: of the plain letters and digits, as long as the rules ask and at least
    ``FIRST_LENGTH``, and keeping the rules."""
    length = max(FIRST_LENGTH, settings.auth().password_length)
    while True:
        password = "".join(secrets.choice(_PLAIN) for _ in range(length))
        try:
            check_password(password, username)
        except InvalidInput:
            continue
        return password
