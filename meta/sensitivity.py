"""Sensitivity analyses: leave-one-out, cumulative meta-analysis and case-deletion diagnostics.

Each function reproduces metafor 3.8 (``leave1out``, ``cumul``, ``influence.rma.uni``) for the
random-effects model without moderators; the refits are done by :func:`meta.pooling.pool_many`, the
vectorised form of :func:`meta.pooling.pool` (one cell per refit). References:

- Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for meta-analysis. Res Synth
  Methods 1:112-125 (the case-deletion diagnostics of :func:`influence`).
- Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic trials for
  myocardial infarction. N Engl J Med 327:248-254.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from meta._checks import METHODS, TESTS, check_choice, check_level, check_yi_vi
from meta.pooling import pool, pool_many

__all__ = ["cumulative", "influence", "leave_one_out"]

MAXITER = 1000  # as the reference values: metafor control=list(threshold=1e-10, maxiter=1000)
_COLUMNS = ("estimate", "se", "stat", "p_value", "ci_low", "ci_high", "q", "q_p", "tau2", "i2", "h2")


def _labels(labels: Any, k: int) -> pd.Index:
    if labels is None:
        return pd.RangeIndex(k, name="study")
    idx = pd.Index(list(labels), name="study")
    if len(idx) != k:
        raise ValueError(f"labels has {len(idx)} entries but there are {k} studies")
    return idx


def _fit_cells(Y: NDArray[np.float64], V: NDArray[np.float64], M: NDArray[np.bool_], method: str,
               test: str, level: float) -> dict[str, NDArray[np.float64]]:
    """Random-effects fit of every row (cell) of the padded arrays, metafor's values for k = 1 cells.

    metafor's ``rma.uni`` with k = 1 switches to ``test="z"`` and reports τ² = 0, Q = 0, p(Q) = 1,
    I² = 0 and H² = 1 (its ``k > p`` branch); :func:`pool_many` leaves those undefined, so k = 1 cells
    are filled here.
    """
    n = Y.shape[0]
    out = {c: np.full(n, np.nan) for c in _COLUMNS}
    k = M.sum(axis=1)
    multi = np.flatnonzero(k >= 2)
    if multi.size:
        # metafor-exact refits (its local maxima included): see profile_check in meta.pooling.pool_many
        r = pool_many(Y[multi], V[multi], M[multi], method, test, level, pi="z", maxiter=MAXITER,
                      profile_check=False, _stacklevel=4)
        for c in _COLUMNS:
            out[c][multi] = getattr(r, c)
    single = np.flatnonzero(k == 1)
    if single.size:
        col = M[single].argmax(axis=1)
        y, v = Y[single, col], V[single, col]
        se = np.sqrt(v)
        crit = stats.norm.isf((1 - level) / 2)
        for c, val in (("estimate", y), ("se", se), ("stat", y / se), ("p_value", 2 * stats.norm.sf(np.abs(y / se))),
                       ("ci_low", y - crit * se), ("ci_high", y + crit * se), ("q", 0.0), ("q_p", 1.0),
                       ("tau2", 0.0), ("i2", 0.0), ("h2", 1.0)):
            out[c][single] = val
    return out


def _loo_fits(y: NDArray[np.float64], v: NDArray[np.float64], method: str, test: str,
              level: float) -> dict[str, NDArray[np.float64]]:
    k = y.size
    keep = ~np.eye(k, dtype=bool)
    Y = y[None, :].repeat(k, 0)[keep].reshape(k, k - 1)
    V = v[None, :].repeat(k, 0)[keep].reshape(k, k - 1)
    return _fit_cells(Y, V, np.ones((k, k - 1), dtype=bool), method, test, level)


def _validate(yi: ArrayLike, vi: ArrayLike, method: str, test: str, level: float,
              what: str) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    check_choice(method, METHODS, "method")
    check_choice(test, TESTS, "test")
    lv = check_level(level)
    y, v = check_yi_vi(yi, vi)
    if y.size < 2:
        raise ValueError(f"{what} needs at least 2 studies; got k = {y.size}")
    return y, v, lv


def leave_one_out(yi: ArrayLike, vi: ArrayLike, method: str = "REML", test: str = "z",
                  labels: Any = None, level: float = 0.95) -> pd.DataFrame:
    """Leave-one-out meta-analyses, as metafor ``leave1out(rma(yi, vi, method=, test=))``.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances; k >= 2.
    method, test, level
        As :func:`meta.pooling.pool`.
    labels : sequence, optional
        Study labels for the index (default 0..k−1).

    Returns
    -------
    DataFrame
        One row per omitted study: estimate, se, stat, p_value, ci_low, ci_high, q, q_p, tau2, i2, h2
        of the model fitted to the other k − 1 studies.

    Examples
    --------
    >>> df = leave_one_out([0.1, 0.3, 0.35, 0.6], [0.01, 0.04, 0.05, 0.1], method="DL")
    >>> df.shape
    (4, 11)
    """
    y, v, lv = _validate(yi, vi, method, test, level, "Leave-one-out")
    out = _loo_fits(y, v, method, test, lv)
    return pd.DataFrame(out, index=_labels(labels, y.size).rename("omitted"))


def cumulative(yi: ArrayLike, vi: ArrayLike, method: str = "REML", test: str = "z", order: Any = None,
               labels: Any = None, level: float = 0.95) -> pd.DataFrame:
    """Cumulative meta-analysis, as metafor ``cumul(rma(yi, vi, method=, test=), order=order)``.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances.
    method, test, level
        As :func:`meta.pooling.pool`.
    order : array_like, shape (k,), optional
        Sort key (e.g. publication year); studies are added in increasing order, ties kept in input
        order (R ``order()`` is stable). Default: the input order.
    labels : sequence, optional
        Study labels; the index holds the label of the study added at each step.

    Returns
    -------
    DataFrame
        Row j is the model fitted to the first j + 1 studies: estimate, se, stat, p_value, ci_low,
        ci_high, q, q_p, tau2, i2, h2, and ``k``. The first row (k = 1) is the study itself with a
        z-test (metafor switches to ``test="z"`` when k = 1), τ² = 0, Q = 0, I² = 0, H² = 1.

    Examples
    --------
    >>> df = cumulative([0.1, 0.3, 0.35], [0.01, 0.04, 0.05], method="DL", order=[2001, 1999, 2005])
    >>> df["k"].tolist()
    [1, 2, 3]
    """
    check_choice(method, METHODS, "method")
    check_choice(test, TESTS, "test")
    lv = check_level(level)
    y, v = check_yi_vi(yi, vi)
    k = y.size
    idx = _labels(labels, k)
    if order is None:
        perm = np.arange(k)
    else:
        key = pd.Series(np.asarray(order))
        if len(key) != k:
            raise ValueError(f"order has {len(key)} entries but there are {k} studies")
        if key.isna().any():
            raise ValueError("order has missing values")
        perm = np.argsort(key.to_numpy(), kind="stable")
    y, v = y[perm], v[perm]
    M = np.tri(k, dtype=bool)  # row j holds the first j + 1 studies
    out = _fit_cells(np.where(M, y, 0.0), np.where(M, v, 1.0), M, method, test, lv)
    df = pd.DataFrame(out, index=idx[perm].rename("added"))
    df["k"] = np.arange(1, k + 1)
    return df


def influence(yi: ArrayLike, vi: ArrayLike, method: str = "REML", labels: Any = None) -> pd.DataFrame:
    """Case-deletion diagnostics, as metafor ``influence(rma(yi, vi, method=method))`` (z-test model).

    Formulas of metafor's ``influence.rma.uni`` for the model without moderators (p = 1), with
    ``θ̂`` and ``Var(θ̂)`` of the full model and ``θ̂₍ᵢ₎``, ``τ̂²₍ᵢ₎``, ``Var(θ̂₍ᵢ₎)`` of the fit without
    study i (Viechtbauer & Cheung 2010):

    - ``rstudent``: ``(yᵢ − θ̂₍ᵢ₎) / sqrt(vᵢ + τ̂²₍ᵢ₎ + Var(θ̂₍ᵢ₎))``;
    - ``dffits``: ``(θ̂ − θ̂₍ᵢ₎) / sqrt(hᵢ (τ̂²₍ᵢ₎ + vᵢ))`` with the full-model hat value hᵢ;
    - ``cooks_d``: ``(θ̂ − θ̂₍ᵢ₎)² / Var(θ̂)``; ``cov_r``: ``Var(θ̂₍ᵢ₎) / Var(θ̂)``;
    - ``dfbetas``: ``(θ̂ − θ̂₍ᵢ₎) / sqrt(1/Σⱼ 1/(vⱼ + τ̂²₍ᵢ₎))`` (sum over all k studies);
    - ``hat`` = ``weight``/100 = ``wᵢ/Σw``; ``tau2_del``, ``qe_del``: τ² and Q without study i.

    ``influential`` is metafor's rule: ``|dffits| > 3 sqrt(p/(k − p))``, or ``pchisq(cooks_d, p) > 0.5``,
    or ``hat > 3p/k``, or ``|dfbetas| > 1`` (p = 1).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances; k >= 2.
    method : str
        τ² estimator, as :func:`meta.pooling.pool`.
    labels : sequence, optional
        Study labels for the index.

    Returns
    -------
    DataFrame
        Columns rstudent, dffits, cooks_d, cov_r, tau2_del, qe_del, hat, weight (percent), dfbetas,
        influential.

    Examples
    --------
    >>> df = influence([0.1, 0.3, 0.35, 0.6, 1.9], [0.01, 0.04, 0.05, 0.1, 0.02], method="DL")
    >>> bool(df["influential"].iloc[-1])
    True
    """
    y, v, _ = _validate(yi, vi, method, "z", 0.95, "Influence diagnostics")
    k, p = y.size, 1
    full = pool(y, v, method=method, test="z", pi="z", maxiter=MAXITER, profile_check=False)
    vb = full.se**2
    w = 1.0 / (v + full.tau2)
    hat = w / w.sum()
    hat[hat > 1 - 10 * np.finfo(float).eps] = 1.0  # metafor hatvalues.rma.uni
    d = _loo_fits(y, v, method, "z", 0.95)
    beta_del, vb_del, tau2_del = d["estimate"], d["se"] ** 2, d["tau2"]
    dfb = full.estimate - beta_del
    resid = y - beta_del
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0  # metafor zeroes tiny deleted residuals
    rstudent = resid / np.sqrt(v + vb_del + tau2_del)
    dffits = dfb / np.sqrt(hat * (tau2_del + v))
    cooks = dfb**2 / vb
    cov_r = vb_del / vb
    vb_all = 1.0 / np.sum(1.0 / (v[None, :] + tau2_del[:, None]), axis=1)  # all k studies, τ̂²₍ᵢ₎
    dfbetas = dfb / np.sqrt(vb_all)
    infl = ((np.abs(dffits) > 3 * np.sqrt(p / (k - p))) | (stats.chi2.cdf(cooks, p) > 0.5)
            | (hat > 3 * p / k) | (np.abs(dfbetas) > 1))
    return pd.DataFrame(
        {"rstudent": rstudent, "dffits": dffits, "cooks_d": cooks, "cov_r": cov_r, "tau2_del": tau2_del,
         "qe_del": d["q"], "hat": hat, "weight": 100 * w / w.sum(),
         "dfbetas": dfbetas, "influential": infl},
        index=_labels(labels, k),
    )
