"""The ``mapsvc`` command line: thin commands over the same domain functions the API uses."""

import asyncio
import contextlib
import getpass
import os
import signal
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from mapsvc.db.cluster import Cluster, ClusterError
from mapsvc.settings import APISettings, ClusterSettings, problems


def _commands(help: str) -> typer.Typer:
    # no local variables in tracebacks: they may hold passwords
    return typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False, help=help,
                       rich_markup_mode="markdown")


app = _commands("mapsvc: the people's-situation map (民情地图).")
db_app = _commands("The database and the embedded PostGIS cluster.")
boundaries_app = _commands("Cities, counties, townships, villages and grids.")
incidents_app = _commands("Incidents.")
categories_app = _commands("The category tree (事件分类) and its time limits.")
departments_app = _commands("The departments (职能部门) cases are dispatched to.")
calendar_app = _commands("The working calendar deadlines count in: weekdays off (public and "
                         "local holidays, a typhoon's day) and weekend days worked (调休).")
accounts_app = _commands("Accounts, roles and their scope.")
registry_app = _commands("People, houses, organisations, components and places (一标三实).")
grids_app = _commands("Grids to redraw and plans (规划方案) proposed for planners to edit.")
demo_app = _commands("The demo data.")
for group, name in ((db_app, "db"), (boundaries_app, "boundaries"), (incidents_app, "incidents"),
                    (categories_app, "categories"), (departments_app, "departments"),
                    (calendar_app, "calendar"), (accounts_app, "accounts"),
                    (registry_app, "registry"), (grids_app, "grids"), (demo_app, "demo")):
    app.add_typer(group, name=name)

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code=2)


@db_app.command("start")
def db_start() -> None:
    """Start the embedded cluster (initialising it on first use)."""
    try:
        Cluster(ClusterSettings()).start()
    except ClusterError as e:
        fail(str(e))
    console.print(f"embedded PostGIS running on 127.0.0.1:{ClusterSettings().port}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster."""
    Cluster(ClusterSettings()).stop()


@db_app.command("upgrade")
def db_upgrade(
    fresh: Annotated[bool, typer.Option(help="drop and recreate the database first")] = False,
) -> None:
    """Start the embedded cluster if used, create the database and apply the migrations; say
    which of this year and the next the calendar holds no official days of."""
    from mapsvc.db.setup import prepare_database
    from mapsvc.incidents.model import LOCAL_TIME
    from mapsvc.workflow.calendar import calendar_days

    try:
        prepare_database(fresh=fresh)
    except ClusterError as e:
        fail(str(e))
    console.print("database at the newest schema")
    this_year = datetime.now(LOCAL_TIME).year
    for year in (this_year, this_year + 1):  # official days the package does not carry yet
        if not in_transaction(lambda conn, year=year: calendar_days(conn, year)):
            err.print(_NO_DAYS.format(year=year))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(
        help="address to listen on (else MAPSVC_API_HOST, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (else MAPSVC_API_PORT, 8000)")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="server processes (else MAPSVC_API_WORKERS, 1)")] = None,
) -> None:
    """Serve the API (OpenAPI docs at /docs), over HTTPS given a certificate
    (MAPSVC_API_TLS_CERTFILE, MAPSVC_API_TLS_KEYFILE), once the database is up and at the
    schema this mapsvc needs (the embedded cluster started if used)."""
    from sqlalchemy.exc import OperationalError

    from mapsvc.api.serving import serve as serve_api
    from mapsvc.api.serving import tls_problem
    from mapsvc.db.engine import database_said
    from mapsvc.db.migrate import schema_problem
    from mapsvc.db.setup import reach_database

    said = problems()  # named as set: MAPSVC_API_PUBLIC_URL
    if said:
        fail("; ".join(said))
    settings = APISettings()
    tls = settings.tls_certfile, settings.tls_keyfile
    try:
        problem = tls_problem(*tls) or schema_problem(reach_database())
    except ClusterError as e:
        fail(str(e))
    except OperationalError as e:
        fail(f"cannot reach the database: {database_said(e)}")
    if problem:
        fail(problem)
    host, port = host or settings.host, port or settings.port
    console.print(f"serving {'https' if tls[0] else 'http'}://{host}:{port} (API docs at "
                  "/docs); stop with Ctrl-C or `make stop`")
    try:
        serve_api(host, port, workers or settings.workers, settings.shutdown_seconds,
                  pidfile=ClusterSettings().dir / f"server-{port}.pid", tls=tls)
    except OSError as e:
        fail(f"cannot serve on {host}:{port}: {e.strerror}")


