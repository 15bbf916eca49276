"""Random-effects pooling: :func:`pool` for one meta-analysis, :func:`pool_many` for many at once.

:func:`pool` is the one-cell case of the vectorised engine :func:`pool_many`, so a single pooled
estimate and a table of thousands of cells run the same code. Every quantity follows metafor 3.8
(``rma.uni`` intercept-only model, ``predict.rma``, ``confint.rma.uni`` type "QP"); where metafor's
definition could surprise a reader it is followed and the comment says so.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from meta._checks import METHODS, TESTS, check_cells, check_choice, check_level, check_yi_vi
from meta.estimators import estimate_tau2, q_stat, solve_q

try:
    __version__ = version("sarcoma-evidence")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0+unknown"

Array = NDArray[np.float64]


@dataclass(frozen=True)
class PoolArrays:
    """Results of :func:`pool_many`: one entry per cell (``weights``: one row per cell, NaN padded)."""

    estimate: Array
    se: Array
    ci_low: Array
    ci_high: Array
    stat: Array
    p_value: Array
    tau2: Array
    tau2_ci_low: Array
    tau2_ci_high: Array
    i2: Array
    h2: Array
    q: Array
    q_df: Array
    q_p: Array
    pi_low: Array
    pi_high: Array
    weights: Array
    converged: NDArray[np.bool_]
    k: NDArray[np.int64]
    method: str
    test: str
    level: float


def pool_many(
    Y: ArrayLike,
    V: ArrayLike,
    M: ArrayLike,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    threshold: float = 1e-10,
    maxiter: int = 100,
    stepadj: float = 1.0,
    _stacklevel: int = 2,
) -> PoolArrays:
    """Pool many meta-analyses ("cells") in one vectorised call.

    Parameters
    ----------
    Y, V : array_like, shape (cells, kmax)
        Effects and sampling variances, one row per cell, padded where a cell has fewer studies.
    M : array_like of bool, shape (cells, kmax)
        True where a study is present (k >= 1 per cell).
    method : {"DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"}
        τ² estimator (metafor ``rma(method=)``).
    test : {"z", "knha", "adhoc"}
        Normal test, Hartung–Knapp–Sidik–Jonkman t test, or knha with its scale floored at 1.
    level : float
        Confidence level of the CI, PI and τ² CI.
    threshold, maxiter, stepadj : float, int, float
        Convergence control of the iterative τ² estimators (metafor ``control=``); see
        :func:`meta.estimators.estimate_tau2`.

    Returns
    -------
    PoolArrays

    Warns
    -----
    RuntimeWarning
        When τ² did not converge in some cells (``converged`` is False there) and for k = 1 cells.

    Examples
    --------
    >>> r = pool_many([[0.1, 0.3, 0.5], [1.0, 1.2, 0.0]], [[0.01] * 3, [0.02] * 3],
    ...               [[True] * 3, [True, True, False]], method="DL")
    >>> r.k.tolist(), r.estimate.round(3).tolist()
    ([3, 2], [0.3, 1.1])
    """
    method = check_choice(method, METHODS, "method")
    test = check_choice(test, TESTS, "test")
    lv = check_level(level)
    Yc, Vc, Mc = check_cells(Y, V, M)
    n = Yc.shape[0]
    k = Mc.sum(axis=1)
    kf = k.astype(np.float64)
    multi = k >= 2
    alpha = 1.0 - lv
    df = np.where(multi, kf - 1.0, np.nan)

    est = estimate_tau2(Yc, Vc, Mc, method, threshold=threshold, maxiter=maxiter, stepadj=stepadj)
    tau2 = est.tau2
    # Model fit with w = 1/(v + τ²) (metafor rma.uni, "Model fitting").
    W = np.where(Mc, 1.0 / (Vc + tau2[:, None]), 0.0)
    sw = W.sum(axis=1)
    mu = (W * Yc).sum(axis=1) / sw
    se = np.sqrt(1.0 / sw)
    if test != "z":
        # Hartung & Knapp 2001, Stat Med 20:3875; Sidik & Jonkman 2002, Stat Med 21:3153: scale the
        # variance by s² = Σw(y − μ̂)²/(k − 1). metafor sets s² = 0 when that sum is <= machine eps
        # (a zero SE), and "adhoc" floors s² at 1 (Knapp & Hartung 2003's ad hoc correction).
        rss = (W * np.where(Mc, Yc - mu[:, None], 0.0) ** 2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / (kf - 1.0))
        if test == "adhoc":
            s2w = np.maximum(s2w, 1.0)
        se = np.where(multi, se * np.sqrt(s2w), se)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = mu / se
    if test == "z":
        crit = np.full(n, stats.norm.isf(alpha / 2))
        pval = 2.0 * stats.norm.sf(np.abs(stat))
    else:
        # t with k − 1 df; undefined for k = 1 (metafor reports NA there).
        crit = np.where(multi, stats.t.isf(alpha / 2, np.where(multi, df, 1.0)), np.nan)
        pval = np.where(multi, 2.0 * stats.t.sf(np.abs(stat), np.where(multi, df, 1.0)), np.nan)
    ci_low, ci_high = mu - crit * se, mu + crit * se
    # Prediction interval as metafor predict.rma: μ̂ ± crit·sqrt(SE² + τ²), crit as for the CI.
    half = crit * np.sqrt(se**2 + tau2)
    pi_low = np.where(multi, mu - half, np.nan)
    pi_high = np.where(multi, mu + half, np.nan)

    # Heterogeneity (metafor "Conducting heterogeneity test"): Q with fixed-effect weights w = 1/v.
    W0 = np.where(Mc, 1.0 / Vc, 0.0)
    sw0 = W0.sum(axis=1)
    q = np.where(multi, np.maximum(0.0, q_stat(Yc, Vc, Mc, np.zeros(n))), np.nan)
    q_p = np.where(multi, stats.chi2.sf(q, np.where(multi, df, 1.0)), np.nan)
    # I² and H² via the "typical" within-study variance s² = (k − 1)Σw/((Σw)² − Σw²) for every τ²
    # estimator (Higgins & Thompson 2002, Stat Med 21:1539, eq. 9; metafor i2def "1"). For DL this
    # equals the familiar (Q − df)/Q when positive.
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = (kf - 1.0) * sw0 / (sw0**2 - (W0 * W0).sum(axis=1))
        i2 = np.where(multi, 100.0 * tau2 / (s2 + tau2), np.nan)
        h2 = np.where(multi, tau2 / s2 + 1.0, np.nan)

    t_lo, t_hi, ci_conv = _tau2_qprofile(Yc, Vc, Mc, tau2, df, alpha, multi)
    weights = np.where(Mc, 100.0 * W / sw[:, None], np.nan)

    conv = est.converged & ci_conv
    _warn(est.converged, ci_conv, est.ll_reset, multi, method, maxiter, _stacklevel + 1)
    return PoolArrays(
        estimate=mu, se=se, ci_low=ci_low, ci_high=ci_high, stat=stat, p_value=pval,
        tau2=tau2, tau2_ci_low=t_lo, tau2_ci_high=t_hi, i2=i2, h2=h2, q=q, q_df=df, q_p=q_p,
        pi_low=pi_low, pi_high=pi_high, weights=weights, converged=conv, k=k.astype(np.int64),
        method=method, test=test, level=lv,
    )  # fmt: skip


def _tau2_qprofile(
    Y: Array, V: Array, M: NDArray[np.bool_], tau2: Array, df: Array, alpha: float, multi: NDArray[np.bool_]
) -> tuple[Array, Array, NDArray[np.bool_]]:
    """Q-profile CI for τ² (Viechtbauer 2007, Stat Med 26:37) exactly as metafor confint.rma.uni:
    the lower bound solves Q(τ²) = χ²_{1−α/2}, the upper Q(τ²) = χ²_{α/2}, on [0, max(100, 10τ̂²)];
    a bound whose Q at 0 is already below its target is 0 (so both are 0 when even the upper is),
    and a bound beyond the search interval is reported as its end, as metafor does."""
    lo = np.full(tau2.shape, np.nan)
    hi = np.full(tau2.shape, np.nan)
    conv = np.ones(tau2.shape, dtype=bool)
    sel = np.flatnonzero(multi)
    if sel.size == 0:
        return lo, hi, conv
    d = df[sel]
    upper = np.maximum(100.0, 10.0 * tau2[sel])
    ys, vs, ms = Y[sel], V[sel], M[sel]
    both = np.concatenate
    roots, ok = solve_q(
        both([ys, ys]), both([vs, vs]), both([ms, ms]),
        both([stats.chi2.isf(alpha / 2, d), stats.chi2.ppf(alpha / 2, d)]), both([upper, upper]),
    )  # fmt: skip
    m = sel.size
    lo[sel], hi[sel] = roots[:m], roots[m:]
    conv[sel] = ok[:m] & ok[m:]
    return lo, hi, conv


def _warn(
    tau_conv: NDArray[np.bool_],
    ci_conv: NDArray[np.bool_],
    reset: NDArray[np.bool_],
    multi: NDArray[np.bool_],
    method: str,
    maxiter: int,
    stacklevel: int,
) -> None:
    n = tau_conv.size
    if (~tau_conv).any():
        cells = np.flatnonzero(~tau_conv)
        where = f"cell(s) {cells[:10].tolist()}{' …' if cells.size > 10 else ''} of {n}"
        warnings.warn(
            f"{method} τ² estimate did not converge within maxiter = {maxiter} in {where}; "
            "results flagged converged=False (Fisher scoring may oscillate: try stepadj=0.5)",
            RuntimeWarning, stacklevel=stacklevel,
        )  # fmt: skip
    if (~ci_conv).any():
        warnings.warn(
            f"Q-profile τ² CI search did not converge in {int((~ci_conv).sum())} of {n} cell(s); "
            "flagged converged=False",
            RuntimeWarning, stacklevel=stacklevel,
        )  # fmt: skip
    if reset.any():
        warnings.warn(
            f"{method} Fisher scoring may have stopped at a local maximum in {int(reset.sum())} cell(s); "
            "τ² set to 0 there (as metafor's ll0check)",
            RuntimeWarning, stacklevel=stacklevel,
        )  # fmt: skip
    if (~multi).any():
        warnings.warn(
            f"k = 1 in {int((~multi).sum())} of {n} cell(s): τ² = 0 and no Q-test, I², H², "
            "τ² CI or prediction interval (NaN)",
            RuntimeWarning, stacklevel=stacklevel,
        )  # fmt: skip


def _fmt(x: float, digits: int = 4) -> str:
    return "NA" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    return "NA" if math.isnan(p) else ("<.0001" if p < 1e-4 else f"{p:.4f}")


@dataclass(frozen=True)
class Prediction:
    """Predicted (average) effect with CI and prediction interval (metafor ``predict.rma``)."""

    pred: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    level: float


@dataclass(frozen=True)
class Tau2Interval:
    """Q-profile confidence interval of τ² and τ (metafor ``confint.rma.uni``)."""

    tau2: float
    ci_low: float
    ci_high: float
    tau: float
    tau_ci_low: float
    tau_ci_high: float
    level: float


@dataclass(frozen=True)
class ExpPoolResult:
    """A pooled ratio measure back-transformed with ``exp`` (estimate, CI and PI only)."""

    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    p_value: float
    k: int
    level: float
    method: str
    test: str
    scale: str = "exp"

    def __str__(self) -> str:
        pct = f"{100 * self.level:g}%"
        return (
            f"Pooled ratio (exp scale; k = {self.k}; {self.method}, test = {self.test}): "
            f"{_fmt(self.estimate)} ({pct} CI {_fmt(self.ci_low)} to {_fmt(self.ci_high)}), "
            f"p = {_fmt_p(self.p_value)}; {pct} PI {_fmt(self.pi_low)} to {_fmt(self.pi_high)}"
        )


@dataclass(frozen=True, eq=False)
class PoolResult:
    """Result of :func:`pool` (attributes as DESIGN.md "Python API of meta/"), on the yi scale.

    ``stat`` is metafor's ``zval`` (a t value for knha/adhoc), ``weights`` are percent,
    ``version`` and ``input_sha256`` record the code version and a checksum of (yi, vi).
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    stat: float
    tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    h2: float
    q: float
    q_df: float
    q_p: float
    pi_low: float
    pi_high: float
    weights: NDArray[np.float64] = field(repr=False)
    converged: bool
    k: int
    method: str
    test: str
    level: float
    version: str = __version__
    input_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (NaN becomes None, ``weights`` a list)."""
        out: dict[str, Any] = {}
        for key, val in asdict(self).items():
            if isinstance(val, np.ndarray):
                val = [None if math.isnan(x) else float(x) for x in val]
            elif isinstance(val, float | np.floating):
                val = None if math.isnan(val) else float(val)
            elif isinstance(val, np.bool_ | np.integer):
                val = val.item()
            out[key] = val
        return out

    def exp(self) -> ExpPoolResult:
        """Back-transform estimate, CI and PI with ``exp`` (for log HR / OR / RR)."""
        return ExpPoolResult(
            estimate=math.exp(self.estimate), ci_low=math.exp(self.ci_low), ci_high=math.exp(self.ci_high),
            pi_low=math.exp(self.pi_low), pi_high=math.exp(self.pi_high), p_value=self.p_value,
            k=self.k, level=self.level, method=self.method, test=self.test,
        )  # fmt: skip

    def predict(self) -> Prediction:
        """Average effect with its CI and the prediction interval (metafor ``predict``)."""
        return Prediction(self.estimate, self.se, self.ci_low, self.ci_high, self.pi_low, self.pi_high, self.level)

    def confint(self) -> Tau2Interval:
        """Q-profile CI for τ² and τ (metafor ``confint``)."""
        return Tau2Interval(
            self.tau2, self.tau2_ci_low, self.tau2_ci_high, math.sqrt(self.tau2),
            math.sqrt(self.tau2_ci_low), math.sqrt(self.tau2_ci_high), self.level,
        )  # fmt: skip

    def __str__(self) -> str:
        pct = f"{100 * self.level:g}%"
        sname = "zval" if self.test == "z" else "tval"
        lines = [f"Random-Effects Model (k = {self.k}; tau^2 estimator: {self.method}; test = {self.test})", ""]
        lines.append(
            f"tau^2: {_fmt(self.tau2)} ({pct} CI {_fmt(self.tau2_ci_low)}, {_fmt(self.tau2_ci_high)})"
        )
        lines.append(f"I^2:   {_fmt(self.i2, 2)}%")
        lines.append(f"H^2:   {_fmt(self.h2)}")
        q_df = "NA" if math.isnan(self.q_df) else f"{self.q_df:g}"
        lines += ["", f"Test for Heterogeneity: Q(df = {q_df}) = {_fmt(self.q)}, p-val {_fmt_p(self.q_p)}", ""]
        lines.append(f"{'estimate':>10} {'se':>8} {sname:>8} {'pval':>8} {'ci.lb':>8} {'ci.ub':>8}")
        vals = (self.estimate, self.se, self.stat)
        lines.append(
            f"{_fmt(vals[0]):>10} {_fmt(vals[1]):>8} {_fmt(vals[2]):>8} {_fmt_p(self.p_value):>8} "
            f"{_fmt(self.ci_low):>8} {_fmt(self.ci_high):>8}"
        )
        lines += ["", f"{pct} prediction interval: [{_fmt(self.pi_low)}, {_fmt(self.pi_high)}]"]
        if not self.converged:
            lines.append("WARNING: the τ² estimate did not converge (converged = False).")
        return "\n".join(lines)


def input_checksum(yi: Array, vi: Array) -> str:
    """SHA-256 of the inputs (little-endian float64 bytes of yi, then vi)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(yi, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(vi, dtype="<f8").tobytes())
    return h.hexdigest()


