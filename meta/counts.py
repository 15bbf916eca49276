"""Pooling 2×2 tables without study weights from a τ² model: Mantel–Haenszel OR/RR and Peto's OR.

Both are common-effect methods that work on the counts themselves, so they cope with sparse data
and single-zero studies without continuity corrections (Cochrane Handbook v6.4 §10.4.4). Every
quantity follows metafor 3.8 ``rma.mh`` / ``rma.peto`` with their defaults: the pooled estimate
uses the raw counts; the heterogeneity Q of MH uses the escalc effects (1/2 added to the cells of a
study with a zero cell; double-zero studies dropped), Peto's uses (O − E)²/V. References:

- Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748.
- Robins J, Breslow N, Greenland S (1986). Biometrics 42:311-323 (variance of the MH log OR).
- Greenland S, Robins JM (1985). Biometrics 41:55-68 (variance of the MH log RR).
- Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Prog Cardiovasc Dis 27:335-371 (Peto OR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from meta._checks import check_choice, check_level
from meta.effect_sizes import _counts, log_or_from_counts, log_rr_from_counts

__all__ = ["CountsPoolResult", "pool_counts"]


@dataclass(frozen=True)
class CountsPoolResult:
    """Result of :func:`pool_counts` (log scale; ``exp()`` for the ratio). metafor names: beta, se,
    zval, pval, ci.lb, ci.ub, QE, QEp, I2, H2, k.yi; ``mh_stat``/``mh_p`` its ``MH``/``MHp`` (the
    Cochran–Mantel–Haenszel test, OR only, continuity-corrected)."""

    estimate: float
    se: float
    stat: float
    p_value: float
    ci_low: float
    ci_high: float
    q: float
    q_p: float
    i2: float
    h2: float
    k: int
    k_yi: int  # studies in Q (double-zero studies left out)
    measure: str
    method: str
    level: float
    mh_stat: float = math.nan
    mh_p: float = math.nan
    notes: tuple[str, ...] = ()

    def exp(self) -> tuple[float, float, float]:
        """(ratio, CI low, CI high) on the ratio scale."""
        return math.exp(self.estimate), math.exp(self.ci_low), math.exp(self.ci_high)

    def __str__(self) -> str:
        name = "Mantel-Haenszel" if self.method == "MH" else "Peto"
        r, lo, hi = self.exp()
        return (f"Common-effect model, {name} {self.measure} (k = {self.k}): {r:.4f} "
                f"({100 * self.level:g}% CI {lo:.4f} to {hi:.4f}), p = {self.p_value:.4g}; "
                f"Q(df = {max(self.k_yi - 1, 0)}) = {self.q:.4f}, I^2 = {self.i2:.2f}%")


def _heterogeneity(q: float, k_yi: int) -> tuple[float, float, float, float]:
    # metafor rma.mh / rma.peto: Q, its p on k.yi − 1 df, I² = max(0, 100 (Q − df)/Q), H² = Q/df.
    if k_yi > 1:
        df = k_yi - 1
        i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
        return q, float(stats.chi2.sf(q, df)), i2, q / df
    return 0.0, 1.0, 0.0, 1.0


def pool_counts(
    ai: ArrayLike, n1i: ArrayLike, ci: ArrayLike, n2i: ArrayLike, measure: str = "OR", method: str = "MH",
    level: float = 0.95, *, correct: bool = True,
) -> CountsPoolResult:
    """Mantel–Haenszel (OR, RR) or Peto (OR) common-effect pool of 2×2 tables.

    Parameters
    ----------
    ai, n1i : array_like, shape (k,)
        Events and patients in the intervention arm.
    ci, n2i : array_like, shape (k,)
        Events and patients in the comparator arm.
    measure : {"OR", "RR"}
        Peto's method is for the OR only.
    method : {"MH", "Peto"}
        metafor ``rma.mh`` / ``rma.peto``.
    level : float
        Confidence level.
    correct : bool
        Continuity correction of the CMH test (metafor's default).

    Returns
    -------
    CountsPoolResult

    Examples
    --------
    >>> r = pool_counts([4, 6, 3], [50, 60, 40], [9, 10, 7], [50, 58, 41])
    >>> round(r.exp()[0], 3), r.k
    (0.448, 3)
    """
    measure = check_choice(measure, ("OR", "RR"), "measure")
    method = check_choice(method, ("MH", "Peto"), "method")
    lv = check_level(level)
    a, n1, c, n2 = _counts(ai=ai, n1i=n1i, ci=ci, n2i=n2i)
    for ev, n, en, nn in ((a, n1, "ai", "n1i"), (c, n2, "ci", "n2i")):
        bad = np.flatnonzero((ev > n) | (n <= 0))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{en}[{i}] = {ev[i]:g}, {nn}[{i}] = {n[i]:g}: need 0 <= events <= n and n > 0")
    if a.size == 0:
        raise ValueError("k = 0: at least one 2×2 table is needed")
    if method == "Peto" and measure != "OR":
        raise ValueError("Invalid measure 'RR' for method 'Peto'; Peto's method pools odds ratios only (measure='OR')")
    b, d = n1 - a, n2 - c
    N = n1 + n2
    k = int(a.size)
    double0 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))  # escalc drop00: no information on the ratio
    k_yi = int((~double0).sum())
    crit = float(stats.norm.isf((1 - lv) / 2))
    notes: list[str] = []
    if double0.any():
        notes.append(f"{int(double0.sum())} double-zero stud{'y' if double0.sum() == 1 else 'ies'} "
                     "left out of Q (no information on the ratio)")
    mh_stat = mh_p = math.nan
    if method == "Peto":
        xt, yt = a + c, b + d
        E = xt * n1 / N
        with np.errstate(divide="ignore", invalid="ignore"):
            V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
        V = np.where(N > 1, V, 0.0)
        if V.sum() == 0:
            raise ValueError("One of the two outcomes never occurred in any table: Peto's method cannot be used")
        est = float((a - E).sum() / V.sum())  # Yusuf et al. 1985: Σ(O − E)/ΣV
        se = math.sqrt(1.0 / V.sum())
        pos = V > 0
        q = max(0.0, float(((a - E)[pos] ** 2 / V[pos]).sum() - (a - E).sum() ** 2 / V[pos].sum()))
    else:
        if measure == "OR":
            R, S = (a / N) * d, (b / N) * c
            if R.sum() == 0 or S.sum() == 0:
                raise ValueError("Mantel–Haenszel OR undefined: no events (or no non-events) in one arm of every table")
            P, Qi = (a + d) / N, (b + c) / N
            sR, sS = R.sum(), S.sum()
            est = math.log(sR / sS)
            # Robins, Breslow & Greenland 1986 variance of log OR_MH.
            se = math.sqrt(0.5 * ((P * R).sum() / sR**2 + (P * S + Qi * R).sum() / (sR * sS) + (Qi * S).sum() / sS**2))
            xt, yt = a + c, b + d
            if xt.sum() > 0 and yt.sum() > 0:
                num = (abs((a - (n1 / N) * xt).sum()) - (0.5 if correct else 0.0)) ** 2
                with np.errstate(divide="ignore", invalid="ignore"):
                    den = np.where(N > 1, (n1 / N) * (n2 / N) * (xt * (yt / (N - 1))), 0.0)
                mh_stat = float(num / den.sum())
                mh_p = float(stats.chi2.sf(mh_stat, 1))
            yi, vi = log_or_from_counts(a, n1, c, n2)
        else:
            if a.sum() == 0 or c.sum() == 0:
                raise ValueError("Mantel–Haenszel RR undefined: no events in one arm of every table")
            sR, sS = (a * n2 / N).sum(), (c * n1 / N).sum()
            est = math.log(sR / sS)
            # Greenland & Robins 1985 variance of log RR_MH.
            se = math.sqrt(((n1 / N) * (n2 / N) * (a + c) - (a / N) * c).sum() / (sR * sS))
            yi, vi = log_rr_from_counts(a, n1, c, n2)
        keep = ~double0
        q = max(0.0, float(((yi[keep] - est) ** 2 / vi[keep]).sum()))
    q, q_p, i2, h2 = _heterogeneity(q, k_yi)
    z = est / se
    return CountsPoolResult(
        estimate=est, se=se, stat=z, p_value=float(2 * stats.norm.sf(abs(z))), ci_low=est - crit * se,
        ci_high=est + crit * se, q=q, q_p=q_p, i2=i2, h2=h2, k=k, k_yi=k_yi, measure=measure, method=method,
        level=lv, mh_stat=mh_stat, mh_p=mh_p, notes=tuple(notes),
    )
