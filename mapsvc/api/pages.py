"""The map pages, the API docs and the assets they load (served here: no CDN)."""

import asyncio
import hashlib
import html
import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from mapsvc import settings
from mapsvc.accounts.model import AUDIT_READERS, IMPORTERS, ROLE_NAMES, ROLE_SCOPES, Role
from mapsvc.accounts.passwords import password_rules
from mapsvc.accounts.tokens import InvalidToken, read_token
from mapsvc.api.auth import SESSION_COOKIE
from mapsvc.api.deps import public_base, statements
from mapsvc.boundaries.plans import PLANNERS
from mapsvc.boundaries.queries import region_frame, top_level
from mapsvc.boundaries.reading import CHILD_LEVEL, CODE_LENGTHS
from mapsvc.errors import NotFound
from mapsvc.geo.crs import CRS_NAMES
from mapsvc.incidents.bulk import HEADINGS as INCIDENT_HEADINGS
from mapsvc.incidents.callers import CALLER_READERS, REVEAL_REASONS
from mapsvc.incidents.model import METHOD_NAMES, PHOTOS_MOST, PUBLIC_SOURCES, SOURCE_NAMES
from mapsvc.layers import fonts
from mapsvc.layers.desk import desk_page
from mapsvc.layers.plan import plan_page
from mapsvc.layers.plates import PLATES_MOST, plates_page
from mapsvc.layers.wall import WallRegion, wall_page
from mapsvc.registry.micro_grids import LEADER_REASONS, grid_in_reach
from mapsvc.registry.audit import AUDIT_ACTION_NAMES, AUDIT_FIELD_NAMES
from mapsvc.registry.collection import ORGANISATION_KIND_NAMES
from mapsvc.registry.importer import KIND_NAMES as REGISTRY_KIND_NAMES
from mapsvc.registry.importer import columns as registry_columns
from mapsvc.registry.people import (DEPARTURE_NAMES, DETAIL_NAMES, EXPORTERS, REGISTRATION_NAMES,
                                    SEX_NAMES)
from mapsvc.registry.queries import layer_geojson
from mapsvc.workflow.actions import BATCH_MOST
from mapsvc.workflow.calendar import UNIT_NAMES
from mapsvc.workflow.clocks import COLOUR_NAMES
from mapsvc.workflow.departments import departments_json
from mapsvc.workflow.machine import ACTION_NAMES, ACTIONS, PHRASES, STATE_NAMES

LAYERS = Path(__file__).resolve().parent.parent / "layers"
STATIC = LAYERS / "static"
VENDOR = LAYERS / "assets" / "node_modules"  # `make` installs them from the npm registry
VENDOR_FILES = ("leaflet/dist", "leaflet.vectorgrid/dist", "gcoord/dist",
                "@geoman-io/leaflet-geoman-free/dist", "@fontsource/noto-sans-sc",
                "swagger-ui-dist")
SWAGGER_UI = "/static/vendor/swagger-ui-dist"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
# Scripts, styles, images and fonts: never a package's own pages (its docs and demos load
# their libraries from CDNs).
ASSET_SUFFIXES = (".js", ".css", ".png", ".svg", ".woff2", ".woff")


class AssetFiles(StaticFiles):
    """Static files limited to what a page loads."""

    async def get_response(self, path: str, scope):
        if not path.endswith(ASSET_SUFFIXES):
            return Response(status_code=404)
        return await super().get_response(path, scope)


class PhoneFiles(StaticFiles):
    """The grid worker's phone page and its files, under the pages' content policy."""

    async def get_response(self, path: str, scope):
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = _policy(settings.pages().basemap_url)
        return response


WALL_ROLES = frozenset({Role.command, Role.admin})
DESK_ROLES = WALL_ROLES | {Role.department}  # a department's desk: its cases (处置台)
# An administrator's pages beside the command centre's (each page but its own)
ADMIN_LINKS = {"audit": '<a href="/map/audit">审计日志</a> ',
               "accounts": '<a href="/map/accounts">账号管理</a> ',
               "webhooks": '<a href="/map/webhooks">推送订阅</a> '}
