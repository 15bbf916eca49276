"""The analysts' notebooks run top to bottom on the bundled demo data, with no manual step and no network,
and each .ipynb is in step with its jupytext .py source (the source of truth)."""

from __future__ import annotations

import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("rerun_pooled_estimates", "sensitivity", "extraction_review")
CELL_TIMEOUT = 120  # seconds per cell; a whole notebook takes ~5-15 s


def _code(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_ipynb_is_in_step_with_its_py_source(name):
    py = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    ipynb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    assert _code(ipynb) == _code(py), f"run: jupytext --to ipynb notebooks/{name}.py"
    assert [c.source for c in ipynb.cells] == [c.source for c in py.cells]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name, tmp_path, monkeypatch):
    # the kernel imports this source tree and builds the bundled demo store, never the working one
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("SARCOMA_EVIDENCE_DB", raising=False)
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    elapsed = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert elapsed < 60, f"{name} took {elapsed:.0f} s"
