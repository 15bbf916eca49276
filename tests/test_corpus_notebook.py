"""The notebook that reproduces a published sarcoma meta-analysis from the bundled trials runs top to bottom
and its .ipynb is in step with its jupytext source. The notebook itself asserts that its pooled CI overlaps
the paper's (OS HR 0.81, 95% CI 0.73-0.90), so a run that loses the overlap fails here."""

from __future__ import annotations

from tests import test_notebooks as nb

NAME = "reproduce_published_meta_analysis"


def test_reproduction_ipynb_is_in_step_with_its_source():
    nb.test_ipynb_is_in_step_with_its_py_source(NAME)


def test_reproduction_notebook_runs_and_overlaps_the_paper(tmp_path, monkeypatch):
    nb.test_notebook_runs_top_to_bottom(NAME, tmp_path, monkeypatch)
