"""Small-study effects and publication bias: Egger's test, Begg's rank test, trim-and-fill.

Each function reproduces metafor 3.8 (``regtest(model="lm")``, ``ranktest``, ``trimfill``) on the
same inputs. References:

- Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a simple,
  graphical test. BMJ 315:629-634.
- Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for publication
  bias. Biometrics 50:1088-1101.
- Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and adjusting
  for publication bias in meta-analysis. Biometrics 56:455-463.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np
from scipy import stats

from meta._checks import METHODS, check_choice, check_yi_vi
from meta.few_studies import warn_few_studies
from meta.pooling import pool
from meta.regression import meta_regression

MAXITER = 1000  # as the reference values: metafor control=list(threshold=1e-10, maxiter=1000)

__all__ = ["BeggResult", "EggerResult", "TrimFillResult", "begg_test", "egger_test", "trim_and_fill"]


def _to_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj.__dataclass_fields__:
        value = getattr(obj, name)
        out[name] = value.tolist() if isinstance(value, np.ndarray) else value
    return out


@dataclass(frozen=True)
class EggerResult:
    """Egger's regression test (metafor ``regtest(model="lm")`` fields: zval, pval, dfs, est, ci.lb, ci.ub)."""

    stat: float  # t statistic of the slope on sei (metafor ``zval``)
    p_value: float
    df: int  # k − 2
    slope: float  # coefficient of sei
    slope_se: float
    intercept: float  # the limit estimate (effect as sei → 0; metafor ``est``)
    intercept_se: float
    ci_low: float  # CI of the limit estimate (t on k − 2 df)
    ci_high: float
    k: int

    @property
    def est(self) -> float:
        """The limit estimate (metafor's name)."""
        return self.intercept

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary of every field."""
        return _to_dict(self)

    def __str__(self) -> str:
        return (f"Egger's regression test for funnel plot asymmetry (weighted lm, predictor sei; k = {self.k})\n"
                f"t = {self.stat:.4f}, df = {self.df}, p = {self.p_value:.4g}\n"
                f"Limit estimate (as sei -> 0): b = {self.intercept:.4f} "
                f"(CI: {self.ci_low:.4f}, {self.ci_high:.4f})")


def egger_test(yi: Any, vi: Any, level: float = 0.95) -> EggerResult:
    """Egger's regression test, as metafor ``regtest(yi, vi, model="lm")``.

    Weighted least squares of ``yi`` on ``1`` and ``sei = sqrt(vi)`` with weights ``1/vi`` and a
    multiplicative dispersion (R ``lm(yi ~ sei, weights=1/vi)``); the slope is tested with t on k − 2 df.
    This equals Egger et al.'s (1997) regression of yi/sei on 1/sei, intercept and slope swapped.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances; k >= 3.
    level : float
        Confidence level of the limit-estimate interval.

    Returns
    -------
    EggerResult

    Warns
    -----
    FewStudiesWarning
        Below 10 studies (Cochrane Handbook §13.3.5.4); the numbers are still returned.

    Examples
    --------
    >>> yi = [0.1, 0.3, 0.35, 0.6, 0.2, 0.5, 0.15, 0.45, 0.25, 0.4]
    >>> res = egger_test(yi, [0.01, 0.04, 0.05, 0.1, 0.02, 0.08, 0.015, 0.07, 0.03, 0.06])
    >>> res.df
    8
    """
    y, v = check_yi_vi(yi, vi)
    k = y.size
    if k < 3:
        raise ValueError(f"Egger's test needs at least 3 studies (k - 2 residual df); got k = {k}")
    warn_few_studies("Egger's test", k)
    sei = np.sqrt(v)
    X = np.column_stack([np.ones(k), sei])
    w = 1.0 / v
    xtwx = X.T @ (X * w[:, None])
    if np.linalg.matrix_rank(xtwx) < 2:
        raise ValueError("Egger's test: all sampling variances are equal, so sei cannot be a predictor")
    beta = np.linalg.solve(xtwx, X.T @ (w * y))
    df = k - 2
    sigma2 = float(np.sum(w * (y - X @ beta) ** 2)) / df  # residual variance of the weighted lm
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(xtwx)))
    stat = float(beta[1] / se[1])
    crit = float(stats.t.isf((1 - level) / 2, df))
    return EggerResult(
        stat=stat, p_value=float(2 * stats.t.sf(abs(stat), df)), df=df, slope=float(beta[1]),
        slope_se=float(se[1]), intercept=float(beta[0]), intercept_se=float(se[0]),
        ci_low=float(beta[0] - crit * se[0]), ci_high=float(beta[0] + crit * se[0]), k=k,
    )


@dataclass(frozen=True)
class BeggResult:
    """Begg & Mazumdar's rank correlation test (metafor ``ranktest``: tau, pval)."""

    tau: float  # Kendall's tau-b between standardized effects and vi
    p_value: float
    exact: bool  # exact permutation p-value (no ties) or the normal approximation
    k: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary of every field."""
        return _to_dict(self)

    def __str__(self) -> str:
        how = "exact" if self.exact else "normal approximation (ties)"
        return (f"Rank correlation test for funnel plot asymmetry (k = {self.k})\n"
                f"Kendall's tau = {self.tau:.4f}, p = {self.p_value:.4g} ({how})")


def _kendall_tau_b(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Kendall's tau-b and S (concordant − discordant pairs), as R ``cor(method="kendall")``."""
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    s = float(np.sum(np.triu(sx * sy, 1)))
    n0 = x.size * (x.size - 1) / 2
    n1 = float(np.sum(np.triu(sx == 0, 1)))
    n2 = float(np.sum(np.triu(sy == 0, 1)))
    return s / np.sqrt((n0 - n1) * (n0 - n2)), s


