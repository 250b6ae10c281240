"""Standard addresses (标准地址): Chinese address text normalised and split into its parts.

The public-security format is 行政区划 + 街路巷 + 门牌号 + 小区 + 楼栋 + 单元 + 楼层 + 户室. Text
typed by people mixes full-width and half-width characters, Chinese and Arabic numerals, and
several words for the same part (幢/栋/座/号楼, 单元/门, 室/户/房). Normalising makes the same
place read the same way, so records can be matched to their standard address.
"""

import re
import unicodedata
from dataclasses import dataclass

_DIGIT = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
          "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000}


def chinese_to_int(text: str) -> int:
    """一百零五 → 105, 十二 → 12, 二〇三 (read digit by digit) → 203."""
    if not any(c in _UNIT for c in text):
        return int("".join(str(_DIGIT[c]) for c in text))
    total, digit = 0, 0
    for c in text:
        if c in _DIGIT:
            digit = _DIGIT[c]
        else:
            total += (digit or 1) * _UNIT[c]
            digit = 0
    return total + digit


# Words for the same part, in the form the standard writes them.
_SYNONYMS = [
    (re.compile(r"(\d+)\s*(?:幢|座|号楼|栋楼|栋)"), r"\1栋"),
    (re.compile(r"(\d+)\s*(?:单元|门洞|门(?![路街巷口]))"), r"\1单元"),
    (re.compile(r"(\d+)\s*(?:楼层|层)"), r"\1层"),
    (re.compile(r"(\d+)\s*(?:室|户|房)"), r"\1室"),
    (re.compile(r"(\d+)\s*(?:号院)"), r"\1号院"),
]
_NUMBER_BEFORE_PART = re.compile(
    r"([零〇○一二两三四五六七八九十百千]+)(?=号|栋|幢|座|单元|层|楼|室|户|房|门|弄|巷|组)")
_SPACES = re.compile(r"[\s\u3000]+")
# "3-2-501" (building-entrance-room), as written on many forms
_FORM_NUMBER = re.compile(r"(?<![\d-])(\d+)-(\d+)-(\d+)(?![\d-])$")
# Address parts after the region: street and number, compound, building, entrance, floor, room.
_PARTS = re.compile(
    r"^(?P<street>.*?(?:路|街|大道|道|巷|弄|胡同|里|村|组))?"
    r"(?P<number>\d+(?:-\d+)?号(?!楼))?"
    r"(?P<compound>.*?(?:小区|园|苑|公寓|大厦|广场|新村|城|院|里))?"
    r"(?:(?P<building>\d+)栋)?"
    r"(?:(?P<entrance>\d+)单元)?"
    r"(?:(?P<floor>\d+)层)?"
    r"(?:(?P<room>\d+)室)?$")


def normalise(text: str) -> str:
    """One spelling for one address: NFKC (full-width to half-width), no spaces, Arabic
    numerals before address words, and the standard word for each part."""
    text = unicodedata.normalize("NFKC", text)
    text = _SPACES.sub("", text)
    text = _NUMBER_BEFORE_PART.sub(lambda m: str(chinese_to_int(m.group(1))), text)
    for pattern, replacement in _SYNONYMS:
        text = pattern.sub(replacement, text)
    return _FORM_NUMBER.sub(r"\1栋\2单元\3室", text)


@dataclass(frozen=True)
class AddressParts:
    street: str | None = None
    number: str | None = None
    compound: str | None = None
    building: str | None = None
    entrance: str | None = None
    floor: str | None = None
    room: str | None = None

    def as_dict(self) -> dict:
        return dict(vars(self))


def split(text: str) -> AddressParts:
    """The parts of an address below the region (normalised first)."""
    return parts(normalise(text))


def parts(normalised: str) -> AddressParts:
    """The parts of a normalised address below the region; the whole text is the street when
    it does not follow the standard order."""
    m = _PARTS.match(normalised)
    if not m:
        return AddressParts(street=normalised or None)
    return AddressParts(**{k: v for k, v in m.groupdict().items() if v})