# the command centre's pages, each page but its own
CENTRE_LINKS = {"wall": '<a href="/map/wall">指挥大屏</a> ',
                "desk": '<a href="/map/desk">受理派遣</a> ',
                "people": '<a href="/map/people">人口台账</a> ',
                "units": '<a href="/map/units">单位场所</a> ',
                "stats": '<a href="/map/stats">考核评价</a> ',
                "campaigns": '<a href="/map/campaigns">专项排查</a> ',
                "registry": '<a href="/map/registry">登记导入</a> '}
# the command centre's pages linked from an administrator's own
ADMIN_CENTRE_LINKS = CENTRE_LINKS["wall"] + CENTRE_LINKS["people"] + CENTRE_LINKS["stats"]
# The pages of tables a grid chief opens too (人口台账, 考核评价, 专项排查; a department the
# evaluation of its own figures), and the links among them of those who work on the phone
CHIEF_PAGES = frozenset({Role.command, Role.admin, Role.grid_chief})
EVALUATED = CHIEF_PAGES | {Role.department}
PHONE_LINKS = {"phone": '<a href="/m/">手机端</a> ', "people": CENTRE_LINKS["people"],
               "units": CENTRE_LINKS["units"], "stats": CENTRE_LINKS["stats"],
               "campaigns": CENTRE_LINKS["campaigns"]}
DEPARTMENT_LINKS = {"desk": '<a href="/map/desk">案件处置</a> ', "phone": PHONE_LINKS["phone"],
                    "stats": CENTRE_LINKS["stats"]}
# Where each role's work is: the wall for command centres, the desk for departments (their
# field crews open the phone page), the planner's page for planners, the phone page for the
# grid workers and chiefs, the audit log for auditors.
HOME = {Role.command: "/map/wall", Role.admin: "/map/wall", Role.planner: "/map/plan",
        Role.grid_worker: "/m/", Role.grid_chief: "/m/", Role.department: "/map/desk",
        Role.auditor: "/map/audit"}

router = APIRouter(prefix="/map", include_in_schema=False)
top_router = APIRouter(include_in_schema=False)  # beside /map: the site's root, the phone's


def add_assets(app) -> None:
    """The pages' files."""
    for package in VENDOR_FILES:
        app.mount(f"/static/vendor/{package}",
                  AssetFiles(directory=VENDOR / package, check_dir=False), name=package)
    app.mount("/static/mapsvc", StaticFiles(directory=STATIC), name="mapsvc")
    # the grid worker's phone page: its own scope, so that its service worker keeps it offline
    app.mount("/m", PhoneFiles(directory=STATIC / "m", html=True), name="phone")


def _page_account(request: Request):
    token = request.cookies.get(SESSION_COOKIE)
    if token is None:
        return None
    try:
        return read_token(token)
    except InvalidToken:
        return None


