"""Debian's Chromium, driven by Playwright (which downloads no browser of its own), as the page
tests and the benchmarks start it: headless, and quiet on a closed network."""

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)


def wait_until(page, expression: str, what: str, tries: int = 300):
    """Poll ``expression`` in the page (the pages' policy forbids eval, so Playwright's own
    waiting for a function cannot run there)."""
    for _ in range(tries):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the page never showed {what}")
