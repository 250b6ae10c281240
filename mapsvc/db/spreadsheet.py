"""CSV files for a spreadsheet, written by PostgreSQL (COPY … TO STDOUT), or a batch at a time
where only Python can write a row, and passed on as they come, so a year of rows costs no more
memory than a page: UTF-8 with a byte-order mark, which Excel needs to read it as UTF-8, and
times in China's. A cell a user typed that begins with ``=``, ``+``, ``-``, ``@`` or a tab or a
carriage return is written after an apostrophe, so a spreadsheet shows it as text and never runs
it as a formula (CSV injection, per OWASP)."""

import csv
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from mapsvc.db.engine import conninfo

BOM = "\ufeff".encode()


def text_cell(expression: str) -> str:
    """A cell of text as a spreadsheet shows it, never a formula."""
    return (f"CASE WHEN left({expression}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') "
            f"THEN '''' || {expression} ELSE {expression} END")


def _safe_text(value: str) -> str:
    """The same (text_cell) for a cell written here rather than by PostgreSQL."""
    return "'" + value if value[:1] in _FORMULA_STARTS else value


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def local_time(column: str, form: str = "YYYY-MM-DD HH24:MI") -> str:
    """A time as China's clock shows it, written as ``form`` (PostgreSQL's to_char)."""
    return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', '{form}')"


def _compiled(statement: str, params: dict) -> tuple[str, dict]:
    """``statement`` (with SQLAlchemy's ``:name`` parameters) in psycopg's parameter style, and
    its parameters."""
    compiled = text(statement).compile(dialect=PGDialect_psycopg())
    return str(compiled), compiled.construct_params(params)


def copy_statement(select: str, params: dict) -> tuple[str, dict]:
    """The COPY statement writing ``select``'s rows as CSV with their headings, in psycopg's
    parameter style, and its parameters."""
    return _compiled(f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)", params)


async def _started(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` with the first already read, where the file's statement has begun: one the
    database refuses (a value it cannot take) is answered 422 before the response starts, not
    as a file broken off."""
    first = await anext(chunks)

    async def all_of_them():
        yield first
        async for chunk in chunks:
            yield chunk
    return all_of_them()


async def _copy(statement: str, params: dict) -> AsyncIterator[bytes]:
    async with await psycopg.AsyncConnection.connect(conninfo(), autocommit=True) as conn:
        async with conn.cursor() as cur, cur.copy(statement, params) as copy:
            yield BOM
            async for chunk in copy:
                yield bytes(chunk)


async def copied(statement: str, params: dict) -> AsyncIterator[bytes]:
    """The file as PostgreSQL writes it, on a connection of its own: an export broken off
    (the client gone) ends with that connection, not in the service's pools."""
    return await _started(_copy(statement, params))


SHEET_BATCH = 1000  # rows read at a time by ``sheet``


def sheet_text(rows) -> str:
    """``rows`` (of cells) as the lines of a CSV file, text cells never formulas."""
    out = io.StringIO()
    csv.writer(out).writerows((_safe_text(c) if isinstance(c, str) else c for c in cells)
                              for cells in rows)
    return out.getvalue()


def _lines(rows) -> bytes:
    return sheet_text(rows).encode()


async def _rows(headings: tuple[str, ...], statement: str, params: dict,
                cells: Callable[[Any], tuple]) -> AsyncIterator[bytes]:
    sql, values = _compiled(statement, params)
    async with await psycopg.AsyncConnection.connect(conninfo()) as conn:
        async with conn.cursor(name="sheet", row_factory=namedtuple_row) as cur:
            await cur.execute(sql, values)
            yield BOM + _lines([headings])
            while rows := await cur.fetchmany(SHEET_BATCH):
                yield _lines(cells(row) for row in rows)


async def sheet(headings: tuple[str, ...], statement: str, params: dict,
                cells: Callable[[Any], tuple]) -> AsyncIterator[bytes]:
    """The file of the rows ``statement`` reads, each written as ``cells(row)`` gives it (a row
    with named columns): for rows only Python can write, as values decrypted to be masked.
    Read a batch at a time through a cursor of the server's, on a connection of its own."""
    return await _started(_rows(headings, statement, params, cells))