# What the pages call the cases' states, the steps of the loop, the sources of reports, the
# ways a case finds its grid, the warning colours (the names the ledger writes), the roles,
# and what each role is bound to, the actions of the audit log and the fields it says were shown
# in full, the fields of a person shown in full and a person's sex, registration and departure,
# an organisation's kinds, the common notes of the steps (常用语), the units of time limits, the
# sources whose cases have a caller to answer (the public's), the roles that see who called and
# why they commonly look, why a worker commonly calls a micro-grid's leader, how often a
# handler's deadline may be extended, the photos a report or a step carries at most, the kinds
# of registry files and their columns; and
# the rules of each action: the roles that may take it, the states it is taken from and the one
# it leads to (null: the state stays), what it needs, what the case must be beside its state,
# whether it may be taken on many cases at once, and whether photos taken on site show its
# result.
NAMES_JS = '"use strict";\n' + "".join(
    f"const {name} = {json.dumps(names, ensure_ascii=False)};\n"
    for name, names in (("STATUS", STATE_NAMES), ("ACTION_NAME", ACTION_NAMES),
                        ("SOURCE_NAME", SOURCE_NAMES), ("METHOD_NAME", METHOD_NAMES),
                        ("CRS_NAME", CRS_NAMES), ("INCIDENT_COLUMN", INCIDENT_HEADINGS),
                        ("COLOUR_NAME", COLOUR_NAMES), ("ROLE_NAME", ROLE_NAMES),
                        ("ROLE_SCOPE", ROLE_SCOPES), ("AUDIT_ACTION", AUDIT_ACTION_NAMES),
                        ("AUDIT_FIELD", AUDIT_FIELD_NAMES), ("PERSON_FIELD", DETAIL_NAMES),
                        ("SEX_NAME", SEX_NAMES), ("ORGANISATION_KIND", ORGANISATION_KIND_NAMES),
                        ("REGISTRATION_NAME", REGISTRATION_NAMES),
                        ("DEPARTURE_NAME", DEPARTURE_NAMES), ("PHRASES", PHRASES),
                        ("UNIT_NAME", UNIT_NAMES), ("PUBLIC_SOURCES", PUBLIC_SOURCES),
                        ("CALLER_READERS", sorted(CALLER_READERS)),
                        ("REVEAL_REASONS", REVEAL_REASONS),
                        ("LEADER_REASONS", LEADER_REASONS),
                        ("EXTENSIONS_MOST", settings.workflow().extensions_most),
                        ("PHOTOS_MOST", PHOTOS_MOST),
                        ("REGISTRY_KIND", REGISTRY_KIND_NAMES),
                        ("REGISTRY_COLUMNS", {kind: registry_columns(kind)
                                              for kind in REGISTRY_KIND_NAMES}),
                        ("ACTIONS", {name: {"roles": sorted(a.roles), "from": list(a.sources),
                                            "to": a.target,
                                            "note": a.needs_note or a.needs_evidence,
                                            "needs": list(a.needs), "when": a.when,
                                            "batch": a.batched,
                                            "photo": a.photographed}
                                     for name, a in ACTIONS.items()})))


@top_router.get("/static/mapsvc/names.js")
async def names_script() -> Response:
    return Response(NAMES_JS, media_type="text/javascript; charset=utf-8")


@cache
def _font_stylesheet(weight: int) -> tuple[str, str]:
    """The font's stylesheet of ``weight`` and its ETag."""
    css = fonts.stylesheet((VENDOR / fonts.PACKAGE / f"{weight}.css").read_text(), weight)
    return css, f'"{hashlib.sha256(css.encode()).hexdigest()[:20]}"'


@top_router.get(fonts.STYLESHEETS)
async def font_stylesheet(weight: int, request: Request) -> Response:
    """The pages' font (mapsvc.layers.fonts), revalidated by its ETag as the other files."""
    if weight not in fonts.WEIGHTS:
        return Response(status_code=404)
    css, etag = _font_stylesheet(weight)
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(css, media_type="text/css; charset=utf-8", headers={"ETag": etag})


@top_router.get("/docs")
async def api_docs() -> HTMLResponse:
    """The OpenAPI description in Swagger UI, all of it from mapsvc (a command centre's
    network may reach nothing else)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="mapsvc API", oauth2_redirect_url=OAUTH2_REDIRECT,
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None})  # no badge from swagger.io


@top_router.get(OAUTH2_REDIRECT)
async def api_docs_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@top_router.get("/m/config.json")
async def phone_config() -> dict:
    """What the phone page takes from the service's settings."""
    pages = settings.pages()
    return {"accuracy_m": pages.phone_accuracy_m, "refresh_seconds": pages.phone_refresh_seconds,
            "stall_seconds": pages.phone_stall_seconds, "basemap": pages.basemap()}


@router.get("/login")
async def login() -> FileResponse:
    """The sign-in page, under the pages' content policy (framed by no other site)."""
    return FileResponse(STATIC / "login.html", media_type="text/html",
                        headers={"Content-Security-Policy": _policy(None)})


@router.get("/password")
async def password() -> HTMLResponse:
    """Where an account changes its own password (from any page, the phone's too), saying
    the rules it must keep."""
    page = (STATIC / "password.html").read_text().replace("{password_rules}",
                                                          password_rules())
    return HTMLResponse(page, headers={"Content-Security-Policy": _policy(None)})