def _pkendall(q: int, n: int) -> float:
    """P(T <= q) for T = number of concordant pairs among n untied pairs (R's C ``pkendall``).

    T has the Mahonian distribution (inversions of a random permutation); counted exactly in integers.
    """
    counts = [1]
    for m in range(2, n + 1):  # inserting element m adds 0..m−1 inversions: a moving sum of width m
        prefix = [0, *accumulate(counts)]
        size = len(counts) + m - 1
        counts = [prefix[min(i, len(counts) - 1) + 1] - prefix[max(0, i - m + 1)] for i in range(size)]
    if q < 0:
        return 0.0
    total = sum(counts)
    return min(1.0, sum(counts[: q + 1]) / total)


def begg_test(yi: Any, vi: Any) -> BeggResult:
    """Begg & Mazumdar's rank correlation test, as metafor ``ranktest(yi, vi)``.

    Kendall's tau between the standardized effects ``(yi − θ_FE)/sqrt(vi − 1/Σw)`` and ``vi``.
    metafor 3.8 calls ``cor.test(..., method="kendall", exact=TRUE)``: the p-value is exact for any k
    when there are no ties, else R's tie-corrected normal approximation (R then warns; we record
    ``exact=False`` instead).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances; k >= 3.

    Returns
    -------
    BeggResult

    Warns
    -----
    FewStudiesWarning
        Below 10 studies (Cochrane Handbook §13.3.5.4).

    Examples
    --------
    >>> res = begg_test([0.1, 0.3, 0.35, 0.6, 0.2, 0.5, 0.15, 0.45, 0.25, 0.4],
    ...                 [0.01, 0.04, 0.05, 0.1, 0.02, 0.08, 0.015, 0.07, 0.03, 0.06])
    >>> round(res.tau, 4)
    1.0
    """
    y, v = check_yi_vi(yi, vi)
    k = y.size
    if k < 3:
        raise ValueError(f"Begg's test needs at least 3 studies; got k = {k}")
    warn_few_studies("Begg's test", k)
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    ystar = (y - theta) / np.sqrt(v - 1.0 / np.sum(w))  # Begg & Mazumdar 1994, eq. 1
    tau, s = _kendall_tau_b(ystar, v)
    ties = min(np.unique(ystar).size, np.unique(v).size) < k
    if not ties:
        q = round((tau + 1) * k * (k - 1) / 4)  # concordant pairs, as R cor.test
        if q > k * (k - 1) / 4:
            pv = 1.0 - _pkendall(q - 1, k)
        else:
            pv = _pkendall(q, k)
        p_value = min(2 * pv, 1.0)
    else:  # R cor.test: tie-corrected variance of S, no continuity correction
        _, cx = np.unique(ystar, return_counts=True)
        _, cy = np.unique(v, return_counts=True)
        n = k
        var_s = ((n * (n - 1) * (2 * n + 5) - np.sum(cx * (cx - 1) * (2 * cx + 5))
                  - np.sum(cy * (cy - 1) * (2 * cy + 5))) / 18
                 + np.sum(cx * (cx - 1)) * np.sum(cy * (cy - 1)) / (2 * n * (n - 1))
                 + np.sum(cx * (cx - 1) * (cx - 2)) * np.sum(cy * (cy - 1) * (cy - 2))
                 / (9 * n * (n - 1) * (n - 2)))
        z = s / np.sqrt(var_s)
        p_value = float(2 * min(stats.norm.cdf(z), stats.norm.sf(z)))
    return BeggResult(tau=float(tau), p_value=float(p_value), exact=not ties, k=k)


