"""The pages' font: Noto Sans SC, installed from the npm registry (@fontsource/noto-sans-sc, in
subsets by range of characters) and served by mapsvc, named so that a phone or a computer with
a Chinese font of its own draws with that and downloads none of the subsets (on a phone, most of
its first open's bytes).

Each subset's ``src`` names first, by their full and PostScript names (as ``local()`` matches
them), the fonts of the same design (Noto Sans SC itself; Noto Sans CJK SC, Android's and most
Linux desktops' Chinese font; Source Han Sans SC, its name at Adobe), then the systems' own
(PingFang SC on iOS and macOS, Microsoft YaHei on Windows); the subset's own file after them."""

PACKAGE = "@fontsource/noto-sans-sc"
FILES = f"/static/vendor/{PACKAGE}/files/"
STYLESHEETS = "/static/mapsvc/fonts/noto-sans-sc-{weight}.css"  # where the pages load them
SYSTEM_FONTS = {
    400: ("Noto Sans SC Regular", "NotoSansSC-Regular", "Noto Sans CJK SC",
          "NotoSansCJKsc-Regular", "Source Han Sans SC", "SourceHanSansSC-Regular",
          "PingFang SC Regular", "PingFangSC-Regular", "Microsoft YaHei", "MicrosoftYaHei"),
    700: ("Noto Sans SC Bold", "NotoSansSC-Bold", "Noto Sans CJK SC Bold", "NotoSansCJKsc-Bold",
          "Source Han Sans SC Bold", "SourceHanSansSC-Bold", "PingFang SC Semibold",
          "PingFangSC-Semibold", "Microsoft YaHei Bold", "MicrosoftYaHei-Bold")}
WEIGHTS = tuple(SYSTEM_FONTS)
_OWN_FILES = "url(./files/"  # as the package names a subset's files


def stylesheet(package_css: str, weight: int) -> str:
    """The package's stylesheet of ``weight`` (``package_css``), each subset's sources led by
    the system fonts and its files named where mapsvc serves them."""
    local = ", ".join(f'local("{name}")' for name in SYSTEM_FONTS[weight])
    faces, sources = package_css.count("@font-face"), package_css.count(f"src: {_OWN_FILES}")
    if sources != faces:  # a release of the package that writes its faces otherwise
        raise ValueError(f"{sources} of the {faces} faces of {PACKAGE} name their files as read")
    css = package_css.replace(f"src: {_OWN_FILES}", f"src: {local}, {_OWN_FILES}")
    return css.replace(_OWN_FILES, f"url({FILES}")