@top_router.get("/")
@router.get("/")
async def home(request: Request) -> RedirectResponse:
    """The signed-in account's page (its role's), else the sign-in page: at the site's root
    and at /map/."""
    account = _page_account(request)
    if account is None:
        return RedirectResponse("/map/login?next=/map/", status_code=303)
    return RedirectResponse(HOME[account.role], status_code=303)


# The account's region and what a map shows it in (its frame, without islands far off its
# coast), or the deployment's counties'.
_REGION = text(f"""
SELECT r.level AS kind, r.code, r.name, ST_XMin(e) AS minx, ST_YMin(e) AS miny,
       ST_XMax(e) AS maxx, ST_YMax(e) AS maxy
  FROM region r, LATERAL (SELECT {region_frame("r.geom")} AS e) b WHERE r.code = :code
""")
_DEPLOYMENT = text(f"""
SELECT 'deployment' AS kind, NULL AS code, '全部辖区' AS name, ST_XMin(e) AS minx,
       ST_YMin(e) AS miny, ST_XMax(e) AS maxx, ST_YMax(e) AS maxy
  FROM (SELECT ST_Extent({region_frame("r.geom")}::geometry) AS e
          FROM region r WHERE r.level = 'county') b
""")


def _refusal(request: Request, page: str, roles: frozenset[Role], who: str):
    """The signed-in account if it may open ``page``, else the answer to send instead (signing
    in leads on to the page as asked, its query kept: a kiosk's wall, a grid's plates)."""
    account = _page_account(request)
    if request.url.query:
        page = f"{page}?{request.url.query}"
    if account is None:
        return None, RedirectResponse(f"/map/login?next={quote(f'/map/{page}')}",
                                      status_code=303)
    if account.role not in roles:
        return None, _refused_page(account, page, who)
    return account, None


def _refused_page(account, page: str, who: str) -> HTMLResponse:
    """The page ``page`` refused to ``account``, whose own page it links, and signing in as
    another account that may open it."""
    return _notice(account, 403, "无权访问", f"此页面仅供{who}账号使用。",
                   f"/map/login?next={quote(f'/map/{page}')}", "换个账号登录")


def _notice(account, status: int, title: str, said: str, other: str,
            other_said: str) -> HTMLResponse:
    """A page saying why the page asked for is not shown to ``account``: who is signed in, a
    link to its own page and one to ``other``."""
    values = {"title": title, "said": said, "username": account.username,
              "role": ROLE_NAMES[account.role], "home": HOME[account.role], "other": other,
              "other_said": other_said}
    filled = re.sub(r"\{(\w+)\}", lambda m: html.escape(values[m[1]]),
                    (STATIC / "notice.html").read_text())  # at once: a value's braces kept
    return HTMLResponse(filled, status_code=status,
                        headers={"Content-Security-Policy": _policy(None)})


async def _region(request: Request, account) -> WallRegion:
    async with statements(request) as conn:
        row = (await conn.execute(_REGION, {"code": account.region_code}) if account.region_code
               else await conn.execute(_DEPLOYMENT)).one()
        child = await top_level(conn) if row.kind == "deployment" else CHILD_LEVEL[row.kind]
    return WallRegion(row.kind, row.code, row.name,
                      (row.minx or 73.0, row.miny or 18.0, row.maxx or 135.0, row.maxy or 54.0),
                      child if child != "grid" else None)


async def _named(request: Request, select: str) -> list[dict]:
    """The codes and names (and what else) ``select`` reads, for a page's lists."""
    async with statements(request) as conn:
        return [dict(row) for row in (await conn.execute(text(select))).mappings()]


def _page(html: str) -> HTMLResponse:
    """A page Folium wrote, its map inline."""
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Content-Security-Policy":
                                       _policy(settings.pages().basemap_url,
                                               inline_scripts=True)})


@router.get("/wall", response_class=HTMLResponse)
async def wall(request: Request) -> Response:
    """The wall screen, at the signed-in command account's region."""
    account, refused = _refusal(request, "wall", WALL_ROLES, "指挥中心")
    if refused:
        return refused
    region = await _region(request, account)
    categories = await _named(request, "SELECT code, name, parent_code FROM category "
                                       "ORDER BY code")
    return _page(wall_page(region, categories=categories, basemap=settings.pages().basemap(),
                           clock_seconds=settings.tiles().clock_seconds,
                           links=_admin_links(account)))


