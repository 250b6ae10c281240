"""Personal data under PIPL (个人信息保护法) and GB/T 35273: encrypted at rest, masked when shown.

ID numbers and mobiles are stored encrypted with AES-256-GCM (authenticated: a tampered or moved
value fails to decrypt) and beside a keyed HMAC-SHA256, so an exact lookup never needs the
plaintext. Both
keys are derived with HKDF from one master key kept outside the repository.
"""

import base64
import hmac
import os
import re
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from stdnum.cn import ric

from mapsvc import settings

_NONCE_BYTES = 12
# What each encrypted field's value is sealed with beside the key (its context).
ID_NUMBER = b"person.id_number"
MOBILE = b"person.mobile"


@lru_cache
def _derive(purpose: bytes) -> bytes:
    key = settings.privacy().key_value()
    master = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    if len(master) < 32:
        raise ValueError("MAPSVC_PRIVACY_KEY must hold at least 32 bytes (url-safe base64)")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@lru_cache
def _cipher() -> AESGCM:
    """Made once: a file's values are sealed one after another (making it took twice as long
    as sealing a name)."""
    return AESGCM(_derive(b"mapsvc encrypt v1"))


def encrypt(plaintext: str, context: bytes = b"") -> bytes:
    """Nonce + ciphertext + tag. ``context`` (e.g. the field name) is authenticated too."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + _cipher().encrypt(nonce, plaintext.encode(), context)


def decrypt(blob: bytes, context: bytes = b"") -> str:
    nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
    return _cipher().decrypt(nonce, sealed, context).decode()


def lookup_hash(value: str) -> bytes:
    """A keyed hash for exact lookup: equal values hash alike, and without the key a hash
    cannot be checked against a guessed ID number."""
    return keyed_hash(normalise_id(value))


def keyed_hash(value: str) -> bytes:
    """HMAC-SHA256 of ``value`` under the lookup key: equal values hash alike, and without the
    key a hash cannot be checked against a guessed value."""
    return hmac.digest(_derive(b"mapsvc lookup v1"), value.encode(), "sha256")


def phone_hash(phone: str) -> bytes:
    """The keyed hash a phone number is found by (a person's mobile, a caller's phone): one
    number written with or without the hyphen after its area code."""
    return keyed_hash("phone " + phone.replace("-", ""))


def normalise_id(value: str) -> str:
    return re.sub(r"\s", "", value).upper()


def id_check_character(body: str) -> str:
    """The 18th character of a resident ID number (GB 11643) whose first 17 digits are ``body``."""
    return ric.calc_check_digit(body + "0")  # the number with a check character, any


def valid_id_number(value: str) -> bool:
    """A resident ID number (GB 11643): 17 digits and the check character."""
    value = normalise_id(value)
    return bool(re.fullmatch(r"\d{17}[\dX]", value)) and id_check_character(value[:17]) == value[17]


def mask_number(value: str | None) -> str | None:
    """An ID number's or a mobile's first three and last four characters (110***********1234,
    138****1234); one of seven characters or fewer wholly starred."""
    if not value:
        return value
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str | None:
    """张*, 欧阳** : the family name's first character only."""
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1)
