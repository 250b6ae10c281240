"""The planners' notebooks run from a clean kernel against the service's database."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

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
