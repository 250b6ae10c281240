"""Tabular files users upload (CSV, Excel): read as text, rows reported by their line."""

import csv
import io
import re
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from python_calamine import CalamineError
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.errors import InvalidInput

FIRST_DATA_LINE = 2  # line 1 holds the column names, unless a title comes first (read_table)
TITLE_LINES_MOST = 10  # the lines a sheet's title and notes take above its column names
# a code a deployment gives its classes and departments (as a pattern a whole cell matches)
CODE = r"[0-9A-Za-z_.-]{1,32}"
CODE_RULE = "1 to 32 letters, digits, '_', '.' or '-'"
# what sets apart the codes a cell lists: spaces, commas, semicolons or 、
APART = r"[\s,;，；、]+"
# Excel's workbooks, and the .xls of Excel 97–2003 that hotlines' systems still export
EXCEL = (".xlsx", ".xlsm", ".xls")


@dataclass
class RowError:
    line: int
    field: str
    reason: str
    ctx: dict | None = None  # what a page may say it by (``rule``), as a refusal's ``ctx``


def read_table(source: Path | IO[bytes], filename: str, required: tuple[str, ...],
               optional: tuple[str, ...] = (),
               headings: dict[str, str | tuple[str, ...]] | None = None) -> pd.DataFrame:
    """The ``required`` and ``optional`` columns (missing optional ones empty), every cell as
    stripped text, so that checking decides what a value means. A column is headed by its name,
    or by its heading in ``headings`` (name → heading, or headings: how a sheet made in Chinese
    heads it; the first of several where one is named, the others read too).
    The column names are the first line's, or else those of the first of the next lines to name
    more of the required columns (all of them, as a rule): a report exported from another
    system has its title above them, and the lines above its names are no rows.
    ``attrs["first_line"]``: the line of the first row (CheckedRows numbers the rows from it);
    ``attrs["given"]``: the optional columns the file has."""
    suffix = Path(filename).suffix.lower()
    named = {**{name: name for name in required + optional},
             **{heading: name for name, given in (headings or {}).items()
                for heading in ((given,) if isinstance(given, str) else given)}}
    first_line = FIRST_DATA_LINE
    try:
        if suffix == ".csv":
            frame, skipped = _csv(_utf8(source, filename), named)
            first_line += skipped
        elif suffix in EXCEL:
            frame = pd.read_excel(source, dtype=str, keep_default_na=False, engine="calamine")
        else:
            raise InvalidInput(f"{filename}: expected a .csv, .xlsx or .xls file", field="file",
                               context={"rule": "format"})
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pa.ArrowException,
            CalamineError) as e:
        raise InvalidInput(f"{filename}: cannot be read as {suffix[1:]} ({e})", field="file",
                           context={"rule": "unreadable"}) from e

    def missing_from(names) -> list[str]:
        found = {named.get(str(n).strip()) for n in names}
        return [c for c in required if c not in found]

    if missing_from(frame.columns):  # the column names below a title (a report's 报表标题)?
        # the first line naming the most of the columns needed, all of them or not
        lacking = [len(missing_from(frame.iloc[i]))
                   for i in range(min(TITLE_LINES_MOST, len(frame)))]
        if lacking and min(lacking) < len(missing_from(frame.columns)):
            i = lacking.index(min(lacking))
            frame = frame.iloc[i + 1:].set_axis(list(frame.iloc[i]), axis=1)
            first_line += i + 1
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.loc[:, ~frame.columns.duplicated()]
    frame = frame.rename(columns={heading: name for heading, name in named.items()
                                  if name not in frame.columns})
    frame = frame.loc[:, ~frame.columns.duplicated()]  # a column headed two ways: the first
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{filename}: missing column(s) {', '.join(missing)}", field="file",
                           context={"rule": "columns", "columns": missing})
    given = tuple(column for column in optional if column in frame.columns)
    for column in optional:
        if column not in frame.columns:
            frame[column] = ""
    frame = frame[list(required + optional)].apply(lambda s: s.str.strip()).reset_index(drop=True)
    frame.attrs.update(first_line=first_line, given=given)
    return frame