@app.command()
def backup(folder: Annotated[Path, typer.Argument(help="a folder: database.dump and media/")],
           ) -> None:
    """Back up the database and the photos into FOLDER; into the same folder again, only the
    photos new since are copied. The privacy key is not in it: keep a copy of it apart."""
    from mapsvc.db.backup import backup as back_up
    from mapsvc.db.setup import reach_database

    try:
        done = back_up(reach_database(), folder)
    except ClusterError as e:
        fail(str(e))
    console.print(f"database: {folder / 'database.dump'} ({done.dump_bytes:,} bytes); photos: "
                  f"{done.copied} files copied, {done.present} there already")
    err.print("the privacy key is not in the backup: without it the ID numbers in it cannot be "
              "read; keep a copy of it (MAPSVC_PRIVACY_KEY, or .mapsvc/privacy-key) apart")


@app.command()
def restore(
    folder: Annotated[Path, typer.Argument(help="a backup's folder")],
    replace: Annotated[bool, typer.Option(
        help="drop the embedded cluster's database first, with all it holds")] = False,
) -> None:
    """Load a backup into an empty database (all of it, or nothing), bring it to the newest
    schema, and copy its photos missing from the media folder."""
    from mapsvc.db.backup import check_backup
    from mapsvc.db.backup import restore as load
    from mapsvc.db.setup import reach_database
    from mapsvc.errors import DomainError
    from mapsvc.settings import DatabaseSettings

    embedded = DatabaseSettings().uses_embedded_cluster
    if replace and not embedded:
        fail("--replace: only the embedded cluster's database is dropped; "
             "empty the database at MAPSVC_DATABASE_URL yourself")
    try:
        dump = check_backup(folder)  # before --replace drops anything
        done = load(reach_database(fresh=replace), dump)
    except DomainError as e:
        fail(f"FOLDER: {e.reason}" if e.field == "folder"
             else e.reason + (" (or --replace)" if embedded else ""))
    except ClusterError as e:
        fail(str(e))
    console.print(f"database restored from {dump}; photos: {done.copied} "
                  f"files copied, {done.present} there already")
    if not done.key_fits:
        err.print("the ID numbers restored were encrypted with another privacy key: this "
                  "service cannot read them until MAPSVC_PRIVACY_KEY (or .mapsvc/privacy-key) "
                  "holds the key of the service that made the backup")
        raise typer.Exit(code=1)


