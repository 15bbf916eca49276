"""The pool table prints a numerically-zero τ² (a REML/ML estimate at the boundary, e.g. 8.7e-12) as 0; the
stored number is left as it is."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console

from evidence.pool_cli import _fmt_tau2, pooled_table


def _row(tau2: float, se: float = 0.12) -> dict:
    return {"histotype": "leiomyosarcoma", "k": 3, "scale": "log", "estimate_exp": 0.8, "ci_low_exp": 0.6,
            "ci_high_exp": 1.05, "i2": 0.0, "tau2": tau2, "se": se, "p_value": 0.11, "method": "REML",
            "test": "adhoc", "pi": "t"}


def _tau2_cells(table: pd.DataFrame) -> list[str]:
    t = pooled_table(table, ["histotype"], "pooled")
    col = next(c for c in t.columns if c.header == "τ²")
    return [str(x) for x in col._cells]


def test_boundary_tau2_prints_as_zero_and_is_stored_unchanged():
    table = pd.DataFrame([_row(8.7e-12), _row(0.0), _row(0.0123), _row(2e-10)])
    assert _tau2_cells(table) == ["0", "0", "0.0123", "2e-10"]
    assert table["tau2"].tolist() == [8.7e-12, 0.0, 0.0123, 2e-10]  # display only
    Console(record=True, width=200).print(pooled_table(table, ["histotype"], "pooled"))


def test_zero_is_relative_to_the_scale_of_the_estimate():
    assert _fmt_tau2(5e-9, se=1.0) == "5e-09"
    assert _fmt_tau2(5e-9, se=100.0) == "0"  # SE² = 1e4: 5e-9 is below 1e-10 of it
    assert _fmt_tau2(math.nan) == "" and _fmt_tau2(None) == ""
    assert _fmt_tau2(3e-11) == "0" and _fmt_tau2(3e-11, se=math.nan) == "0"