def _csv(data: bytes, names: Container[str]) -> tuple[pd.DataFrame, int]:
    """A CSV file's rows (UTF-8), and the lines skipped above its column names: a title
    shorter than the lines under it (not padded with commas, as Excel and WPS pad it) stops
    Arrow's parser at the first longer line; the file is then read from the first of its first
    lines to hold one of the column ``names``. A file whose first line holds one is refused
    as Arrow refuses it."""
    def read(skipped: int) -> pd.DataFrame:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, engine="pyarrow",
                           skiprows=skipped)
    try:
        return read(0), 0
    except pd.errors.ParserError:
        head = data[:1 << 16].decode("utf-8", "ignore").splitlines()[:TITLE_LINES_MOST + 1]
        skipped = next((i for i, fields in enumerate(csv.reader(head))
                        if any(f.strip() in names for f in fields)), 0)
        if not skipped:
            raise
        return read(skipped), skipped


def coded(values: pd.Series, names: dict[str, str]) -> pd.Series:
    """A column's values, each given by its code or by its name on the pages (``names``: code →
    name, as 男 for male), as codes; any other value as it is."""
    return values.replace({name: code for code, name in names.items()})


def text_encoding(data: bytes) -> str:
    """The encoding of the text of a file a user gives: UTF-8 (with a byte-order mark or not)
    where it is valid UTF-8, else GB18030, which holds GBK and GB2312: what Excel, WPS and
    ArcGIS write on a Chinese Windows. UnicodeDecodeError (GB18030's) where it is neither."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        data.decode("gb18030")
        return "gb18030"


def _utf8(source: Path | IO[bytes], filename: str) -> bytes:
    """A CSV file's bytes as UTF-8 (``text_encoding``)."""
    data = source.read_bytes() if isinstance(source, Path) else source.read()
    try:
        encoding = text_encoding(data)
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{filename}: is neither UTF-8 nor GB18030 (GBK) text "
                           f"(byte {e.start + 1} of the file)", field="file",
                           context={"rule": "encoding"}) from None
    return data if encoding == "utf-8" else data.decode(encoding).encode("utf-8")


# A time is a whole date, year first, with or without the time of day and a zone (2026-11-01,
# 2026/11/1 8:05, 2026-11-01T08:05:00+08:00, 20261101, 20261101080500): what a bare 8:05, 11/1
# or "now" means is guessed by no one.
_WHOLE = (r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}"
          r"(?:[ T]+[0-9]{1,2}:[0-9]{1,2}(?::[0-9]{1,2}(?:\.[0-9]+)?)?)? *"
          r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?|[0-9]{8}(?:[0-9]{6})?")  # no \d, \s: Arrow's, at C speed
# as a sheet typed by hand writes it: 2026年11月1日 8时5分 (8点5分30秒; 1号; 8时; 08:05)
_WRITTEN = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]\s*(?:(\d{1,2})\s*[时点]"
                      r"\s*(?:(\d{1,2})\s*分\s*(?:(\d{1,2})\s*秒)?)?)?(.*)$")


def _figures_of(written: re.Match) -> str:
    year, month, day, hour, minute, second, rest = written.groups()
    time = f"{hour}:{minute or 0}:{second or 0}" if hour else ""
    return f"{year}-{month}-{day} {time}{rest}".strip()


def in_figures(text: pd.Series) -> pd.Series:
    """Times as sheets write them, in figures as pandas reads them: those whole (``_WHOLE``),
    and those written in Chinese (``_WRITTEN``); empty for any other text."""
    written = text.str.contains("年", regex=False)
    if written.any():
        text = text.mask(written, text[written].str.replace(_WRITTEN, _figures_of, regex=True))
    return text.where(text.str.fullmatch(_WHOLE).to_numpy(dtype=bool), "")