def _serving(pid: int) -> bool:
    """Whether process ``pid`` is a server `mapsvc serve` started. The file of one that did not
    end cleanly (killed, a power cut) names an id the system may since have given another."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"serve" in args and any(b"mapsvc" in arg for arg in args)


@app.command()
def stop() -> None:
    """Stop the servers started with `mapsvc serve`, then the embedded cluster."""
    for pidfile in ClusterSettings().dir.glob("server-*.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError):
            pid = int(pidfile.read_text())
            if _serving(pid):
                os.kill(pid, signal.SIGTERM)
        pidfile.unlink(missing_ok=True)
    Cluster(ClusterSettings()).stop()


def in_transaction(work):
    """Run ``work(conn)`` in one transaction: all of it lands, or none."""
    from mapsvc.db.engine import in_transaction as run_in_transaction

    return asyncio.run(run_in_transaction(work))


def _print_problems(kind: str, problems, style: str) -> None:
    for p in problems:
        code = f" ({escape(p.code)})" if p.code else ""
        console.print(f"[{style}]{kind}: feature {p.feature}{code}:[/] {escape(p.problem)}",
                      highlight=False)


def _crs_option(crs: str, file: Path):
    """The --crs of a file import, and the file, checked before any work."""
    from mapsvc.geo.crs import CRS

    try:
        declared = CRS.parse(crs)
    except ValueError:
        fail(f"--crs: must be one of {', '.join(c.value for c in CRS)}")
    if not file.exists():
        fail(f"{file}: no such file")
    return declared


def _print_row_errors(errors) -> None:
    for e in errors:
        console.print(f"[red]line {e.line}: {e.field}:[/] {escape(e.reason)}", highlight=False)


@boundaries_app.command("import")
def boundaries_import(
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage or Shapefile")],
    level: Annotated[str, typer.Option(help="city | county | township | village | grid")],
    crs: Annotated[str | None, typer.Option(
        help="EPSG:4326 | EPSG:4490 | gcj02 | bd09 (or any EPSG code); required when the "
             "file names none")] = None,
    code_field: Annotated[str, typer.Option(help="field holding the code")] = "code",
    name_field: Annotated[str, typer.Option(help="field holding the name")] = "name",
    parent_field: Annotated[str, typer.Option(
        help="field holding the parent's code (default: derived from statistical codes)"),
    ] = "parent_code",
    kind_field: Annotated[str, typer.Option(help="grids: comprehensive | dedicated")] = "kind",
    encoding: Annotated[str | None, typer.Option(
        help="a Shapefile's text encoding (gbk, big5, latin-1 …), where its .cpg names none "
             "or the wrong one (default: UTF-8 where its text is UTF-8, else GB18030)")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        help="import the good features even if some are rejected")] = False,
    valid_from: Annotated[datetime | None, typer.Option(
        help="grids: when new geometry takes effect (default: new grids always, changed "
             "grids now)")] = None,
) -> None:
    """Import one level of boundaries; rejected features are listed and nothing is written."""
    from mapsvc.boundaries.reading import BoundaryFileError, FieldNames, read_boundaries
    from mapsvc.boundaries.store import BoundaryImportRefused, import_boundaries

    fields = FieldNames(code=code_field, name=name_field, parent=parent_field, kind=kind_field)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  MofNCompleteColumn(), console=err, transient=True) as progress:
        task = progress.add_task(f"reading {file.name}", total=None)
        try:
            bf = read_boundaries(file, level, crs=crs, fields=fields, encoding=encoding)
        except BoundaryFileError as e:
            fail(str(e))
        progress.update(task, description="checking and storing", total=len(bf.features),
                        completed=0)
        try:
            result = in_transaction(lambda conn: import_boundaries(
                conn, bf, skip_invalid=skip_invalid, valid_from=valid_from,
                on_progress=lambda done: progress.update(task, completed=done)))
        except BoundaryImportRefused as refused:
            result = refused.result
    _print_problems("repaired", result.repaired, "yellow")
    _print_problems("warning", result.warnings, "yellow")
    _print_problems("rejected", result.rejected, "bold red")
    if result.rejected:
        if not skip_invalid:
            fail(f"{len(result.rejected)} feature(s) rejected; nothing imported "
                 "(fix them, or pass --skip-invalid)")
    summary = (f"{level}: {result.inserted} new, {result.updated} updated, "
               f"{result.unchanged} unchanged")
    if level == "grid":
        summary += f", {result.new_versions} new geometry versions"
    console.print(summary)
    if result.rejected:
        raise typer.Exit(code=1)


@boundaries_app.command("export")
def boundaries_export(
    out: Annotated[Path, typer.Argument(help="file to write")],
    level: Annotated[str, typer.Option(help="city | county | township | village | grid")],
    format: Annotated[str, typer.Option("--format", help="gpkg | geojson")] = "gpkg",
) -> None:
    """Export one level (grids: their current geometry) to a file that imports back unchanged."""
    from mapsvc.boundaries.export import FORMATS, export_level
    from mapsvc.boundaries.reading import LEVELS

    if level not in LEVELS:
        fail(f"--level: must be one of {', '.join(LEVELS)}")
    if format not in FORMATS:
        fail(f"--format: must be one of {', '.join(FORMATS)}")
    n = in_transaction(lambda conn: export_level(conn, level, out, format))
    console.print(f"{n} {level} feature(s) written to {out}")


@incidents_app.command("import")
def incidents_import(
    file: Annotated[Path, typer.Argument(help=".csv, .xlsx or .xls with a header line")],
    crs: Annotated[str, typer.Option(help="wgs84 | cgcs2000 | gcj02 | bd09, for rows "
                                          "without a crs column")] = "wgs84",
    source: Annotated[str, typer.Option(help="source of rows without a source column")] = "hotline",
    check: Annotated[bool, typer.Option(
        "--check", help="only check: what the file would store and reject")] = False,
) -> None:
    """Import incidents; bad rows are listed with their line and the good ones are stored (or,
    --check, nothing)."""
    from mapsvc.errors import InvalidInput
    from mapsvc.incidents.bulk import import_incidents, read_incidents

    declared = _crs_option(crs, file)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err,
                  transient=True) as progress:
        progress.add_task(f"importing {file.name}", total=None)
        try:
            frame = read_incidents(file, file.name)
            result = in_transaction(lambda conn: import_incidents(
                conn, frame, crs=declared, source=source, actor="import", check=check))
        except InvalidInput as e:
            fail(f"{e.field}: {e.reason}" if e.field != "file" else e.reason)
    _print_row_errors(result.errors)
    console.print(f"{'checked, nothing stored: ' if check else ''}{result.rows} rows: "
                  f"{result.inserted} {'to store' if check else 'stored'}, "
                  f"{result.already_stored} already stored, {result.rejected} rejected")
    if result.errors:
        raise typer.Exit(code=1)


@incidents_app.command("export")
def incidents_export(
    out: Annotated[Path, typer.Argument(help="the CSV file to write")],
    city: Annotated[str | None, typer.Option(help="a city's code (4 digits)")] = None,
    county: Annotated[str | None, typer.Option(help="a county's code")] = None,
    township: Annotated[str | None, typer.Option(help="a township's code")] = None,
    village: Annotated[str | None, typer.Option(help="a village's code")] = None,
    grid: Annotated[str | None, typer.Option(help="a grid's code")] = None,
    status: Annotated[str | None, typer.Option(
        help="a state, e.g. dispatched, or waiting (reported, being verified)")] = None,
    department: Annotated[str | None, typer.Option(
        help="the code of the department dispatched to")] = None,
    category: Annotated[str | None, typer.Option(help="a class and those under it")] = None,
    since: Annotated[str | None, typer.Option(
        "--from", help="reported from (ISO 8601; no zone: China Standard Time)")] = None,
    until: Annotated[str | None, typer.Option("--to", help="reported before")] = None,
) -> None:
    """Write the case ledger (案件台账) of the cases the options find, newest first: the file
    GET /api/v1/incidents.csv gives an admin. The file is written whole or not at all."""
    from pydantic import TypeAdapter, ValidationError

    from mapsvc.accounts.model import Account, Role
    from mapsvc.db.spreadsheet import copied
    from mapsvc.errors import InvalidInput
    from mapsvc.incidents.ledger import ledger_statement
    from mapsvc.incidents.model import ReportTime
    from mapsvc.incidents.queries import IncidentFilter
    from mapsvc.workflow.machine import STATUS_FILTERS

    times = {}
    for option, value in (("--from", since), ("--to", until)):
        try:
            times[option] = TypeAdapter(ReportTime | None).validate_python(value)
        except ValidationError as e:
            fail(f"{option}: {e.errors()[0]['msg']}")
    where = IncidentFilter(city=city, county=county, township=township, village=village,
                           grid=grid,
                           statuses=STATUS_FILTERS.get(status, (status,)) if status else (),
                           department=department,
                           categories=(category,) if category else (),
                           reported_from=times["--from"], reported_to=times["--to"])
    try:
        statement, params = ledger_statement(where, Account(id=0, username="export",
                                                            role=Role.admin))
    except InvalidInput as e:
        fail(f"--{e.field}: {e.reason}")

    async def write(partial: Path) -> None:
        with partial.open("wb") as file:
            async for chunk in await copied(statement, params):
                file.write(chunk)

    partial = out.with_name(f".{out.name}.partial")
    try:
        asyncio.run(write(partial))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)
    console.print(f"the ledger written to {escape(str(out))} ({out.stat().st_size:,} bytes)")


@categories_app.command("import")
def categories_import(
    file: Annotated[Path, typer.Argument(help=".csv, .xlsx or .xls: code, name [, parent_code, "
                                              "time_limit, time_limit_unit, department_code, "
                                              "filing_condition, closing_condition, gb30428_code, "
                                              "gb39666_code, …]")],
) -> None:
    """Load or update category classes: the whole file, or nothing if a line has a problem."""
    from mapsvc.incidents.categories import import_categories, read_categories

    result = _whole_file(file, read_categories, import_categories)
    console.print(f"{result.rows} rows: {result.stored} classes stored")


@departments_app.command("import")
def departments_import(
    file: Annotated[Path, typer.Argument(help=".csv, .xlsx or .xls: code, name [, region, "
                                              "classes] (or 部门编码, 部门名称, 区域编码, 负责类别)")],
) -> None:
    """Load or update the departments, each with the region it serves and the classes it
    answers for there: the whole file, or nothing if a line has a problem."""
    from mapsvc.workflow.departments import import_departments, read_departments

    result = _whole_file(file, read_departments, import_departments)
    console.print(f"{result.rows} rows: {result.stored} departments stored")


def _whole_file(file: Path, read, store):
    """``file`` read by ``read(file, name)`` and stored by ``store(conn, frame)`` in one
    transaction: all of it, or nothing if a line has a problem (each listed; exit 1). What
    ``store`` gave."""
    from mapsvc.errors import InvalidInput

    if not file.exists():
        fail(f"{file}: no such file")
    try:
        frame = read(file, file.name)
        result = in_transaction(lambda conn: store(conn, frame))
    except InvalidInput as e:
        fail(e.reason)
    _print_row_errors(result.errors)
    if result.errors:
        err.print(f"{result.rows} rows: nothing stored, {len(result.errors)} problem(s)")
        raise typer.Exit(code=1)
    return result


_DAY = typer.Argument(formats=["%Y-%m-%d"], help="a day, YYYY-MM-DD (several: each)")
_NO_DAYS = ("the calendar holds no day of {year} apart from the weekly rule: deadlines count its "
            "public holidays as working days until they are entered (`mapsvc calendar set`), as "
            "the State Council publishes them")


def _change_calendar(work, done: str) -> None:
    """Change the calendar by ``work(conn)``, all or nothing; a refusal names the argument or
    option at fault."""
    from mapsvc.errors import DomainError

    try:
        in_transaction(work)
    except DomainError as e:
        fail(f"{'DAY' if e.field == 'day' else '--' + (e.field or 'kind')}: {e.reason}")
    console.print(done)


@calendar_app.command("show")
def calendar_show(year: Annotated[int | None, typer.Argument(
        help="default: this year")] = None) -> None:
    """The year's weekdays off and weekend days worked, as deadlines count them."""
    from rich.table import Table

    from mapsvc.incidents.model import LOCAL_TIME
    from mapsvc.workflow.calendar import WEEKDAY_NAMES, calendar_days

    year = year or datetime.now(LOCAL_TIME).year
    held = in_transaction(lambda conn: calendar_days(conn, year))
    if not held:
        err.print(_NO_DAYS.format(year=year))
        return
    table = Table(title=f"{year}")
    for heading in ("day", "weekday", "kind", "name"):
        table.add_column(heading)
    for d in held:
        table.add_row(d.day.isoformat(), WEEKDAY_NAMES[d.day.weekday()],
                      {"holiday": "放假", "workday": "调休上班"}[d.kind], escape(d.name))
    console.print(table)


