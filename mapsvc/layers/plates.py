"""Door plates (门牌二维码): the standard addresses of a grid, each with a QR code that a grid
worker's phone camera opens on the households living there (the phone page at
``/m/#address=ID``), indoors and without a fix; printed and put up at each door."""

import html

import segno

PLATES_MOST = 2000  # the addresses of one grid on one sheet (a grid holds some hundreds)


def plate_url(site: str, address_id: int) -> str:
    """What the plate of address ``address_id`` holds: the phone page at that address."""
    return f"{site.rstrip('/')}/m/#address={address_id}"


def plates_page(grid_code: str, grid_name: str, addresses: list[dict], site: str) -> str:
    """The printable sheet of the plates of a grid's ``addresses`` (each its id and address, as
    the registry's layer gives them), each QR code a plate_url of ``site``."""
    plates = "".join(
        f'<li data-address="{a["id"]}">'
        + segno.make(plate_url(site, a["id"]), error="m", micro=False).svg_inline(
            border=2, omitsize=True, svgclass="plate-qr", lineclass=None)
        + f'<p>{html.escape(a["address"])}</p><small>{html.escape(grid_name)} · 扫码走访</small>'
        "</li>" for a in addresses)
    said = (f"共 {len(addresses)} 个标准地址" if len(addresses) < PLATES_MOST
            else f"仅列出前 {PLATES_MOST} 个标准地址")
    title = f"门牌二维码 · {html.escape(grid_name)}（{html.escape(grid_code)}）"
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>民情地图 · {title}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/mapsvc/fonts/noto-sans-sc-400.css">
  <link rel="stylesheet" href="/static/mapsvc/tables.css">
</head>
<body>
  <h1>{title}</h1>
  <p class="hint">{said}。网格员用手机相机扫码，即打开该地址的住户走访，室内定位不准时也可用。</p>
  <ol id="plates">{plates}</ol>
</body>
</html>
"""
