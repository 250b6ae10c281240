"""The pages' font: Noto Sans SC, installed from the npm registry (@fontsource/noto-sans-sc, in
subsets by range of characters) and served by mapsvc, named so that a phone or a computer with
a Chinese font of its own draws with that and downloads none of the subsets (on a phone, most of
its first open's bytes).

Each subset's ``src`` names first, by their full and PostScript names (as ``local()`` matches
them), the fonts of the same design (Noto Sans SC itself; Noto Sans CJK SC, Android's and most
Linux desktops' Chinese font; Source Han Sans SC, its name at Adobe), then the systems' own
(PingFang SC on iOS and macOS, Microsoft YaHei on Windows); the subset's own file after them."""

import re

PACKAGE = "@fontsource/noto-sans-sc"
FILES = f"/static/vendor/{PACKAGE}/files/"
SYSTEM_FONTS = {
    400: ("Noto Sans SC Regular", "NotoSansSC-Regular", "Noto Sans CJK SC",
          "NotoSansCJKsc-Regular", "Source Han Sans SC", "SourceHanSansSC-Regular",
          "PingFang SC Regular", "PingFangSC-Regular", "Microsoft YaHei", "MicrosoftYaHei"),
    700: ("Noto Sans SC Bold", "NotoSansSC-Bold", "Noto Sans CJK SC Bold", "NotoSansCJKsc-Bold",
          "Source Han Sans SC Bold", "SourceHanSansSC-Bold", "PingFang SC Semibold",
          "PingFangSC-Semibold", "Microsoft YaHei Bold", "MicrosoftYaHei-Bold")}
WEIGHTS = tuple(SYSTEM_FONTS)
_SOURCES = re.compile(r"src: url\(\./files/")
_FILE = re.compile(r"url\(\./files/")


def stylesheet_url(weight: int) -> str:
    """Where the pages load the font's stylesheet of ``weight`` from."""
    return f"/static/mapsvc/fonts/noto-sans-sc-{weight}.css"


def stylesheet(package_css: str, weight: int) -> str:
    """The package's stylesheet of ``weight`` (``package_css``), each subset's sources led by
    the system fonts and its files named where mapsvc serves them."""
    local = ", ".join(f'local("{name}")' for name in SYSTEM_FONTS[weight])
    faces = package_css.count("@font-face")
    css, sources = _SOURCES.subn(f"src: {local}, url(./files/", package_css)
    if sources != faces:  # a release of the package that writes its faces otherwise
        raise ValueError(f"{sources} of the {faces} faces of {PACKAGE} name their files as read")
    return _FILE.sub(f"url({FILES}", css)