@calendar_app.command("set")
def calendar_set(
    days: Annotated[list[datetime], _DAY],
    kind: Annotated[str, typer.Option(help="holiday: a weekday off | workday: a weekend day "
                                           "worked (调休)")],
    name: Annotated[str, typer.Option(help="what the day is (the festival, or why it is "
                                           "off)")] = "",
) -> None:
    """Make days weekdays off or weekend days worked. Deadlines already running keep theirs;
    those started after count the days as they now are."""
    from mapsvc.workflow.calendar import set_days

    _change_calendar(lambda conn: set_days(conn, [d.date() for d in days], kind, name),
                     f"{len(days)} day(s) set: {kind}")


@calendar_app.command("unset")
def calendar_unset(days: Annotated[list[datetime], _DAY]) -> None:
    """Give days back to the weekly rule (Monday to Friday worked)."""
    from mapsvc.workflow.calendar import unset_days

    _change_calendar(lambda conn: unset_days(conn, [d.date() for d in days]),
                     f"{len(days)} day(s) back to the weekly rule")


# the account a command of `mapsvc accounts` changes
Username = Annotated[str, typer.Argument(help="the account's username (its sign-in name)")]
ASKED = "asked for when not given: typed twice, not shown"


@accounts_app.command("add")
def accounts_add(
    username: Username,
    role: Annotated[str, typer.Option(help="grid_worker | grid_chief | command | department | "
                                           "planner | admin | auditor")],
    region: Annotated[str | None, typer.Option(
        help="command, planner: the region's code (none: the whole deployment)")] = None,
    grid: Annotated[list[str] | None, typer.Option(
        help="grid_worker, grid_chief: a grid's code (repeat for several)")] = None,
    department: Annotated[str | None, typer.Option(help="department: its code")] = None,
    name: Annotated[str, typer.Option(help="the name shown for the account")] = "",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True, help=ASKED)] = ...,
) -> None:
    """Create an account bound to its scope, with a password it changes before it first signs
    in (at /map/password, or POST /api/v1/auth/password)."""
    from mapsvc.accounts.model import Role
    from mapsvc.accounts.store import create_account

    try:
        kind = Role(role)
    except ValueError:
        fail(f"--role: must be one of {', '.join(r.value for r in Role)}")
    _change_account(lambda conn: create_account(
        conn, username, password, kind, region_code=region, department_code=department,
        grid_codes=grid or [], display_name=name, origin=_administrator(), to_change=True),
        username, f"({kind}) created; it changes its password before it first signs in")


