"""Read a boundary file into checked, repaired WGS84 features, with a report of the rest."""

import json
import warnings
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS as ProjCRS

from mapsvc.geo.crs import CRS, to_wgs84
from mapsvc.tables import text_encoding

RegionLevel = Literal["city", "county", "township", "village"]  # 地级市, 区县, 乡镇街道, 村社区
LEVELS = (*get_args(RegionLevel), "grid")
GRID_KINDS = ("comprehensive", "dedicated")
# Statistical division codes (统计用区划代码): city 4 digits, county 6, township 9, village 12,
# each the first digits of those below it.
CODE_LENGTHS = {"city": 4, "county": 6, "township": 9, "village": 12}
PARENT_LEVEL = {"county": "city", "township": "county", "village": "township", "grid": "village"}
CHILD_LEVEL = {parent: child for child, parent in PARENT_LEVEL.items()}
# A county's city is optional: a deployment may hold counties of no city it holds.
OPTIONAL_PARENT = frozenset({"county"})
SHAPEFILE = "ESRI Shapefile"  # GDAL's driver
LATIN_1 = "ISO-8859-1"  # what GDAL reads a Shapefile's text as when it says no encoding


class BoundaryFileError(ValueError):
    """The file as a whole cannot be read (missing, unreadable, no CRS, missing field); ``ctx``:
    the rule it breaks and its terms, for a page to say it in its words."""

    def __init__(self, reason: str, ctx: dict | None = None):
        super().__init__(reason)
        self.ctx = ctx


@dataclass
class Problem:
    feature: int  # 1-based position in the file
    code: str | None
    problem: str
    # the rule broken and its terms, for a page to say it in its words (an API's ``ctx``)
    ctx: dict = field(default_factory=dict)


DBF_NAME_MOST = 10


@dataclass
class FieldNames:
    code: str = "code"
    name: str = "name"
    parent: str = "parent_code"
    kind: str = "kind"
    households: str = "households"
    organisation: str = "organisation_id"  # grids: the organisation a dedicated grid serves
    population: str = "population"


@dataclass
class BoundaryFile:
    """The accepted features (a GeoDataFrame in EPSG:4326) and what was repaired or rejected."""

    level: str
    features: gpd.GeoDataFrame
    # which optional attributes the file carries; the others keep their stored values
    present: set[str] = field(default_factory=set)
    rejected: list[Problem] = field(default_factory=list)
    repaired: list[Problem] = field(default_factory=list)


def _source_crs(file_crs: ProjCRS | None, declared: str | None) -> tuple[ProjCRS, CRS | None]:
    """The CRS to read the coordinates in, and the Chinese offset to undo if any.

    GCJ-02 and BD-09 have no EPSG code, so files in them carry EPSG:4326 or nothing; the
    declaration is believed there. A declaration that contradicts any other CRS is refused.
    """
    offset = None
    declared_crs = None
    if declared:
        try:
            offset = CRS.parse(declared)
        except ValueError:
            try:
                declared_crs = ProjCRS.from_user_input(declared)
            except Exception as e:
                raise BoundaryFileError(f"--crs: unknown CRS {declared!r}",
                                        {"rule": "unknown_crs"}) from e
        else:
            declared_crs = ProjCRS.from_epsg(4490 if offset is CRS.cgcs2000 else 4326)
            offset = offset if offset in (CRS.gcj02, CRS.bd09) else None
    if file_crs is None and declared_crs is None:
        raise BoundaryFileError("the file declares no CRS: name it with --crs", {"rule": "no_crs"})
    if file_crs is not None and declared_crs is not None:
        lonlat = {4326, 4490}
        same = file_crs.equals(declared_crs) or (
            file_crs.to_epsg() in lonlat and declared_crs.to_epsg() in lonlat)
        if not same:
            raise BoundaryFileError(
                f"--crs {declared} contradicts the file's CRS {file_crs.to_string()}",
                {"rule": "crs_contradicts", "file_crs": file_crs.to_string()})
    return declared_crs or file_crs, offset


