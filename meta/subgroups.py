"""Test for subgroup differences (between-subgroup heterogeneity).

Each subgroup is pooled on its own, with its own τ² (:func:`meta.pooling.pool`); the subgroup
estimates are then compared with a fixed-effect Cochran Q, weights ``1/se²``:
``Q_between = Σ_g (θ̂_g − θ̄)² / se_g²`` on G − 1 df. This is R meta's ``test.subgroup`` for
separate τ² per subgroup and RevMan's "test for subgroup differences" (Borenstein M, Hedges LV,
Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis, ch. 19, "separate estimates of τ²").
The reference values are computed with metafor: ``rma`` per subgroup, then
``rma(est, sei=se, method="FE")$QE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from meta._checks import METHODS, TESTS, check_choice, check_level, check_yi_vi
from meta.pooling import pool

__all__ = ["SubgroupResult", "subgroup_test"]

MAXITER = 1000  # as the reference values: metafor control=list(threshold=1e-10, maxiter=1000)


@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """Result of :func:`subgroup_test`; ``groups`` is the per-subgroup table."""

    q_between: float
    df: int
    p_value: float
    groups: pd.DataFrame = field(repr=False)
    method: str
    test: str
    level: float
    k: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary; ``groups`` becomes a list of row dicts."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "groups"}
        out["groups"] = self.groups.to_dict(orient="records")
        return out

    def __str__(self) -> str:
        lines = [f"Test for subgroup differences (random effects within subgroups; {self.method}, "
                 f"test = {self.test}; k = {self.k})",
                 f"Q_between = {self.q_between:.4f}, df = {self.df}, p = {self.p_value:.4g}", ""]
        g = self.groups
        lines.append(f"{'group':<20} {'k':>4} {'estimate':>10} {'se':>8} {'ci.lb':>9} {'ci.ub':>9} "
                     f"{'tau2':>8} {'I2':>7}")
        for row in g.itertuples(index=False):
            lines.append(f"{row.group!s:<20.20} {row.k:>4d} {row.estimate:10.4f} {row.se:8.4f} "
                         f"{row.ci_low:9.4f} {row.ci_high:9.4f} {row.tau2:8.4f} {row.i2:7.2f}")
        return "\n".join(lines)


def _levels(g: pd.Series) -> list[Any]:
    if isinstance(g.dtype, pd.CategoricalDtype):
        return [lv for lv in g.cat.categories if (g == lv).any()]
    uniq = list(pd.unique(g))
    try:
        return sorted(uniq)  # as R: factor levels are sorted
    except TypeError:  # mixed, unorderable labels: order of first appearance
        return uniq


def subgroup_test(yi: ArrayLike, vi: ArrayLike, groups: ArrayLike, method: str = "REML", test: str = "z",
                  level: float = 0.95) -> SubgroupResult:
    """Test for subgroup differences with a separate τ² in each subgroup.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances.
    groups : array_like, shape (k,)
        Subgroup label of each study (at least two distinct labels, no missing values).
    method, test, level
        As :func:`meta.pooling.pool`, used within each subgroup. A subgroup with one study contributes
        its own estimate and variance (z-based CI, τ² = 0, I² = 0, as metafor's k = 1 fit).

    Returns
    -------
    SubgroupResult
        ``q_between``, ``df`` (= number of subgroups − 1), ``p_value`` (χ²), and ``groups``: a DataFrame
        with group, k, estimate, se, ci_low, ci_high, tau2, i2 (percent).

    Examples
    --------
    >>> res = subgroup_test([0.1, 0.2, 0.15, 0.8, 0.9, 0.7], [0.01, 0.02, 0.015, 0.01, 0.02, 0.03],
    ...                     ["a", "a", "a", "b", "b", "b"], method="DL")
    >>> res.df, bool(res.p_value < 0.001)
    (1, True)
    """
    check_choice(method, METHODS, "method")
    check_choice(test, TESTS, "test")
    lv = check_level(level)
    y, v = check_yi_vi(yi, vi)
    g = pd.Series(groups) if not isinstance(groups, pd.Series) else groups.reset_index(drop=True)
    if len(g) != y.size:
        raise ValueError(f"groups has {len(g)} entries but there are {y.size} studies")
    if g.isna().any():
        raise ValueError(f"groups[{int(np.flatnonzero(g.isna().to_numpy())[0])}] is missing: every study "
                         "needs a subgroup label")
    levels = _levels(g)
    if len(levels) < 2:
        raise ValueError(f"A subgroup test needs at least 2 subgroups; got {len(levels)}")
    rows = []
    crit = stats.norm.isf((1 - lv) / 2)
    for label in levels:
        sel = (g == label).to_numpy()
        if sel.sum() == 1:  # metafor: k = 1 -> the study itself, test="z", tau² = 0, I² = 0
            est, se = float(y[sel][0]), float(np.sqrt(v[sel][0]))
            rows.append((label, 1, est, se, est - crit * se, est + crit * se, 0.0, 0.0))
            continue
        r = pool(y[sel], v[sel], method=method, test=test, level=lv, maxiter=MAXITER)
        rows.append((label, r.k, r.estimate, r.se, r.ci_low, r.ci_high, r.tau2, r.i2))
    table = pd.DataFrame(rows, columns=["group", "k", "estimate", "se", "ci_low", "ci_high", "tau2", "i2"])
    w = 1.0 / table["se"].to_numpy() ** 2
    est = table["estimate"].to_numpy()
    q = float(np.sum(w * (est - np.sum(w * est) / np.sum(w)) ** 2))  # Cochran's Q across subgroups
    df = len(levels) - 1
    return SubgroupResult(q_between=q, df=df, p_value=float(stats.chi2.sf(q, df)), groups=table,
                          method=method, test=test, level=lv, k=int(y.size))