@dataclass(frozen=True, eq=False)
class TrimFillResult:
    """Trim-and-fill result (metafor ``trimfill``: k0, se.k0, side, and the model on the filled data)."""

    k0: int
    se_k0: float
    p_k0: float  # R0 only (NaN for L0), as metafor
    side: str  # side on which studies were missing: "left" or "right"
    estimator: str
    estimate: float
    se: float
    stat: float
    ci_low: float
    ci_high: float
    p_value: float
    tau2: float
    q: float
    q_p: float
    i2: float
    yi: np.ndarray  # observed then filled effects
    vi: np.ndarray
    filled: np.ndarray  # True for the imputed studies
    method: str
    k: int  # observed studies

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary of every field (arrays become lists)."""
        return _to_dict(self)

    def __str__(self) -> str:
        return (f"Trim-and-fill ({self.estimator}; {self.method}): {self.k0} studies imputed on the "
                f"{self.side} side (SE of k0 = {self.se_k0:.4f})\n"
                f"Filled-data estimate = {self.estimate:.4f} (SE {self.se:.4f}; CI {self.ci_low:.4f}, "
                f"{self.ci_high:.4f}; p = {self.p_value:.4g}); tau^2 = {self.tau2:.4f}")


def trim_and_fill(yi: Any, vi: Any, method: str = "REML", estimator: str = "L0",
                  side: str | None = None, maxiter: int = 100) -> TrimFillResult:
    """Duval & Tweedie's trim-and-fill, as metafor ``trimfill(rma(yi, vi, method=method))``.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances.
    method : str
        τ² estimator used for every (re)fit, as the model's method in metafor.
    estimator : {"L0", "R0"}
        Estimator of the number of missing studies k0 (Duval & Tweedie 2000).
    side : {"left", "right"}, optional
        Side where studies are missing. Default as metafor: fit ``rma(yi, vi, mods=sqrt(vi), method)``;
        a negative slope means "right", otherwise "left".
    maxiter : int
        Iterations of the trim step before giving up (metafor's default, 100).

    Returns
    -------
    TrimFillResult
        ``k0``, ``side``, the random-effects model on observed + filled data (z-test: metafor's
        ``trimfill`` refits without passing ``test``), and the filled ``yi``/``vi`` with a ``filled`` mask.

    Warns
    -----
    FewStudiesWarning
        Below 10 studies (Cochrane Handbook §13.3.5.4).

    Examples
    --------
    >>> res = trim_and_fill([0.1, 0.3, 0.35, 0.6, 0.2, 0.5, 0.15, 0.45, 0.25, 0.4],
    ...                     [0.01, 0.04, 0.05, 0.1, 0.02, 0.08, 0.015, 0.07, 0.03, 0.06], method="DL")
    >>> res.side
    'left'
    """
    check_choice(method, METHODS, "method")
    check_choice(estimator, ("L0", "R0"), "estimator")
    y0, v0 = check_yi_vi(yi, vi)
    k = y0.size
    if k < 2:
        raise ValueError(f"Trim-and-fill needs at least 2 studies; got k = {k}")
    warn_few_studies("Trim-and-fill", k)
    if side is None:
        slope = meta_regression(y0, v0, np.sqrt(v0), method=method).coef[1]
        side = "right" if slope < 0 else "left"
    check_choice(side, ("left", "right"), "side")

    y = -y0 if side == "right" else y0.copy()  # work as if missing on the left
    ix = np.argsort(y, kind="stable")  # R sort(index.return=TRUE) is a stable radix sort
    y, v = y[ix], v0[ix]
    k0, k0_prev, it = 0, -1, 0
    se_k0 = float("nan")
    beta = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise RuntimeError(f"Trim-and-fill did not converge in {maxiter} iterations")
        if k - k0 < 1:
            raise RuntimeError(f"Trim-and-fill: k0 = {k0} leaves no study to refit (k = {k})")
        if k - k0 == 1:
            # metafor refits rma.uni on the single remaining study: β = ((1/sqrt(w))² w) y, which differs
            # from y in the last bit. That noise decides sign(y₁ − β) and so the ranks below; we follow
            # it to the bit (metafor's surprise, not ours: e.g. se.k0 changes with it).
            w1 = 1.0 / v[0]
            beta = float(((1.0 / np.sqrt(w1)) ** 2 * w1) * y[0])
        else:
            beta = pool(y[: k - k0], v[: k - k0], method=method, maxiter=MAXITER, profile_check=False).estimate
        yc = y - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)  # rank(ties="first")
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            neg = signed[signed < 0]
            if neg.size == 0:
                raise ValueError("Trim-and-fill (R0): no study lies below the trimmed estimate")
            k0_est = k - np.max(-neg) - 1  # Duval & Tweedie 2000, R0 = γ* − 1
            se_k0 = float(np.sqrt(2 * max(0.0, k0_est) + 2))
        else:
            sr = float(np.sum(signed[signed > 0]))  # Wilcoxon statistic
            k0_est = (4 * sr - k * (k + 1)) / (2 * k - 1)  # Duval & Tweedie 2000, L0
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0_est**3 + 27 * k0_est**2 + 17 * k0_est
                      - 18 * k * k0_est**2 - 18 * k * k0_est + 6 * k**2 * k0_est) / 24
            se_k0 = float(4 * np.sqrt(var_sr) / (2 * k - 1)) if var_sr >= 0 else float("nan")
        k0 = int(max(0, np.round(k0_est)))  # R round() and np.round both send halves to even
        se_k0 = max(0.0, se_k0)

    if k0 > 0:
        fill = 2 * beta - y[k - k0:]  # mirror the k0 most extreme around the trimmed estimate
        if side == "right":
            fill = -fill
        y_all = np.concatenate([y0, fill])
        v_all = np.concatenate([v0, v[k - k0:]])
    else:
        y_all, v_all = y0.copy(), v0.copy()
    res = pool(y_all, v_all, method=method, test="z", maxiter=MAXITER, profile_check=False)
    p_k0 = float("nan")
    if estimator == "R0":  # metafor: P(R0 >= k0) under no asymmetry
        m = np.arange(-1, k0)
        p_k0 = float(1 - np.sum(0.5 ** (m + 2)))  # choose(m + 1, m + 1) = 1 in metafor's sum
    return TrimFillResult(
        k0=k0, se_k0=float(se_k0), p_k0=p_k0, side=side, estimator=estimator, estimate=res.estimate,
        se=res.se, stat=res.stat, ci_low=res.ci_low, ci_high=res.ci_high, p_value=res.p_value,
        tau2=res.tau2, q=res.q, q_p=res.q_p, i2=res.i2, yi=y_all, vi=v_all,
        filled=np.r_[np.zeros(k, bool), np.ones(k0, bool)], method=method, k=k,
    )

