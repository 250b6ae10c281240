"""The planners' and analysts' notebooks run from a clean kernel against the service's
database."""

import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from sqlalchemy import text as sql

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_grid_sizing_runs_and_proposes_for_the_worst_village(area, tmp_path):
    notebook = nbformat.read(NOTEBOOKS / "grid_sizing.ipynb", as_version=4)
    a, _ = area
    notebook.cells[1].source = f'COUNTY = "{a.county}"\nSAVE_PROPOSAL = False\nPLANNER = "admin"'
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = ["".join(o.get("text", "") for o in cell.get("outputs", []))
               for cell in notebook.cells if cell.cell_type == "code"]
    text = "\n".join(outputs)
    assert f"county {a.county}: 4 grids, 5 households, 8 people" in text
    assert f"worst village {a.village} (urban)" in text
    assert "1 grids proposed" in text
    assert (tmp_path / "grid_sizing_households.png").stat().st_size > 0


def test_case_review_counts_a_countys_cases_by_township_source_age_and_place(area, db,
                                                                             tmp_path):
    a, _ = area  # two open cases in grid B and a voided one, of class 06, reported just now
    with db.connect() as conn:
        category = conn.execute(sql("SELECT name FROM category WHERE code = '06'")).scalar_one()
        township = conn.execute(sql("SELECT name FROM region WHERE code = :c"),
                                {"c": a.township}).scalar_one()
        grid_b = conn.execute(sql("SELECT name FROM grid WHERE code = :c"),
                              {"c": a.code("B")}).scalar_one()
    notebook = nbformat.read(NOTEBOOKS / "case_review.ipynb", as_version=4)
    # hot spots of two cases within 250 m: the open ones in B's west and east, 220 m apart
    # (the void one beside the west's is left out)
    notebook.cells[1].source = (f'COUNTY = "{a.county}"\nDAYS = 30\nANALYST = "admin"\n'
                                "HOTSPOT_RADIUS_M = 250\nHOTSPOT_CASES = 2")
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = "\n".join(o.get("text", "") + o.get("data", {}).get("text/html", "")
                      + o.get("data", {}).get("text/plain", "")
                      for cell in notebook.cells if cell.cell_type == "code"
                      for o in cell.get("outputs", []))
    assert f"county {a.county}: 3 reported, 0 closed, 0 overdue now" in shown
    assert f">{township}</td>" in shown and ">合计</td>" in shown  # the townships' table
    assert "3 cases in 1 classes from 1 sources" in shown
    assert re.search(rf"{category}\s+3\s+3\n", shown)  # all from grid workers
    assert "2 open now, 0 of them reported 7 days ago or more" in shown
    assert re.search(rf"{township}\s+2\s+0\s+0\s+0\s+0\n", shown)  # both within a day
    assert "1 of 2 villages with open cases" in shown
    assert re.search(rf"{a.code('B')}\s+\S+\s+2\n", shown)  # the grid with the most
    assert (tmp_path / "case_review_backlog.png").stat().st_size > 0
    assert "1 places where a class keeps coming, 2 cases" in shown
    assert re.search(rf"{category}\s+2\s+2\s+{re.escape(grid_b)}\s+\d+\s", shown)
    drawn = (tmp_path / "case_review_villages.html").read_text()  # the village with its cases
    assert re.search(rf'"code": "{a.village}"[^}}]*"open": 2', drawn)