def pool(
    yi: ArrayLike,
    vi: ArrayLike,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    threshold: float = 1e-10,
    maxiter: int = 100,
    stepadj: float = 1.0,
) -> PoolResult:
    """Random-effects meta-analysis of one set of studies (metafor ``rma(yi, vi, method=, test=)``).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effects (e.g. log hazard ratios) and their sampling variances (> 0); k >= 1.
    method : {"DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"}
    test : {"z", "knha", "adhoc"}
    level : float
        Confidence level (0.95, not 95).
    threshold, maxiter, stepadj : float, int, float
        Convergence control of iterative estimators (metafor ``control=list(threshold=, maxiter=,
        stepadj=)``); ``stepadj=0.5`` is metafor's remedy when Fisher scoring oscillates.

    Returns
    -------
    PoolResult

    Warns
    -----
    RuntimeWarning
        If τ² does not converge (``converged=False``) or k = 1.

    Examples
    --------
    >>> res = pool([-0.89, -1.59, -1.35, -1.44, -0.22], [0.33, 0.19, 0.42, 0.02, 0.05], method="DL")
    >>> round(res.estimate, 4), res.k
    (-1.0677, 5)
    >>> round(res.exp().estimate, 3)
    0.344
    """
    y, v = check_yi_vi(yi, vi)
    r = pool_many(
        y[None, :], v[None, :], np.ones((1, y.size), dtype=bool), method, test, level,
        threshold=threshold, maxiter=maxiter, stepadj=stepadj, _stacklevel=3,
    )  # fmt: skip
    scalars = {
        name: float(getattr(r, name)[0])
        for name in ("estimate", "se", "ci_low", "ci_high", "p_value", "stat", "tau2", "tau2_ci_low",
                     "tau2_ci_high", "i2", "h2", "q", "q_df", "q_p", "pi_low", "pi_high")
    }  # fmt: skip
    return PoolResult(
        **scalars, weights=r.weights[0].copy(), converged=bool(r.converged[0]), k=int(r.k[0]),
        method=r.method, test=r.test, level=r.level, input_sha256=input_checksum(y, v),
    )  # fmt: skip