@router.get("/desk", response_class=HTMLResponse)
async def desk(request: Request) -> Response:
    """The command centre's desk, at the signed-in command account's region; a department's,
    on the cases dispatched to it."""
    account, refused = _refusal(request, "desk", DESK_ROLES, "指挥中心或职能部门")
    if refused:
        return refused
    region = await _region(request, account)
    async with statements(request) as conn:
        departments = json.loads(await departments_json(conn))
    return _page(desk_page(region, account.role, departments=departments,
                           list_most=settings.api().page_size_max, batch_most=BATCH_MOST,
                           photo_most_bytes=settings.media().max_bytes,
                           basemap=settings.pages().basemap(),
                           links=_links_from("desk", account),
                           department=next((d for d in departments
                                            if d["code"] == account.department_code), None)))


@router.get("/people", response_class=HTMLResponse)
async def people(request: Request) -> Response:
    """The people's register (人口台账) of the signed-in account's jurisdiction, for command
    centres and grid chiefs: masked, each full value shown for a stated reason."""
    account, refused = _refusal(request, "people", CHIEF_PAGES, "指挥中心或网格长")
    if refused:
        return refused
    return _table_page("people", "人口台账", "姓名、身份证号、手机号均已脱敏；查看完整信息须说明理由并记入审计",
                       _links_from("people", account),
                       export_hidden="" if account.role in EXPORTERS else "hidden",
                       **await _area(request, account))


@router.get("/units", response_class=HTMLResponse)
async def units(request: Request) -> Response:
    """The organisations and places (单位场所) of the signed-in account's jurisdiction, each
    corrected (moved on a map too) and its record read, for command centres and grid chiefs."""
    account, refused = _refusal(request, "units", CHIEF_PAGES, "指挥中心或网格长")
    if refused:
        return refused
    return _table_page("units", "单位场所",
                       "实有单位与重点场所：按区域、名称、类别查找，更正（含位置）并查看变更记录",
                       _links_from("units", account), with_map=True,
                       **await _area(request, account))


@router.get("/registry", response_class=HTMLResponse)
async def registry(request: Request) -> Response:
    """Registry files (一标三实: standard addresses, people, organisations, components, places)
    imported by command centres and administrators: each line at fault named with why."""
    account, refused = _refusal(request, "registry", IMPORTERS, "指挥中心")
    if refused:
        return refused
    # rows of no county are, until the centre says otherwise, the county it is of (its own, or
    # the one its township or village lies in)
    region = account.region_code or ""
    county = region[:CODE_LENGTHS["county"]] if len(region) >= CODE_LENGTHS["county"] else ""
    return _table_page("registry", "登记导入", "一标三实按文件导入，同一文件再次导入不会重复登记",
                       _links_from("registry", account), county=county)


@router.get("/plates", response_class=HTMLResponse)
async def plates(request: Request, grid: str = "") -> Response:
    """The door plates (门牌二维码) of a grid's standard addresses in the signed-in account's
    jurisdiction, to print and put up: each QR code opens the phone page on the households at
    its address. For command centres and grid chiefs."""
    account, refused = _refusal(request, "plates", CHIEF_PAGES,
                                "指挥中心或网格长")
    if refused:
        return refused
    if not grid:
        return _notice(account, 400, "请选择网格", "门牌二维码按网格打印：请在人口台账的区域中选定网格。",
                       "/map/people", "在人口台账选择网格")
    async with statements(request) as conn:
        try:
            found = await grid_in_reach(conn, account, grid)
        except NotFound:
            return _notice(account, 404, "没有此网格", f"本账号的辖区内没有编码为 {grid} 的网格。",
                           "/map/people", "在人口台账选择网格")
        listed = json.loads(await layer_geojson(conn, "addresses", account, grid=grid,
                                                limit=PLATES_MOST, walking=True))
    addresses = [{"id": f["id"], **f["properties"]} for f in listed["features"]]
    # drawn off the event loop: some milliseconds a code, hundreds of them
    page = await asyncio.to_thread(plates_page, grid, found.name, addresses, public_base(request))
    return HTMLResponse(page, headers={"Cache-Control": "no-store",
                                       "Content-Security-Policy": _policy(None)})


