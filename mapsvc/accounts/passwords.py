"""Password hashing (Argon2, by pwdlib's recommended settings)."""

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return _hasher.verify(password, hashed)


# Verified against when the username is unknown, so a wrong name costs as long as a wrong password.
DUMMY_HASH = hash_password("not a password")