@accounts_app.command("import")
def accounts_import(
    file: Annotated[Path, typer.Argument(help=".csv, .xlsx or .xls: username, role "
                                              "[, display_name, grids, region, department]")],
    passwords: Annotated[Path, typer.Option(
        help="a new file, for the first passwords of the accounts made (CSV, yours alone to "
             "read), to hand over")],
) -> None:
    """Make the accounts of a roster (花名册) at once: all of them, or none if a line has a
    problem. Each changes its first password before it first signs in; a name that is an
    account already is left as it is."""
    from mapsvc.accounts.roster import import_roster, password_sheet, read_roster

    async def enrol(conn, frame):
        result = await import_roster(conn, frame, origin=_administrator())
        if result.created:  # kept before the accounts are: none made without its password
            try:
                kept = os.open(passwords, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as e:
                fail(f"--passwords: {passwords}: {e.strerror}; name a new file")
            with open(kept, "w", encoding="utf-8", newline="") as sheet:
                sheet.write(password_sheet(result.created))
        return result

    result = _whole_file(file, read_roster, enrol)
    for username in result.existing:
        console.print(f"{escape(username)}: an account already, left as it was", highlight=False)
    made = (f"{len(result.created)} accounts made, their first passwords in "
            f"{escape(str(passwords))}" if result.created else "no account made")
    console.print(f"{result.rows} rows: {made}")


@accounts_app.command("list")
def accounts_list() -> None:
    """Every account: its role, scope, whether it may sign in, and when it last did."""
    from rich.table import Table

    from mapsvc.accounts.store import list_accounts

    table = Table()
    for heading in ("account", "name", "role", "state", "scope", "last signed in"):
        table.add_column(heading, overflow="fold")  # whole, also on a narrow screen
    for a in in_transaction(list_accounts):
        state = "active" if a.active else "disabled"
        if a.held_until is not None:
            state += f", held back until {_local(a.held_until, '%H:%M')}"
        table.add_row(*map(escape, (a.username, a.display_name, a.role, state, a.scope,
                                    _local(a.signed_in_at, "%Y-%m-%d %H:%M"))))
    console.print(table)


@accounts_app.command("history")
def accounts_history(
    username: Annotated[str | None, typer.Argument(
        help="an account name (or a name signed in with); none: every one's")] = None,
    last: Annotated[int, typer.Option(min=1, help="how many events, the latest")] = 50,
) -> None:
    """What befell accounts, oldest first: created, new passwords and grids, disabled, enabled,
    and each sign-in, right, wrong or held back, with the address it came from."""
    from rich.table import Table

    from mapsvc.accounts.store import account_events

    table = Table()
    for heading in ("time", "account", "event", "from", "detail"):
        table.add_column(heading, overflow="fold")
    for e in reversed(in_transaction(lambda conn: account_events(conn, username, last))):
        table.add_row(*map(escape, (_local(e.at, "%Y-%m-%d %H:%M:%S"), e.username,
                                    e.event.replace("_", " "), e.origin, e.detail)))
    console.print(table)


def _local(at: datetime | None, form: str) -> str:
    """``at`` in China's time, as ``form`` writes it ('' for none)."""
    from mapsvc.incidents.model import LOCAL_TIME

    return "" if at is None else at.astimezone(LOCAL_TIME).strftime(form)


def _administrator(command: str = "accounts") -> str:
    """Who works from this shell (``mapsvc command``), as the records it changes keep it: the
    system user (and, under sudo, who ran it)."""
    try:
        user = getpass.getuser()
    except OSError:  # a container's user with no name
        user = f"uid {os.getuid()}"
    caller = os.environ.get("SUDO_USER")
    return f"mapsvc {command}, {user}" + (f" (sudo by {caller})" if caller else "")


# The argument or option of `mapsvc accounts` each refused field of an account comes from.
_ACCOUNT_OPTIONS = {"region": "--region", "department": "--department", "grids": "--grid",
                    "password": "--password", "display_name": "--name"}


def _change_account(work, username: str, done: str) -> None:
    """Make or change an account by ``work(conn)``, all or nothing; a refusal names the option
    (or the account's name) at fault."""
    from mapsvc.errors import DomainError

    try:
        in_transaction(work)
    except DomainError as e:
        fail(f"{_ACCOUNT_OPTIONS.get(e.field or '', 'USERNAME')}: {e.reason}")
    console.print(f"account {username} {done}")


@accounts_app.command("password")
def accounts_password(
    username: Username,
    password: Annotated[str, typer.Option(prompt="new password", hide_input=True,
                                          confirmation_prompt=True, help=ASKED)] = ...,
) -> None:
    """Give an account a new password, which it changes before it signs in again: it is
    signed out everywhere, and a name held back by wrong passwords is let in at once."""
    from mapsvc.accounts.store import set_password

    _change_account(lambda conn: set_password(conn, username, password, to_change=True,
                                              origin=_administrator()), username,
                    "has a new password, to change before it signs in, and is signed out "
                    "everywhere")


@accounts_app.command("grids")
def accounts_grids(
    username: Username,
    grid: Annotated[list[str], typer.Option(help="a grid's code (repeat for several)")],
) -> None:
    """Give a grid worker or chief the grids they now work in, in place of those before
    (grids redrawn, a worker moved): signed out everywhere, to sign in with them."""
    from mapsvc.accounts.store import set_grids

    _change_account(lambda conn: set_grids(conn, username, grid, origin=_administrator()),
                    username,
                    f"works in {', '.join(grid)} and is signed out everywhere")


@accounts_app.command("disable")
def accounts_disable(username: Username) -> None:
    """Let an account sign in no more (someone who left): signed out everywhere at once; what
    it did stays, under its name."""
    from mapsvc.accounts.store import set_active

    _change_account(lambda conn: set_active(conn, username, False, origin=_administrator()),
                    username,
                    "disabled and signed out everywhere")


@accounts_app.command("enable")
def accounts_enable(username: Username) -> None:
    """Let a disabled account sign in again."""
    from mapsvc.accounts.store import set_active

    _change_account(lambda conn: set_active(conn, username, True, origin=_administrator()),
                    username, "enabled")


@registry_app.command("import")
def registry_import(
    kind: Annotated[str, typer.Argument(
        help="addresses | people | organisations | things | places")],
    file: Annotated[Path, typer.Argument(help=".csv, .xlsx or .xls with a header line")],
    county: Annotated[str | None, typer.Option(help="county code for rows without one")] = None,
    crs: Annotated[str, typer.Option(help="wgs84 | cgcs2000 | gcj02 | bd09")] = "wgs84",
    check: Annotated[bool, typer.Option(
        "--check", help="only check: what the file would store, update and reject")] = False,
) -> None:
    """Import registry records; addresses first, as people are matched to them. Bad rows are
    listed with their line, the good ones stored (or, --check, nothing)."""
    from mapsvc.errors import InvalidInput
    from mapsvc.registry.importer import Importer, import_registry, read_registry

    declared = _crs_option(crs, file)
    by = Importer(origin=_administrator("registry import"), file=file.name)
    try:
        frame = read_registry(file, file.name, kind)
        result = in_transaction(lambda conn: import_registry(
            conn, kind, frame, by=by, county=county, crs=declared, check=check))
    except InvalidInput as e:
        fail(f"KIND: {e.reason}" if e.field == "kind" else e.reason)
    _print_row_errors(result.errors)
    changed = ("correct", "corrected") if kind == "people" else ("update", "updated")
    done = ("to store", f"to {changed[0]}") if check else ("stored", changed[1])
    updated = f", {result.updated} {done[1]}" if kind != "addresses" else ""
    console.print(f"{'checked, nothing stored: ' if check else ''}{result.rows} rows: "
                  f"{result.stored} {kind} {done[0]}{updated}, {result.rejected} rejected, "
                  f"{result.held} held already")
    if result.errors:
        raise typer.Exit(code=1)


@registry_app.command("imports")
def registry_imports(
    last: Annotated[int, typer.Option(min=1, help="how many files, the latest")] = 50,
) -> None:
    """The registry files imported, the latest first: when, by whom, of what kind, the file,
    and its rows stored, updated and rejected."""
    from rich.table import Table

    from mapsvc.registry.imports import imports_seen

    table = Table()
    for heading in ("time", "by", "kind", "file", "rows", "stored", "updated", "rejected"):
        table.add_column(heading, overflow="fold")
    for i in in_transaction(lambda conn: imports_seen(conn, None, limit=last)):
        table.add_row(*map(escape, (_local(i["at"], "%Y-%m-%d %H:%M:%S"), i["username"],
                                    i["kind"], i["file"] or "", *(str(i[n]) for n in (
                                        "rows", "stored", "updated", "rejected")))))
    console.print(table)


@grids_app.command("propose")
def grids_propose(
    village: Annotated[str, typer.Option(help="the village's 12-digit code")],
    max_households: Annotated[int, typer.Option(help="no grid holds more households")],
    by: Annotated[str, typer.Option(help="the planner or admin account the draft belongs to")],
    name: Annotated[str | None, typer.Option(help="the plan's name")] = None,
) -> None:
    """Propose a division of a village into grids from its registered households: a draft
    plan to edit on the planner page or in QGIS."""
    from sqlalchemy import text

    from mapsvc.accounts.store import find_account
    from mapsvc.boundaries.proposals import propose
    from mapsvc.errors import DomainError

    async def work(conn):
        account = await find_account(conn, by)
        if account is None:
            fail(f"--by: no account {by}")
        plan_id = await propose(conn, account, village, max_households, name)
        return plan_id, (await conn.execute(text(
            "SELECT code, name FROM plan_grid WHERE plan_id = :p ORDER BY code"),
            {"p": plan_id})).all()

    try:
        plan_id, grids = in_transaction(work)
    except DomainError as e:
        fail(f"--{(e.field or '').replace('_', '-')}: {e.reason}" if e.field else e.reason)
    for code, grid_name in grids:
        console.print(f"{code}  {escape(grid_name)}", highlight=False)
    console.print(f"plan {plan_id}: {len(grids)} grids proposed for village {village}")


@grids_app.command("sizing")
def grids_sizing(
    parent: Annotated[str | None, typer.Option(
        help="a city, county, township or village code (default: everything)")] = None,
) -> None:
    """Where grids need redrawing: the grids in force under a region against the sizing rules,
    counted per child region, and those over a maximum, the most over first."""
    from mapsvc.accounts.model import Account, Role
    from mapsvc.boundaries.sizing import SIZES, grid_sizing
    from mapsvc.errors import DomainError

    try:
        report = in_transaction(lambda conn: grid_sizing(
            conn, Account(id=0, username="sizing", role=Role.admin), parent))
    except DomainError as e:
        fail(f"--parent: {e.reason}")

    def counted(part: dict) -> str:
        return (f"{part['grids']} grid{'' if part['grids'] == 1 else 's'}: " + ", ".join(
            f"{part[size]} {size.replace('_', ' ')}" for size in SIZES)
            + f"; {part['households']} households, {part['population']} people")

    whole = report["parent"]
    console.print(f"{escape(whole['name']) if whole else 'all'}  {counted(report['totals'])}",
                  highlight=False)
    for part in report["parts"]:
        console.print(f"{part['code']}  {escape(part['name'])}  {counted(part)}",
                      highlight=False)
    for g in report["grids"]:
        rule = g["rule"] or {}
        console.print(f"{g['code']}  {escape(g['name'])}  {g['size'].replace('_', ' ')}: "
                      f"{g['households']} households (at most "
                      f"{rule.get('households_max', '–')}), {g['population']} people "
                      f"(at most {rule.get('population_max', '–')})", highlight=False)


@demo_app.command("generate")
def demo_generate(
    out: Annotated[Path, typer.Argument(
        help="folder for city/county/township/village/grid .gpkg")],
    grids: Annotated[int, typer.Option(min=1, help="about how many grids")] = 5000,
) -> None:
    """Generate the synthetic hierarchy inside the real seed counties."""
    from mapsvc.demo import write_hierarchy

    paths = write_hierarchy(out, grids)
    for level, path in paths.items():
        console.print(f"{level}: {path}")


@demo_app.command("load")
def demo_load(
    grids: Annotated[int, typer.Option(min=1, help="about how many grids")] = 5000,
    incidents: Annotated[int, typer.Option(min=0, help="how many synthetic incidents")] = 20000,
    password: Annotated[str, typer.Option(envvar="MAPSVC_DEMO_PASSWORD",
                                          help="the demo accounts' password")] = "Demo-2026",
) -> None:
    """Load the demo into the database, once."""
    from mapsvc.demo import load_demo
    from mapsvc.errors import DomainError

    folder = ClusterSettings().dir / "demo"
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err,
                  transient=True) as progress:
        progress.add_task("generating and loading the demo", total=None)
        try:
            counts = in_transaction(lambda conn: load_demo(
                conn, folder, grids=grids, incidents=incidents, password=password))
        except DomainError as e:
            if e.field != "password":
                raise
            fail(f"--password (MAPSVC_DEMO_PASSWORD): {e.reason}")
    if not counts:
        console.print("demo already loaded")
    for level, n in counts.items():
        console.print(f"{level}: {n}")


@demo_app.command("live")
def demo_live(
    every: Annotated[float, typer.Option(min=0, help="seconds between rounds")] = 15,
    rounds: Annotated[int, typer.Option(min=0, help="how many (0: until stopped)")] = 0,
) -> None:
    """Keep the demo alive: each round a report comes in from the hotline or a citizen
    somewhere in the demo county, and one of its cases moves a step along the loop, through
    the ordinary paths: the wall shows both as they happen. `make demo` runs it beside the
    server."""
    import time

    from sqlalchemy.exc import SQLAlchemyError

    from mapsvc.demo import live_round

    done = 0
    with contextlib.suppress(KeyboardInterrupt):
        while not rounds or done < rounds:
            try:
                reported, moved = in_transaction(live_round)
            except SQLAlchemyError:
                err.print("demo live: the database is away; trying again")
            else:
                grid = reported["grid"]["name"] if reported["grid"] else "待分派"
                step = f"; #{moved[0]} {moved[1]}" if moved else ""
                console.print(f"demo live: #{reported['id']} {reported['category']} from the "
                              f"{reported['source']} in {grid}{step}", markup=False,
                              highlight=False)
                done += 1
            if not rounds or done < rounds:
                time.sleep(every)


if __name__ == "__main__":
    app()