@router.get("/stats", response_class=HTMLResponse)
async def stats(request: Request) -> Response:
    """The evaluation (考核评价) of the signed-in command account's region: the loop's figures
    of its parts, ranked, for the days chosen; for a grid chief, of the grids it leads, by
    grid or by their workers; for a department, its own; for each, by main class."""
    account, refused = _refusal(request, "stats", EVALUATED, "指挥中心、网格长或职能部门")
    if refused:
        return refused
    chief, department = account.role is Role.grid_chief, account.role is Role.department
    # the cases a region's, a department's or a class's 上报 and 当前超期 count open on the
    # desk, for those who work at it
    desk = account.role in DESK_ROLES
    return _table_page(
        "stats", "考核评价", "期间内上报案件的办理情况，按区域、部门、网格员、中心坐席或问题类别统计排名",
        _links_from("stats", account), regions_hidden="hidden" if chief or department else "",
        grids_hidden="hidden" if department else "",
        first_by="grid" if chief else "category" if department else "",
        desk="true" if desk else "",
        desk_note=f"，点击上报数或当前超期数在{'案件处置台' if department else '受理派遣台'}"
                  "查看这些案件" if desk else "")


@router.get("/campaigns", response_class=HTMLResponse)
async def campaigns(request: Request) -> Response:
    """Campaigns (专项排查) of the signed-in command account's region: made, and followed grid
    by grid, with the hazards found; a grid chief follows those of its grids."""
    account, refused = _refusal(request, "campaigns", CHIEF_PAGES, "指挥中心或网格长")
    if refused:
        return refused
    return _table_page("campaigns", "专项排查",
                       "限期排查辖区内某类单位、场所或部件，按网格跟踪进度；发现的隐患即上报为案件",
                       _links_from("campaigns", account),
                       make_hidden="" if account.role in WALL_ROLES else "hidden",
                       **await _area(request, account))


@router.get("/accounts", response_class=HTMLResponse)
async def accounts(request: Request) -> Response:
    """The accounts (账号管理), for administrators: made, given a new password or new grids,
    disabled and enabled, as `mapsvc accounts` does on the server."""
    account, refused = _refusal(request, "accounts", frozenset({Role.admin}), "管理员")
    return refused or _table_page("accounts", "账号管理",
                                  "新建（逐个或按花名册）、重设密码、调整网格、停用与启用均记入账号事件",
                                  _links_from("accounts", account),
                                  password_rules=password_rules(),
                                  **await _area(request, account))


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks(request: Request) -> Response:
    """The webhooks (推送订阅), for administrators: made, followed as they send, paused and
    resumed, tried again, given a new secret and removed (mapsvc.api.webhooks)."""
    account, refused = _refusal(request, "webhooks", frozenset({Role.admin}), "管理员")
    return refused or _table_page(
        "webhooks", "推送订阅", "案件各环节即时推送给对接系统（12345热线、部门业务系统等），按序送达，失败自动重试",
        _links_from("webhooks", account), **await _area(request, account))


@router.get("/audit", response_class=HTMLResponse)
async def audit(request: Request) -> Response:
    """The audit log (审计日志) for auditors and administrators: who looked at, exported or
    changed whose personal data and why, and what befell the accounts. It reads, and changes
    nothing."""
    account, refused = _refusal(request, "audit", AUDIT_READERS, "审计员或管理员")
    if refused:
        return refused
    return _table_page("audit", "审计日志",
                       "个人信息的查看、导出与人员变动，账号的创建、登录与变更；只读，不可更改",
                       _links_from("audit", account))


def _centre_links(page: str) -> str:
    """Links to the command centre's pages but ``page``."""
    return "".join(link for name, link in CENTRE_LINKS.items() if name != page)


