"""GeoJSON FeatureCollections assembled by PostGIS, ready to send as they are."""

import math
import re
from dataclasses import dataclass, field

from mapsvc.errors import InvalidInput

_DIGITS = re.compile(r"[0-9]+")

# Six decimals of a degree are about 10 cm: finer than any boundary we hold.
PRECISION = 6


def code_range(column: str, code: str) -> str:
    """A clause matching the codes in ``column`` that start with the code SQL ``code`` gives.
    Statistical codes nest (a village's code starts with its township's and county's), and the
    codes starting with one lie from it up to it followed by "a", which sorts after every digit:
    a range, so a btree index on ``column`` serves it."""
    return f"({column} >= {code} AND {column} < ({code} || 'a'))"


@dataclass
class Filters:
    """WHERE clauses with their bound parameters, built from optional query filters."""

    clauses: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)

    def add(self, clause: str, **params) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def bbox(self, column: str, bbox: tuple[float, float, float, float] | None, *,
             inline: bool = False) -> None:
        """A clause matching the rows of ``column`` that meet ``bbox``, its corners parameters.
        The service's plans are generic, and a generic plan reads a box through the spatial
        index and sorts what it finds: right for lists in an order that follows place (codes
        nest by area, so a box's rows are a run of them), and for small boxes. A list in an
        order unrelated to place (cases, newest first) takes ``inline``: the corners are
        written into the clause, so the plan knows how much the box holds and reads a wide
        box in the list's order until the page is full (a box 100 km wide, its first page of
        cases: 500 ms against 50)."""
        if bbox is None:
            return
        try:
            corners = [float(v) for v in bbox]
        except (TypeError, ValueError):
            corners = []
        if len(corners) != 4 or not all(math.isfinite(v) for v in corners):
            raise InvalidInput(f"a box is four finite numbers, not {bbox!r}", field="bbox")
        names = ("minx", "miny", "maxx", "maxy")
        minx, miny, maxx, maxy = (repr(v) for v in corners) if inline else (f":{n}" for n in names)
        # a box of no width or height is a line or a point, which ST_MakeEnvelope cannot make
        self.add(f"ST_Intersects({column}, ST_SetSRID(ST_MakeBox2D(ST_MakePoint({minx}, {miny}), "
                 f"ST_MakePoint({maxx}, {maxy}))::geometry, 4326))",
                 **({} if inline else dict(zip(names, corners))))

    def holds(self, columns: tuple[str, ...], words: str) -> None:
        """A clause matching the rows one of whose texts ``columns`` holds ``words`` as
        written, % and _ among them themselves; letters of either case where the words have
        any (ILIKE, which takes twice LIKE's time, then alone)."""
        like = "LIKE" if words.lower() == words.upper() else "ILIKE"
        pattern = "".join("\\" + c if c in "\\%_" else c for c in words)
        self.add("(" + " OR ".join(rf"{column} {like} :words ESCAPE '\'" for column in columns)
                 + ")", words=f"%{pattern}%")

    def during(self, column: str, since, until) -> None:
        """Clauses matching the rows whose time ``column`` is from ``since`` up to ``until``
        (left out), each end when given."""
        if since is not None:
            self.add(f"{column} >= :since", since=since)
        if until is not None:
            self.add(f"{column} < :until", until=until)

    def code_prefix(self, column: str, name: str, code: str) -> str:
        """A clause matching the codes in ``column`` that start with ``code`` (see code_range);
        sets parameter ``name``. A code of digits alone is written into the clause itself: the
        service's plans are generic, and only so does a plan know how much of the table the
        range holds (a county's cases are a sixth of a city's, a village's a few hundred)."""
        self.params[name] = code
        return code_range(column, f"'{code}'" if _DIGITS.fullmatch(code) else f":{name}")

    def where(self) -> str:
        return " AND ".join(self.clauses) or "true"


def page(limit: int, offset: int = 0) -> str:
    """A page's LIMIT and OFFSET, written into the statement: the service's plans are generic,
    and one that takes the page for a parameter reckons with a tenth of the rows, so it may
    read and sort every row the filters leave rather than walk an index until the page is
    full (a county's first page of cases: 120 ms against 40)."""
    return f"LIMIT {int(limit)} OFFSET {int(offset)}"


def named(value: str, names: tuple[str, ...], *, field: str, noun: str) -> str:
    """``value``, one of ``names``, as a literal to write into a statement: the service's plans
    are generic, and only so does a plan know how many rows hold it (a rare state, the triage
    queue, a colour). Any other value is refused naming ``field``."""
    if value not in names:
        raise InvalidInput(f"no {noun} {value!r}: one of {', '.join(names)}", field=field)
    return f"'{value}'"


def named_set(values: tuple[str, ...], names: tuple[str, ...], *, field: str, noun: str) -> str:
    """``values``, each one of ``names``, as a list of literals to write into a statement
    (``column IN …``), as ``named`` writes one."""
    return "(" + ", ".join(named(v, names, field=field, noun=noun) for v in values) + ")"


def feature_collection(features_sql: str, *, matched: str | None = None) -> str:
    """Wrap a query yielding (sort key, feature jsonb) rows into one FeatureCollection; with
    ``matched``, a query counting the features of every page, its ``numberMatched`` too."""
    number_matched = f", 'numberMatched', ({matched})" if matched else ""
    return f"""
SELECT json_build_object('type', 'FeatureCollection',
                         'features', coalesce(json_agg(q.feature ORDER BY q.sort), '[]'),
                         'numberReturned', count(*){number_matched})::text
  FROM ({features_sql}) q
"""
