"""Random-effects and common-effect pooling: :func:`pool` for one meta-analysis, :func:`pool_many`
for many at once.

:func:`pool` is the one-cell case of the vectorised engine :func:`pool_many`, so a single pooled
estimate and a table of thousands of cells run the same code. Every quantity follows metafor 3.8
(``rma.uni`` intercept-only model, ``predict.rma``, ``confint.rma.uni`` type "QP"); where metafor's
definition could surprise a reader it is followed and the comment says so. Departures, each stated
in the result's ``notes``: the default prediction interval uses t(k − 2) (``pi="t"``; ``pi="z"`` is
metafor's), a knha SE of exactly 0 is refused (the ad hoc floor is used instead), and REML/ML report
the global maximum of the likelihood profile where Fisher scoring stopped at a local one.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from meta._checks import METHODS, TESTS, check_cells, check_choice, check_level, check_yi_vi
from meta.estimators import Tau2Estimate, estimate_tau2, q_stat, solve_q
from meta.pool_result import ExpPoolResult, PoolResult, Prediction, Tau2Interval

try:
    __version__ = version("sarcoma-evidence")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["PI_TYPES", "POOL_METHODS", "ExpPoolResult", "PoolArrays", "PoolResult", "Prediction",
           "Tau2Interval", "pool", "pool_many"]

Array = NDArray[np.float64]
#: Models accepted by :func:`pool`: the common-effect model "FE" (metafor ``method="FE"``) and the τ² estimators.
POOL_METHODS: tuple[str, ...] = ("FE", *METHODS)
#: Prediction-interval types: "t" = t(k − 2) (Higgins, Thompson & Spiegelhalter 2009, JRSS A 172:137,
#: eq. 12; none for k < 3); "z" = metafor ``predict()`` (the CI's critical value, for comparison).
PI_TYPES: tuple[str, ...] = ("t", "z")


@dataclass(frozen=True)
class PoolArrays:
    """Results of :func:`pool_many`: one entry per cell (``weights``: one row per cell, NaN padded).

    Besides the fields of :class:`PoolResult`: ``hksj_s2`` is the Hartung–Knapp scale s² before any
    floor (NaN for test "z" and k = 1), ``hksj_floored`` marks cells where s² was raised to 1 (the
    ad hoc floor, or knha refusing an SE of 0), ``hksj_zero`` cells where knha's SE would be 0,
    ``z_fallback`` k = 1 cells where knha/adhoc fell back to z (as metafor), ``profile_moved`` cells
    where the likelihood profile check replaced a local maximum, ``tau2_ci_low_sign`` /
    ``tau2_ci_high_sign`` metafor's "<" / ">" bound markers. :meth:`notes` says it in words.
    """

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
    pi: str = "t"
    hksj_s2: Array | None = None
    hksj_floored: NDArray[np.bool_] | None = None
    hksj_zero: NDArray[np.bool_] | None = None
    z_fallback: NDArray[np.bool_] | None = None
    profile_moved: NDArray[np.bool_] | None = None
    tau2_local: Array | None = None
    retried: NDArray[np.bool_] | None = None
    tau2_ci_low_sign: NDArray[np.str_] | None = None
    tau2_ci_high_sign: NDArray[np.str_] | None = None

    def notes(self, i: int) -> tuple[str, ...]:
        """Plain-words notes for cell ``i`` (empty when nothing departs from the plain recipe)."""
        return tuple(self.notes_many(np.array([i]))[0])

    def notes_many(self, cells: NDArray[np.int64]) -> list[list[str]]:
        """:meth:`notes` of each cell in ``cells``, found rule by rule on whole columns (one list per cell)."""
        idx = np.asarray(cells, dtype=np.int64)
        out: list[list[str]] = [[] for _ in range(idx.size)]
        none = np.zeros(idx.size, dtype=bool)

        def col(arr: NDArray | None) -> NDArray:  # a per-cell flag column at ``cells`` (all False when absent)
            return none if arr is None else np.asarray(arr)[idx]

        def add(mask: NDArray[np.bool_], text: str | Callable[[int], str]) -> None:  # append where mask holds
            for p in np.flatnonzero(mask).tolist():
                out[p].append(text if isinstance(text, str) else text(p))

        if self.method == "FE":
            add(~none, "common-effect model: τ² fixed at 0, no prediction interval")
            if self.test != "z":
                add(~none, "knha/adhoc with a common-effect model (metafor warns it is not meant for FE)")
        add(col(self.z_fallback), f"k = 1: test = {self.test} falls back to z (as metafor)")
        if self.hksj_s2 is not None:
            s2 = np.asarray(self.hksj_s2, dtype=float)[idx]
            s2s = s2.tolist()
            has = ~np.isnan(s2)
            zero = has & col(self.hksj_zero)
            low = has & ~zero & (s2 < 1)  # the first rule that applies, as in the scalar form
            add(zero, "identical estimates: the HKSJ scale s² is 0 and knha's SE would be 0; "
                      "the ad hoc floor s² = 1 is used instead (Knapp & Hartung 2003)")
            if self.test == "adhoc":
                add(low, lambda p: f"ad hoc floor applied: HKSJ s² = {s2s[p]:.4g} < 1 (Q(τ̂²) < k − 1) raised to 1, "
                                   "so the CI is no narrower than the z-based one (Knapp & Hartung 2003; Röver et al. "
                                   "2015)")
            elif self.test == "knha":
                add(low, lambda p: f"HKSJ s² = {s2s[p]:.4g} < 1 (Q(τ̂²) < k − 1): this knha CI is narrower than the "
                                   "z-based one; test='adhoc' floors s² at 1 (Knapp & Hartung 2003)")
        if self.pi == "t" and self.method != "FE":
            add(np.asarray(self.k)[idx] < 3, "no prediction interval for k < 3 (t with k − 2 df; Higgins et al. 2009)")
        conv = np.asarray(self.converged)[idx].tolist()
        add(col(self.retried), lambda p: f"τ² {'converged' if conv[p] else 'still did not converge'} on a retry "
                                         "with stepadj = 0.5 and a larger maxiter (metafor's remedies)")
        if self.tau2_local is not None:
            local, tau2 = np.asarray(self.tau2_local)[idx].tolist(), np.asarray(self.tau2)[idx].tolist()
            add(col(self.profile_moved), lambda p: f"{self.method} likelihood profile: Fisher scoring stopped at a "
                                                   f"local maximum (τ² = {local[p]:.6g}); the global maximum τ² = "
                                                   f"{tau2[p]:.6g} is reported")
        return out


def pool_many(
    Y: ArrayLike,
    V: ArrayLike,
    M: ArrayLike,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    pi: str = "t",
    threshold: float = 1e-10,
    maxiter: int = 100,
    stepadj: float = 1.0,
    profile_check: bool = True,
    retry: bool = False,
    _stacklevel: int = 2,
) -> PoolArrays:
    """Pool many meta-analyses ("cells") in one vectorised call.

    Parameters
    ----------
    Y, V : array_like, shape (cells, kmax)
        Effects and sampling variances, one row per cell, padded where a cell has fewer studies.
    M : array_like of bool, shape (cells, kmax)
        True where a study is present (k >= 1 per cell).
    method : {"FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"}
        "FE": common-effect model (metafor ``rma(method="FE")``); else the τ² estimator.
    test : {"z", "knha", "adhoc"}
        Normal test, Hartung–Knapp–Sidik–Jonkman t test, or knha with its scale floored at 1.
        A knha SE of 0 (identical estimates) is refused: the floor is used and the cell noted.
        k = 1 falls back to z, as metafor does.
    level : float
        Confidence level of the CI, PI and τ² CI.
    pi : {"t", "z"}
        Prediction interval: t(k − 2) (default; NaN for k < 3) or metafor's ``predict()``.
    threshold, maxiter, stepadj : float, int, float
        Convergence control of the iterative τ² estimators (metafor ``control=``); see
        :func:`meta.estimators.estimate_tau2`.
    profile_check : bool
        ML/REML: report the global maximum of the likelihood profile (default); False reproduces
        metafor's local maximum (trim-and-fill does, to give metafor's k0).
    retry : bool
        Refit cells whose τ² did not converge with half steps and a larger cap (``stepadj=0.5``,
        ``maxiter=max(1000, 10 * maxiter)``, metafor's remedies); ``retried`` marks them and
        :meth:`PoolArrays.notes` says so. Cells still unconverged stay flagged and warned about.

    Returns
    -------
    PoolArrays

    Raises
    ------
    ValueError
        When the weights 1/v overflow (a variance so small that the sum of weights is inf).

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
    method = check_choice(method, POOL_METHODS, "method")
    test = check_choice(test, TESTS, "test")
    pi = check_choice(pi, PI_TYPES, "pi")
    lv = check_level(level)
    Yc, Vc, Mc = check_cells(Y, V, M)
    n = Yc.shape[0]
    k = Mc.sum(axis=1)
    kf = k.astype(np.float64)
    multi = k >= 2
    alpha = 1.0 - lv
    df = np.where(multi, kf - 1.0, np.nan)

    if method == "FE":
        est = Tau2Estimate(np.zeros(n), np.ones(n, bool), np.zeros(n, np.int64), np.zeros(n, bool))
    else:
        est = estimate_tau2(Yc, Vc, Mc, method, threshold=threshold, maxiter=maxiter, stepadj=stepadj,
                            profile_check=profile_check)
    retried = np.zeros(n, bool)
    if retry and (~est.converged).any():
        bad = np.flatnonzero(~est.converged)
        again = estimate_tau2(Yc[bad], Vc[bad], Mc[bad], method, threshold=threshold,
                              maxiter=max(1000, 10 * maxiter), stepadj=0.5, profile_check=profile_check)
        fields = {f: getattr(est, f).copy() for f in ("tau2", "converged", "iterations", "ll_reset",
                                                        "profile_moved", "tau2_local")}  # fmt: skip
        for f, arr in fields.items():
            arr[bad] = getattr(again, f)
        est = Tau2Estimate(**fields)
        retried[bad] = True
    tau2 = est.tau2
    # Model fit with w = 1/(v + τ²) (metafor rma.uni, "Model fitting").
    W = np.where(Mc, 1.0 / (Vc + tau2[:, None]), 0.0)
    sw = W.sum(axis=1)
    mu = (W * Yc).sum(axis=1) / sw
    se = np.sqrt(1.0 / sw)
    nan = np.full(n, np.nan)
    s2_raw, floored, zero = nan.copy(), np.zeros(n, bool), np.zeros(n, bool)
    z_fallback = (~multi) & (test != "z")
    if test != "z":
        # Hartung & Knapp 2001, Stat Med 20:3875; Sidik & Jonkman 2002, Stat Med 21:3153: scale the
        # variance by s² = Σw(y − μ̂)²/(k − 1). metafor sets s² = 0 when that sum is <= machine eps
        # (a zero SE): we refuse that SE and use the floor. "adhoc" floors s² at 1 (Knapp & Hartung
        # 2003's ad hoc correction; Röver, Knapp & Friede 2015, BMC Med Res Methodol 15:99).
        rss = (W * np.where(Mc, Yc - mu[:, None], 0.0) ** 2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / (kf - 1.0))
        s2_raw = np.where(multi, s2w, np.nan)
        zero = multi & (s2w == 0.0)
        floored = multi & (s2w < 1.0) & ((test == "adhoc") | zero)
        s2w = np.where(floored, 1.0, s2w)
        se = np.where(multi, se * np.sqrt(s2w), se)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = mu / se
    use_t = multi & (test != "z")
    df1 = np.where(use_t, df, 1.0)
    crit = np.where(use_t, _per_df(stats.t.isf, alpha / 2, df1), stats.norm.isf(alpha / 2))
    pval = 2.0 * stats.norm.sf(np.abs(stat))
    if use_t.any():  # the t distribution only where it is used
        pval[use_t] = 2.0 * stats.t.sf(np.abs(stat[use_t]), df1[use_t])
    ci_low, ci_high = mu - crit * se, mu + crit * se
    pi_low, pi_high = _prediction(mu, se, tau2, crit, kf, alpha, method, pi, multi)

    # Heterogeneity (metafor "Conducting heterogeneity test"): Q with fixed-effect weights w = 1/v.
    W0 = np.where(Mc, 1.0 / Vc, 0.0)
    sw0 = W0.sum(axis=1)
    q0 = q_stat(Yc, Vc, Mc, np.zeros(n))  # Cochran's Q as computed, reused by the τ² CI
    q = np.where(multi, np.maximum(0.0, q0), np.nan)
    q_p = np.where(multi, stats.chi2.sf(q, np.where(multi, df, 1.0)), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "FE":
            # metafor rma.uni for FE: I² = max(0, 100 (Q − df)/Q), H² = Q/df (Higgins & Thompson 2002).
            i2 = np.where(multi, np.maximum(0.0, np.nan_to_num(100.0 * (q - df) / q, nan=0.0, neginf=0.0)), np.nan)
            h2 = np.where(multi, q / df, np.nan)
        else:
            # I² and H² via the "typical" within-study variance s² = (k − 1)Σw/((Σw)² − Σw²) for every τ²
            # estimator (Higgins & Thompson 2002, Stat Med 21:1539, eq. 9; metafor i2def "1").
            s2 = (kf - 1.0) * sw0 / (sw0**2 - (W0 * W0).sum(axis=1))
            i2 = np.where(multi, 100.0 * tau2 / (s2 + tau2), np.nan)
            h2 = np.where(multi, tau2 / s2 + 1.0, np.nan)

    if method == "FE":  # metafor confint: "Model does not contain a random-effects component."
        t_lo, t_hi, ci_conv = nan.copy(), nan.copy(), np.ones(n, bool)
        lo_sign = hi_sign = np.full(n, "", dtype="<U1")
    else:
        t_lo, t_hi, ci_conv, lo_sign, hi_sign = _tau2_qprofile(Yc, Vc, Mc, tau2, df, alpha, multi, q0)
    weights = np.where(Mc, 100.0 * W / sw[:, None], np.nan)

    conv = est.converged & ci_conv
    _warn(est.converged, ci_conv, multi, method, max(1000, 10 * maxiter) if retried.any() else maxiter,
          _stacklevel + 1)
    return PoolArrays(
        estimate=mu, se=se, ci_low=ci_low, ci_high=ci_high, stat=stat, p_value=pval,
        tau2=tau2, tau2_ci_low=t_lo, tau2_ci_high=t_hi, i2=i2, h2=h2, q=q, q_df=df, q_p=q_p,
        pi_low=pi_low, pi_high=pi_high, weights=weights, converged=conv, k=k.astype(np.int64),
        method=method, test=test, level=lv, pi=pi, hksj_s2=s2_raw, hksj_floored=floored, hksj_zero=zero,
        z_fallback=z_fallback, profile_moved=est.profile_moved, tau2_local=est.tau2_local, retried=retried,
        tau2_ci_low_sign=lo_sign, tau2_ci_high_sign=hi_sign,
    )  # fmt: skip


def _per_df(fn: Callable[[float, Array], Array], p: float, df: Array) -> Array:
    """``fn(p, df)`` (a scipy quantile function) evaluated once per distinct degrees of freedom: cells share
    a few k, and scipy's quantiles cost a root search each. Elementwise, so the same numbers as one call."""
    u, inv = np.unique(df, return_inverse=True)
    return np.asarray(fn(p, u), dtype=np.float64)[inv.reshape(df.shape)]


def _prediction(
    mu: Array, se: Array, tau2: Array, crit: Array, kf: Array, alpha: float, method: str, pi: str,
    multi: NDArray[np.bool_],
) -> tuple[Array, Array]:
    """Prediction interval μ̂ ± c·sqrt(SE² + τ²).

    pi="z": metafor predict.rma, c = the CI's critical value (z, or t(k − 1) for knha/adhoc), k >= 2.
    pi="t": Higgins, Thompson & Spiegelhalter 2009 (JRSS A 172:137, eq. 12), c = t(k − 2), k >= 3;
    SE is the model's (the HKSJ SE under knha/adhoc). The common-effect model has none (as metafor).
    """
    if method == "FE":
        nan = np.full(mu.shape, np.nan)
        return nan, nan.copy()
    if pi == "z":
        ok = multi
        c = crit
    else:
        ok = kf >= 3
        c = _per_df(stats.t.isf, alpha / 2, np.where(ok, kf - 2.0, 1.0))
    half = c * np.sqrt(se**2 + tau2)
    return np.where(ok, mu - half, np.nan), np.where(ok, mu + half, np.nan)


def _tau2_qprofile(
    Y: Array, V: Array, M: NDArray[np.bool_], tau2: Array, df: Array, alpha: float, multi: NDArray[np.bool_],
    q_zero: Array,
) -> tuple[Array, Array, NDArray[np.bool_], NDArray[np.str_], NDArray[np.str_]]:
    """Q-profile CI for τ² (Viechtbauer 2007, Stat Med 26:37) exactly as metafor confint.rma.uni:
    the lower bound solves Q(τ²) = χ²_{1−α/2}, the upper Q(τ²) = χ²_{α/2}, on [0, max(100, 10τ̂²)].
    metafor's bound markers are returned too: when even the upper bound's Q(0) is below its target,
    both bounds are 0 and marked "<" (the CI is the empty set); a bound beyond the search interval is
    its end, marked ">"; a lower bound at 0 is unmarked (0 is the range's end, not a censored value).
    ``q_zero`` is Q(0) of every cell (each row's Q is computed once: rows are independent)."""
    lo = np.full(tau2.shape, np.nan)
    hi = np.full(tau2.shape, np.nan)
    lo_sign = np.full(tau2.shape, "", dtype="<U1")
    hi_sign = np.full(tau2.shape, "", dtype="<U1")
    conv = np.ones(tau2.shape, dtype=bool)
    sel = np.flatnonzero(multi)
    if sel.size == 0:
        return lo, hi, conv, lo_sign, hi_sign
    d = df[sel]
    upper = np.maximum(100.0, 10.0 * tau2[sel])
    ys, vs, ms = Y[sel], V[sel], M[sel]
    both = np.concatenate
    crit_u, crit_l = _per_df(stats.chi2.isf, alpha / 2, d), _per_df(stats.chi2.ppf, alpha / 2, d)
    q0, qmax = q_zero[sel], q_stat(ys, vs, ms, upper)  # Q at both ends of the search, shared by both bounds
    roots, ok = solve_q(
        both([ys, ys]), both([vs, vs]), both([ms, ms]), both([crit_u, crit_l]), both([upper, upper]),
        q_lo=both([q0, q0]), q_hi=both([qmax, qmax]),
    )  # fmt: skip
    m = sel.size
    lo[sel], hi[sel] = roots[:m], roots[m:]
    conv[sel] = ok[:m] & ok[m:]
    below = q0 < crit_l
    beyond_hi = qmax > crit_l
    beyond_lo = qmax > crit_u
    lo_sign[sel] = np.where(below, "<", np.where(beyond_lo, ">", ""))
    hi_sign[sel] = np.where(below, "<", np.where(beyond_hi, ">", ""))
    return lo, hi, conv, lo_sign, hi_sign


def _warn(
    tau_conv: NDArray[np.bool_],
    ci_conv: NDArray[np.bool_],
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
            "results flagged converged=False (Fisher scoring may oscillate: try stepadj=0.5 "
            "or a larger maxiter)",
            RuntimeWarning, stacklevel=stacklevel,
        )  # fmt: skip
    if (~ci_conv).any():
        warnings.warn(
            f"Q-profile τ² CI search did not converge in {int((~ci_conv).sum())} of {n} cell(s); "
            "flagged converged=False",
            RuntimeWarning, stacklevel=stacklevel,
        )  # fmt: skip
    if (~multi).any():
        warnings.warn(
            f"k = 1 in {int((~multi).sum())} of {n} cell(s): τ² = 0 and no Q-test, I², H², "
            "τ² CI or prediction interval (NaN)",
            RuntimeWarning, stacklevel=stacklevel,
        )  # fmt: skip


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
    pi: str = "t",
    threshold: float = 1e-10,
    maxiter: int = 100,
    stepadj: float = 1.0,
    profile_check: bool = True,
    retry: bool = False,
) -> PoolResult:
    """Random-effects (or common-effect) meta-analysis of one set of studies (metafor
    ``rma(yi, vi, method=, test=)``).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effects (e.g. log hazard ratios) and their sampling variances (> 0); k >= 1.
    method : {"FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"}
        "FE" is the common-effect model (metafor ``method="FE"``: τ² = 0, no τ² CI, no PI).
    test : {"z", "knha", "adhoc"}
        See :func:`pool_many` (a knha SE of 0 is refused; k = 1 falls back to z).
    level : float
        Confidence level (0.95, not 95).
    pi : {"t", "z"}
        Prediction interval: "t" = t(k − 2) (Higgins et al. 2009; none for k < 3), "z" = metafor
        ``predict()`` (use it to compare with metafor).
    threshold, maxiter, stepadj : float, int, float
        Convergence control of iterative estimators (metafor ``control=list(threshold=, maxiter=,
        stepadj=)``); ``stepadj=0.5`` is metafor's remedy when Fisher scoring oscillates.
    profile_check : bool
        ML/REML report the global maximum of the likelihood profile, with a note when Fisher scoring
        had stopped at a local one (metafor reports that local one); False reproduces metafor.
    retry : bool
        Refit a non-converged τ² with ``stepadj=0.5`` and a larger ``maxiter`` (see :func:`pool_many`).

    Returns
    -------
    PoolResult
        ``notes`` lists every departure from the plain recipe in words.

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
        y[None, :], v[None, :], np.ones((1, y.size), dtype=bool), method, test, level, pi=pi,
        threshold=threshold, maxiter=maxiter, stepadj=stepadj, profile_check=profile_check, retry=retry,
        _stacklevel=3,
    )  # fmt: skip
    scalars = {
        name: float(getattr(r, name)[0])
        for name in ("estimate", "se", "ci_low", "ci_high", "p_value", "stat", "tau2", "tau2_ci_low",
                     "tau2_ci_high", "i2", "h2", "q", "q_df", "q_p", "pi_low", "pi_high")
    }  # fmt: skip
    assert r.tau2_ci_low_sign is not None and r.tau2_ci_high_sign is not None
    return PoolResult(
        **scalars, weights=r.weights[0].copy(), converged=bool(r.converged[0]), k=int(r.k[0]),
        method=r.method, test=r.test, level=r.level, version=__version__, input_sha256=input_checksum(y, v),
        pi=r.pi, notes=r.notes(0), tau2_ci_low_sign=str(r.tau2_ci_low_sign[0]),
        tau2_ci_high_sign=str(r.tau2_ci_high_sign[0]),
    )  # fmt: skip