def _to_wgs84(geoms: gpd.GeoSeries, crs: ProjCRS, offset: CRS | None) -> np.ndarray:
    out = geoms.set_crs(crs, allow_override=True).to_crs(4326).values
    if offset is not None:
        def undo(coords: np.ndarray) -> np.ndarray:
            return np.column_stack(to_wgs84(coords[:, 0], coords[:, 1], offset))
        out = shapely.transform(np.asarray(out), undo)
    return np.asarray(out)


def _text(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().replace("", pd.NA)


def _properties(record: dict) -> dict:
    """A feature's other fields; a ``properties`` field holding a JSON object (as written by
    the export, which keeps each value's JSON type) is unpacked."""
    packed = record.pop("properties", None)
    props = {k: v for k, v in record.items() if v is not None}
    if isinstance(packed, str) and packed.startswith("{"):
        try:
            packed = json.loads(packed)
        except json.JSONDecodeError:
            pass
    if isinstance(packed, dict):  # GDAL may hand a JSON field over already parsed
        return {**packed, **props}
    if packed is not None:
        props["properties"] = packed
    return props


def _read(path: Path, encoding: str | None) -> gpd.GeoDataFrame:
    """The file's features, a Shapefile's texts decoded as ``_decoded`` says."""
    shapefile = False
    try:
        info = pyogrio.read_info(path)
        shapefile = info["driver"] == SHAPEFILE
        if encoding is not None and not shapefile:
            raise BoundaryFileError("--encoding: GeoJSON and GeoPackage files are UTF-8; "
                                    "only a Shapefile's text has an encoding to name",
                                    {"rule": "encoding_not_shapefile"})
        # a Shapefile's own word is not taken where it says Latin-1, or says nothing
        latin = shapefile and (encoding is not None or info["encoding"] == LATIN_1)
        with warnings.catch_warnings():
            # GDAL notes unclosed rings; we close them
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = pyogrio.read_dataframe(path, on_invalid="fix",
                                           encoding=LATIN_1 if latin else None)
    except BoundaryFileError:
        raise
    except UnicodeDecodeError:
        raise BoundaryFileError(
            f"{path}: its text is not in the encoding its .cpg names: name its encoding with "
            "--encoding" if shapefile else
            f"{path}: its text is not UTF-8, as a GeoJSON or GeoPackage file's is: save it as "
            "UTF-8", {"rule": "encoding", "shapefile": shapefile}) from None
    except Exception as e:  # pyogrio raises several DataSource errors
        raise BoundaryFileError(f"{path}: cannot read as GeoJSON, GeoPackage or Shapefile ({e})",
                                {"rule": "unreadable"}) from e
    return _decoded(frame, encoding) if latin else frame


def _decoded(frame: gpd.GeoDataFrame, encoding: str | None) -> gpd.GeoDataFrame:
    """A Shapefile's field names and texts, read as Latin-1 (a character a byte), decoded from
    ``encoding``; where none is named, from the one they are in (``text_encoding``): a
    Shapefile that does not say its encoding (no ``.cpg`` beside it), as ArcGIS and Chinese
    tools write them, is no Latin-1 file here."""
    if encoding is not None:
        try:
            "a".encode(encoding)
        except (LookupError, ValueError):  # none by that name, or no text's (base64 …)
            raise BoundaryFileError(f"--encoding: unknown encoding {encoding!r}",
                                    {"rule": "unknown_encoding"}) from None
    texts = [c for c in frame.columns if c != frame.geometry.name and (
        pd.api.types.is_string_dtype(frame[c]) or pd.api.types.is_object_dtype(frame[c]))]
    if encoding is None:
        data = "\x1f".join([*map(str, frame.columns),
                            *(v for c in texts for v in frame[c] if isinstance(v, str))]
                           ).encode("latin-1")
        if data.isascii():
            return frame
        try:
            encoding = text_encoding(data)
        except UnicodeDecodeError:
            raise BoundaryFileError("--encoding: the file's text is neither UTF-8 nor GB18030 "
                                    "(GBK): name its encoding",
                                    {"rule": "encoding", "shapefile": True}) from None

    def decode(value):
        return value.encode("latin-1").decode(encoding) if isinstance(value, str) else value

    try:
        out = frame.rename(columns={c: decode(c) for c in frame.columns
                                    if c != frame.geometry.name})
        for column in map(decode, texts):
            out[column] = out[column].map(decode)
    except UnicodeDecodeError:  # in the encoding named
        raise BoundaryFileError(f"--encoding: the file's text is not {encoding}",
                                {"rule": "not_encoding", "encoding": encoding}) from None
    return out


def read_boundaries(path: Path, level: str, *, crs: str | None = None,
                    fields: FieldNames = FieldNames(),
                    encoding: str | None = None) -> BoundaryFile:
    """``encoding``: a Shapefile's, where it does not say it or says it wrongly (``_decoded``)."""
    if level not in LEVELS:
        raise BoundaryFileError(f"--level: must be one of {', '.join(LEVELS)}")
    if not path.exists():
        raise BoundaryFileError(f"{path}: no such file")
    frame = _read(path, encoding)
    # A Shapefile's field names hold ten characters at most, and longer ones are cut short
    # where it is written (parent_code: parent_cod), as a layer saved as one in QGIS has them.
    frame = frame.rename(columns={name[:DBF_NAME_MOST]: name for name in astuple(fields)
                                  if len(name) > DBF_NAME_MOST and name not in frame.columns})
    present = [str(c) for c in frame.columns if c != frame.geometry.name]

    def no_field(option: str, of: str, name: str, why: str = "") -> BoundaryFileError:
        return BoundaryFileError(
            f"{option}: the file has no field {name!r}{why} (fields: {', '.join(present)})",
            {"rule": "no_field", "of": of, "field": name, "fields": present})

    for name, option, of in ((fields.code, "--code-field", "code"),
                             (fields.name, "--name-field", "name")):
        if name not in frame.columns:
            raise no_field(option, of, name)
    source_crs, offset = _source_crs(frame.crs, crs)

    problems: list[Problem] = []
    repaired: list[Problem] = []
    codes = _text(frame[fields.code])
    if level == "city":  # its administrative division code (GB/T 2260: 441500) is its 4 digits
        codes = codes.where(~codes.str.fullmatch("[0-9]{4}00").fillna(False), codes.str.slice(0, 4))
    names = _text(frame[fields.name])
    out = pd.DataFrame({"code": codes, "name": names})
    if fields.parent in frame.columns:
        out["parent_code"] = _text(frame[fields.parent])
    elif level in PARENT_LEVEL and level not in OPTIONAL_PARENT | {"grid"}:
        # Statistical codes nest: a village's first 9 digits are its township's code (a
        # county's city is found where it is stored: import_boundaries).
        out["parent_code"] = codes.str.slice(0, CODE_LENGTHS[PARENT_LEVEL[level]])
    elif level == "grid":
        raise no_field("--parent-field", "parent_code", fields.parent,
                       " naming each grid's village")
    else:
        out["parent_code"] = pd.NA
    if level == "grid":
        out["kind"] = (_text(frame[fields.kind]) if fields.kind in frame.columns
                       else pd.Series(pd.NA, index=frame.index, dtype="string"))
        for col, name in (("households", fields.households), ("population", fields.population),
                          ("organisation_id", fields.organisation)):
            out[col] = (pd.to_numeric(frame[name], errors="coerce").astype("Int64")
                        if name in frame.columns else pd.array([pd.NA] * len(frame), "Int64"))
    used = {fields.code, fields.name, fields.parent, fields.kind, fields.households,
            fields.population, fields.organisation, "geometry"}
    extra = frame[[c for c in frame.columns if c not in used]]
    # Empty fields are left out, so that files mixing features of several sources round-trip.
    records = (json.loads(extra.to_json(orient="records", date_format="iso"))
               if len(extra.columns) else [{} for _ in range(len(frame))])
    out["properties"] = [_properties(r) for r in records]

    geoms = frame.geometry.values
    bad = np.zeros(len(frame), dtype=bool)

    def reject(mask: np.ndarray, reason, ctx) -> None:
        """The features of ``mask`` not yet rejected, rejected for ``reason`` (by the rule
        ``ctx``); either may be a function of the feature's place."""
        for i in np.flatnonzero(mask & ~bad):
            code = None if pd.isna(codes.iloc[i]) else str(codes.iloc[i])
            problems.append(Problem(int(i) + 1, code, reason(i) if callable(reason) else reason,
                                    ctx(i) if callable(ctx) else ctx))
        bad[:] |= mask

    reject(codes.isna().to_numpy(), f"no code in field {fields.code!r}",
           {"rule": "empty", "of": "code", "field": fields.code})
    reject(names.isna().to_numpy(), f"no name in field {fields.name!r}",
           {"rule": "empty", "of": "name", "field": fields.name})
    reject(codes.duplicated(keep=False).to_numpy() & codes.notna().to_numpy(),
           "code appears more than once in the file", {"rule": "repeated"})
    if level in CODE_LENGTHS:
        want = CODE_LENGTHS[level]
        reject(~codes.fillna("").str.fullmatch(rf"\d{{{want}}}").to_numpy(),
               f"code must be {want} digits for a {level}",
               {"rule": "digits", "digits": want, "level": level})
    if level == "grid":
        reject((out["kind"].notna() & ~out["kind"].isin(GRID_KINDS)).to_numpy(),
               f"kind must be one of {', '.join(GRID_KINDS)}",
               {"rule": "one_of", "of": "kind", "values": list(GRID_KINDS)})
        reject(out["parent_code"].isna().to_numpy(), f"no village code in field {fields.parent!r}",
               {"rule": "empty", "of": "parent_code", "field": fields.parent})
        for col, name in (("households", fields.households), ("population", fields.population),
                          ("organisation_id", fields.organisation)):
            given = frame[name].notna().to_numpy() if name in frame.columns else False
            reject(given & out[col].isna().to_numpy(), f"{col} must be a whole number",
                   {"rule": "whole", "of": col})
            reject((out[col].fillna(0) < 0).to_numpy(), f"{col} must not be negative",
                   {"rule": "negative", "of": col})
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    reject(missing, "no geometry", {"rule": "no_geometry"})
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])  # Polygon, MultiPolygon
    reject(~polygonal, lambda i: f"geometry is a {geoms[i].geom_type}, not a polygon",
           lambda i: {"rule": "not_polygon", "type": geoms[i].geom_type})

    ok = ~bad
    wgs = np.empty(len(frame), dtype=object)
    wgs[ok] = _to_wgs84(gpd.GeoSeries(geoms[ok]), source_crs, offset)
    bounds = np.full((len(frame), 4), np.nan)
    bounds[ok] = shapely.bounds(wgs[ok])
    out_of_range = ok & ((np.abs(bounds[:, [0, 2]]) > 180)
                         | (np.abs(bounds[:, [1, 3]]) > 90)).any(axis=1)
    reject(out_of_range, "coordinates outside longitude ±180 / latitude ±90: is the CRS right?",
           {"rule": "out_of_range"})

    invalid = ~bad & ~shapely.is_valid(wgs)
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(wgs[i])
        fixed = shapely.make_valid(wgs[i], method="structure", keep_collapsed=False)
        fixed = shapely.get_parts(fixed) if fixed.geom_type == "GeometryCollection" else [fixed]
        fixed = shapely.unary_union([g for g in fixed
                                     if g.geom_type in ("Polygon", "MultiPolygon")])
        if fixed.is_empty or fixed.area == 0:
            reject(np.arange(len(frame)) == i,
                   f"invalid geometry that cannot be repaired ({reason})",
                   {"rule": "unrepairable", "reason": reason})
        else:
            wgs[i] = fixed
            repaired.append(Problem(int(i) + 1, str(codes.iloc[i]), f"{reason}, made valid"))
    ok = ~bad
    reject(ok & (shapely.area(np.where(ok, wgs, None)) == 0), "polygon has no area",
           {"rule": "no_area"})

    ok = ~bad
    features = gpd.GeoDataFrame(out[ok].reset_index(drop=True),
                                geometry=gpd.GeoSeries(list(wgs[ok]), crs=4326).force_2d(),
                                crs=4326)
    parts, index = shapely.get_parts(features.geometry.values, return_index=True)
    features["geometry"] = shapely.multipolygons(parts, indices=index)
    features["feature"] = np.flatnonzero(ok) + 1
    present = {attr for attr, name in (("kind", fields.kind), ("households", fields.households),
                                        ("population", fields.population),
                                        ("organisation_id", fields.organisation))
               if name in frame.columns}
    if len(extra.columns):
        present.add("properties")
    return BoundaryFile(level=level, features=features, present=present, rejected=problems,
                        repaired=repaired)