def _links_from(page: str, account) -> str:
    """Links from a page (the desk, a page of tables) to the account's other pages."""
    if account.role is Role.department:
        return "".join(link for name, link in DEPARTMENT_LINKS.items() if name != page)
    if account.role is Role.grid_chief:
        return "".join(link for name, link in PHONE_LINKS.items() if name != page)
    if account.role is Role.auditor:  # the audit log alone
        return ""
    centre = ADMIN_CENTRE_LINKS if page in ADMIN_LINKS else _centre_links(page)
    return centre + _admin_links(account, page)


def _admin_links(account, page: str = "") -> str:
    """Links to an administrator's pages but ``page`` (none for other accounts)."""
    return "".join(link for name, link in ADMIN_LINKS.items()
                   if name != page) if account.role is Role.admin else ""


async def _area(request: Request, account) -> dict[str, str]:
    """Where a page's 区域 (tables.js, areaPicker) starts: the regions within the account's
    (a village's: its grids), or a grid chief's grids."""
    if account.role == Role.grid_chief:
        return {"area_region": "", "area_child": "grid"}
    region = await _region(request, account)
    return {"area_region": region.code or "", "area_child": region.child or "grid"}


# What a page of tables with a map loads for it: Leaflet, served by mapsvc.
TABLE_MAP_CSS = '  <link rel="stylesheet" href="/static/vendor/leaflet/dist/leaflet.css">\n'
TABLE_MAP_JS = '  <script src="/static/vendor/leaflet/dist/leaflet.js"></script>\n'


def _table_page(page: str, title: str, subtitle: str, links: str, *, with_map: bool = False,
                **fills: str) -> HTMLResponse:
    """A page of tables: its body (``page``.html, with what its ``{…}`` holes take) in the
    frame the pages of tables share (tables.html: their head, heading, links to the account's
    other pages, and scripts; Leaflet ``with_map``), never kept by a cache, under the pages'
    content policy."""
    body = (STATIC / f"{page}.html").read_text()
    for hole, value in fills.items():
        body = body.replace(f"{{{hole}}}", value)
    html = (STATIC / "tables.html").read_text()
    for hole, value in (("title", title), ("subtitle", subtitle), ("links", links),
                        ("page", page), ("map_css", TABLE_MAP_CSS if with_map else ""),
                        ("map_js", TABLE_MAP_JS if with_map else ""),
                        ("body", body)):  # the body last: its text stays
        html = html.replace(f"{{{hole}}}", value)
    return HTMLResponse(html, headers={"Cache-Control": "no-store",
                                       "Content-Security-Policy": _policy(None)})


@router.get("/plan", response_class=HTMLResponse)
async def plan(request: Request) -> Response:
    """The planner's page, at the signed-in planner's region."""
    account, refused = _refusal(request, "plan", PLANNERS, "规划")
    if refused:
        return refused
    return _page(plan_page(await _region(request, account), basemap=settings.pages().basemap()))


def _policy(basemap: str | None, *, inline_scripts: bool = False) -> str:
    """Only mapsvc's own assets and data (and the servers of ``basemap``, a tile template, when
    one is set); scripts from mapsvc's files alone, but on the pages Folium writes, whose maps
    it writes inline (``inline_scripts``): a script written into a page's text runs nowhere
    else. Inline styles stay allowed. Images also from the page's own blobs: the phone fetches
    its photos with its token. The basemap's tiles may also be fetched: the phone's service
    worker (under the policy its script comes with) keeps them."""
    servers = ""
    if basemap:
        parts = urlsplit(basemap)
        labels = parts.netloc.split(".")
        # its servers, one per letter of {s}: the labels up to the one naming them a wildcard
        lettered = [n for n, label in enumerate(labels) if "{s}" in label]
        host = ".".join(["*"] + labels[lettered[-1] + 1:]) if lettered else parts.netloc
        servers = f" {parts.scheme}://{host}"
    scripts = "'self' 'unsafe-inline'" if inline_scripts else "'self'"
    return (f"default-src 'self'; script-src {scripts}; "
            f"style-src 'self' 'unsafe-inline'; font-src 'self'; connect-src 'self'{servers}; "
            f"img-src 'self' data: blob:{servers}; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'self'")