def numbers(text: pd.Series) -> np.ndarray:
    """The numbers a column of text holds, NaN where it holds none or no number. Arrow parses
    a column of plain numbers at C speed; a column with anything else takes pandas' slower
    way, which finds the cells that are no number."""
    try:
        cells = pa.array(text, type=pa.string())
        return pc.cast(pc.if_else(pc.equal(cells, ""), pa.scalar(None, pa.string()), cells),
                       pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowException:
        return pd.to_numeric(text.replace("", np.nan), errors="coerce").to_numpy(dtype=float)


class CheckedRows:
    """The rows of a file, with their line numbers, checked column by column: each check flags
    the rows it fails (a row keeps its first problem only)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.line = np.arange(len(frame)) + frame.attrs.get("first_line", FIRST_DATA_LINE)
        self.bad = np.zeros(len(frame), dtype=bool)
        self.errors: list[RowError] = []
        for column in frame.columns:  # PostgreSQL's text cannot hold it
            self.flag(frame[column].str.contains("\x00", regex=False), column,
                      "holds the NUL character", {"rule": "printable"})

    def flag(self, mask, column: str, reason, ctx=None) -> None:
        """``reason`` is a text and ``ctx`` a dict (``RowError``'s), or each a function of the
        row's position giving one."""
        mask = np.asarray(mask, dtype=bool) & ~self.bad
        for i in np.flatnonzero(mask):
            self.errors.append(RowError(int(self.line[i]), column,
                                        reason(i) if callable(reason) else reason,
                                        ctx(i) if callable(ctx) else ctx))
        self.bad |= mask

    def cell(self, line: int, column: str) -> str:
        """What the row at file line ``line`` holds in ``column``."""
        return self.frame[column].iloc[int(np.flatnonzero(self.line == line)[0])]

    def empty(self, column: str) -> None:
        """Flag the rows leaving ``column`` empty."""
        self.flag(self.frame[column] == "", column, "empty", {"rule": "empty"})

    def one_of(self, values: pd.Series, column: str, allowed, names: dict | None = None, *,
               required: bool = True) -> None:
        """Flag (naming ``column``) the rows whose ``values`` are none of ``allowed`` (codes;
        ``names``: how the pages name them, code → name), or empty where ``required``."""
        allowed = list(allowed)
        names = names or {}
        self.flag(~values.isin(allowed + ([] if required else [""])), column,
                  "must be one of " + ", ".join(f"{c} ({names[c]})" if c in names else c
                                                for c in allowed),
                  {"rule": "one_of", "values": [names.get(c, c) for c in allowed]})

    def repeats(self, keys: pd.Series | pd.DataFrame, column: str, among=None) -> None:
        """Flag (naming ``column``) each row whose ``keys`` an earlier row had, of the rows
        ``among`` picks (all unless told), saying that row's line."""
        frame = (keys.to_frame() if isinstance(keys, pd.Series) else keys).reset_index(drop=True)
        group = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy()
        if among is not None:  # the others each a group of its own
            group = np.where(np.asarray(among, dtype=bool), group, -1 - np.arange(len(frame)))
        first = pd.Series(self.line).groupby(group).transform("min").to_numpy()
        self.flag(first != self.line, column, lambda i: f"repeats line {first[i]}",
                  lambda i: {"rule": "repeated", "line": int(first[i])})

    @property
    def ok(self) -> np.ndarray:
        return ~self.bad


def rejected_lines(errors: list[RowError]) -> int:
    return len({e.line for e in errors})


def bytea_text(values) -> list[str | None]:
    """Bytes (or None) as COPY reads them into a bytea column: PostgreSQL's hex text."""
    return [None if v is None else "\\x" + v.hex() for v in values]


async def copy_into(conn: AsyncConnection, table: str, frame: pd.DataFrame,
                    not_null: tuple[str, ...] = ()) -> None:
    """COPY ``frame`` into ``table`` in the caller's transaction. Arrow writes the CSV at C
    speed: missing values (NaN, None) arrive as NULL, empty texts in ``not_null`` columns as
    empty, and bytes must come as PostgreSQL's hex text (``bytea_text``)."""
    raw = await conn.get_raw_connection()
    buffer = io.BytesIO()
    pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buffer,
                     pa_csv.WriteOptions(include_header=False))
    data = buffer.getvalue()
    options = f", FORCE_NOT_NULL ({', '.join(not_null)})" if not_null else ""
    async with raw.driver_connection.cursor() as cur:
        async with cur.copy(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN "
                            f"WITH (FORMAT csv{options})") as copy:
            for start in range(0, len(data), 1 << 20):
                await copy.write(data[start:start + (1 << 20)])
