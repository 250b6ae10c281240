"""CSV files for a spreadsheet, written by PostgreSQL (COPY … TO STDOUT) and passed on as they
come, so a year of rows costs no more memory than a page: UTF-8 with a byte-order mark, which
Excel needs to read it as UTF-8, and times in China's. A cell a user typed that begins with
``=``, ``+``, ``-``, ``@`` or a tab or a carriage return is written after an apostrophe, so a
spreadsheet shows it as text and never runs it as a formula (CSV injection, per OWASP)."""

from collections.abc import AsyncIterator

import psycopg
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from mapsvc.db.engine import conninfo

BOM = "\ufeff".encode()


def text_cell(expression: str) -> str:
    """A cell of text as a spreadsheet shows it, never a formula."""
    return (f"CASE WHEN left({expression}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') "
            f"THEN '''' || {expression} ELSE {expression} END")


def safe_text(value: str) -> str:
    """The same (text_cell) for a cell written here rather than by PostgreSQL."""
    return "'" + value if value[:1] in _FORMULA_STARTS else value


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def local_time(column: str, form: str = "YYYY-MM-DD HH24:MI") -> str:
    """A time as China's clock shows it, written as ``form`` (PostgreSQL's to_char)."""
    return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', '{form}')"


def copy_statement(select: str, params: dict) -> tuple[str, dict]:
    """The COPY statement writing ``select``'s rows as CSV with their headings, in psycopg's
    parameter style, and its parameters."""
    compiled = text(f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)").compile(
        dialect=PGDialect_psycopg())
    return str(compiled), compiled.construct_params(params)


async def copied(statement: str, params: dict) -> AsyncIterator[bytes]:
    """The file as PostgreSQL writes it, on a connection of its own: an export broken off
    (the client gone) ends with that connection, not in the service's pools."""
    async with await psycopg.AsyncConnection.connect(conninfo(), autocommit=True) as conn:
        yield BOM
        async with conn.cursor() as cur, cur.copy(statement, params) as copy:
            async for chunk in copy:
                yield bytes(chunk)
