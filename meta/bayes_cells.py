"""The Bayesian pool beside a pooled table's few-study cells (``sarcoma-evidence pool --bayes``).

The few-study defaults (:mod:`meta.few_studies`) give k = 2 a labelled common-effect estimate and
k = 3–4 REML with HKSJ and the ad hoc floor; the Cochrane Handbook (§10.10.4) and Röver et al. (2021,
Res Synth Methods 12:448) offer a Bayesian random-effects pool with a weakly informative prior on τ
for the same cells, on request. :func:`bayes_cells` adds it, from each cell's contributions (one per
trial, as the plan chose them), for cells of k = 2 to ``k_max`` on the log-ratio scale: the
half-normal(0.5) prior on τ is calibrated for log odds, risk and hazard ratios (Friede et al. 2017,
Res Synth Methods 8:79), not for logit proportions or log months, so such cells say so instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from meta.bayes import bayes_pool
from meta.few_studies import few_study_model

__all__ = ["BAYES_COLUMNS", "bayes_cells"]

#: Columns :func:`bayes_cells` adds (the analysis scale, then ``*_exp`` on the reporting scale).
BAYES_COLUMNS = ("bayes_estimate", "bayes_ci_low", "bayes_ci_high", "bayes_pi_low", "bayes_pi_high",
                 "bayes_tau_median", "bayes_estimate_exp", "bayes_ci_low_exp", "bayes_ci_high_exp",
                 "bayes_pi_low_exp", "bayes_pi_high_exp", "bayes_model")


def _one(yi: Any, vi: Any, scale: str, k: int, k_max: int, tau_prior: str, tau_scale: float,
         level: float) -> dict[str, Any]:
    empty = dict.fromkeys(BAYES_COLUMNS[:-1], math.nan)
    if k < 2 or k > k_max:
        return {**empty, "bayes_model": ""}
    if scale != "log":
        return {**empty, "bayes_model": f"not computed: the {tau_prior}({tau_scale:g}) prior on tau is calibrated "
                                        "for log ratios, not for this scale"}
    r = bayes_pool(np.asarray(yi, float), np.asarray(vi, float), tau_prior=tau_prior, tau_scale=tau_scale,
                   level=level)
    vals = {"bayes_estimate": r.estimate, "bayes_ci_low": r.ci_low, "bayes_ci_high": r.ci_high,
            "bayes_pi_low": r.pi_low, "bayes_pi_high": r.pi_high, "bayes_tau_median": r.tau_median}
    vals = {c: float(v) for c, v in vals.items()}
    label = (few_study_model(k, bayes=True).label if (tau_prior, tau_scale) == ("halfnormal", 0.5)
             else f"Bayesian random effects, {tau_prior}({tau_scale:g}) prior on tau (k = {k})")
    return {**vals, **{f"{c}_exp": math.exp(vals[c]) for c in ("bayes_estimate", "bayes_ci_low", "bayes_ci_high",
                                                            "bayes_pi_low", "bayes_pi_high")},
            "bayes_model": label + "; posterior median, equal-tailed credible and predictive intervals"}


def bayes_cells(table: Any, *, k_max: int = 4, tau_prior: str = "halfnormal", tau_scale: float = 0.5,
                level: float | None = None) -> Any:
    """A copy of a :func:`meta.pool_table` result (called with ``studies=True``) with the Bayesian
    random-effects pool (:func:`meta.bayes_pool`, flat prior on μ) of each cell with 2 <= k <= ``k_max``
    on the log-ratio scale, in :data:`BAYES_COLUMNS`; other cells get NaN and a ``bayes_model`` that
    says why. ``level`` defaults to each cell's own.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"k": [2], "scale": ["log"], "level": [0.95], "yi": [[-0.3, -0.1]], "vi": [[0.02, 0.03]]})
    >>> round(float(bayes_cells(t).loc[0, "bayes_estimate_exp"]), 2)
    0.81
    """
    if "yi" not in table.columns or "vi" not in table.columns:
        raise ValueError("bayes_cells needs each cell's contributions: call pool_table(..., studies=True)")
    if isinstance(k_max, bool) or not isinstance(k_max, int) or k_max < 2:
        raise ValueError(f"Invalid k_max {k_max!r}; must be an integer >= 2")
    out = table.copy()
    rows = [_one(r["yi"], r["vi"], str(r["scale"]), int(r["k"]), k_max, tau_prior, tau_scale,
                 float(level if level is not None else r.get("level", 0.95)))
            for r in table[["yi", "vi", "scale", "k", *(["level"] if "level" in table.columns else [])]]
            .to_dict("records")]  # fmt: skip
    for c in BAYES_COLUMNS:
        out[c] = [row[c] for row in rows]
    out.attrs = dict(table.attrs)
    return out
