"""Every operation of the API description, driven by Schemathesis with what the description
allows and with what it does not: never a server error; always a status, content type, headers
and body the description gives; input it does not allow refused."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ARTIFACTS, Server, signed_in_client, with_an_administrator

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance",
          "negative_data_rejection")
# The live feed is a stream that never ends: it is read, and its events checked, for a second.
CONFIG = """
[[operations]]
include-path = "/api/v1/events"
request-timeout = 1.0
"""


@pytest.mark.long
def test_no_request_the_description_allows_or_refuses_breaks_the_api(database_url, tmp_path):
    """On a database of its own (what it sends lands there): an administrator's token, so
    that every operation is reached beyond the sign-in."""
    from sqlalchemy.engine import make_url

    from mapsvc.db.cluster import Cluster
    from mapsvc.settings import ClusterSettings

    Cluster(ClusterSettings()).ensure_database("mapsvc_test_fuzz", fresh=True)
    with_an_administrator(make_url(database_url).set(database="mapsvc_test_fuzz")
                          .render_as_string(False), "fuzz")
    (tmp_path / "schemathesis.toml").write_text(CONFIG)  # read from the directory it runs in
    served = Server("fuzz", env={"MAPSVC_DATABASE_NAME": "mapsvc_test_fuzz"}).start()
    try:
        with signed_in_client(served.base, "fuzz") as client:
            signed_in = client.headers["Authorization"]
        operations = sum(map(len, httpx.get(f"{served.base}/openapi.json").json()["paths"]
                                 .values()))
        said = subprocess.run(
            [str(Path(sys.executable).parent / "st"), "run", f"{served.base}/openapi.json",
             "--header", f"Authorization: {signed_in}", "--checks", ",".join(CHECKS),
             "--phases", "examples,coverage,fuzzing", "--max-examples", "5", "--seed", "1",
             # one thread: Python 3.11.7's ast.parse, which Hypothesis calls to describe its
             # strategies, can fail when two threads parse at once (CPython gh-106905)
             "--workers", "1", "--no-color"],
            capture_output=True, text=True, cwd=tmp_path, timeout=1200)
    finally:
        served.stop()
    (ARTIFACTS / "api-fuzz.log").write_text(said.stdout + said.stderr)
    assert said.returncode == 0, said.stdout[-6000:]
    assert f"Tested: {operations}\n" in said.stdout  # every operation
