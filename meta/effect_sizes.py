"""Effect sizes and sampling variances on the analysis scale, arrays in, arrays out.

Each function returns ``(yi, vi)`` as float64 arrays and agrees with R metafor ``escalc`` (defaults
``add=1/2, to="only0"``: 1/2 is added to every cell of a study that has a zero cell; nothing is
added for PFT and PAS), or, where metafor has no measure (HR from a CI or a p value), with the
by-hand recipe metafor's documentation gives. Bad input raises a ValueError naming the index.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from meta._checks import as_float_1d, check_equal_length, check_level

Array = NDArray[np.float64]


@functools.lru_cache(maxsize=64)  # pool_table calls this once per record; the quantile is the cost
def _z(level: float) -> float:
    return float(stats.norm.isf((1.0 - check_level(level)) / 2.0))


def var_from_ci(ci_low: ArrayLike, ci_high: ArrayLike, level: float = 0.95) -> Array:
    """Sampling variance from a CI symmetric on the analysis scale: ``((hi − lo) / (2 z))²``.

    # Higgins et al., Cochrane Handbook v6.4, section 6.5.2.2 (SE from a confidence interval).

    Examples
    --------
    >>> var_from_ci([-0.392], [0.392]).round(4)
    array([0.04])
    """
    lo, hi = as_float_1d(ci_low, "ci_low"), as_float_1d(ci_high, "ci_high")
    check_equal_length(ci_low=lo, ci_high=hi)
    bad = np.flatnonzero(~(lo < hi))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"ci_low[{i}] = {lo[i]:g} >= ci_high[{i}] = {hi[i]:g}: a CI needs ci_low < ci_high")
    return ((hi - lo) / (2.0 * _z(level))) ** 2


def log_ratio_from_ci(
    estimate: ArrayLike, ci_low: ArrayLike, ci_high: ArrayLike, level: float = 0.95, *, name: str = "ratio"
) -> tuple[Array, Array]:
    """Log ratio (HR, OR, RR) and its variance from the ratio and its CI at any level.

    # Parmar, Torri & Stewart 1998, Stat Med 17:2815, eqs. 3–4: y = log(ratio), SE = (log hi − log lo)/(2 z).

    Parameters
    ----------
    estimate, ci_low, ci_high : array_like, shape (k,)
        Ratio and CI bounds on the ratio scale (all > 0, ``ci_low <= estimate <= ci_high``).
    level : float
        Confidence level of the reported CI (0.95 unless stated).
    name : str
        Word used in error messages ("HR", "OR", ...).

    Examples
    --------
    >>> yi, vi = log_ratio_from_ci([0.5], [0.25], [1.0], name="OR")
    >>> yi.round(4), vi.round(4)
    (array([-0.6931]), array([0.1251]))
    """
    est = as_float_1d(estimate, name)
    lo, hi = as_float_1d(ci_low, "ci_low"), as_float_1d(ci_high, "ci_high")
    check_equal_length(**{name: est, "ci_low": lo, "ci_high": hi})
    for arr, what in ((est, name), (lo, "ci_low"), (hi, "ci_high")):
        bad = np.flatnonzero(~(arr > 0))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{what}[{i}] = {arr[i]:g}: a {name} and its CI bounds must be > 0")
    bad = np.flatnonzero(~(lo < hi))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"ci_low[{i}] = {lo[i]:g} >= ci_high[{i}] = {hi[i]:g}: a CI needs ci_low < ci_high")
    bad = np.flatnonzero((lo > est) | (est > hi))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{name}[{i}] = {est[i]:g} lies outside its CI [{lo[i]:g}, {hi[i]:g}]: the CI must contain the estimate"
        )
    return np.log(est), ((np.log(hi) - np.log(lo)) / (2.0 * _z(level))) ** 2


def log_hr_from_ci(hr: ArrayLike, ci_low: ArrayLike, ci_high: ArrayLike, level: float = 0.95) -> tuple[Array, Array]:
    """Log hazard ratio and its variance from an HR and its CI.

    # Parmar, Torri & Stewart 1998, Stat Med 17:2815, eqs. 3–4 (metafor: by hand, no escalc measure).

    Examples
    --------
    >>> yi, vi = log_hr_from_ci([0.72], [0.60], [0.86])
    >>> yi.round(4), vi.round(5)
    (array([-0.3285]), array([0.00843]))
    """
    return log_ratio_from_ci(hr, ci_low, ci_high, level, name="hr")


#: Largest relative uncertainty of an SE derived from an HR and a p value (from rounding of the two
#: reported numbers) that :func:`log_hr_from_p` accepts; beyond it the SE is arbitrary.
MAX_SE_UNCERTAINTY = 0.2


def _half_unit(x: Array) -> Array:
    """Half a unit in the last decimal of each value as printed (0.95 → 0.005, 0.017 → 0.0005), taking
    at least 2 decimals (a float has lost the trailing zero of a printed 0.80)."""
    out = np.empty_like(x)
    for i, val in enumerate(x):
        d = next((d for d in range(13) if abs(round(float(val), d) - val) <= 1e-12 * max(1.0, abs(val))), 12)
        out[i] = 0.5 * 10.0 ** (-max(d, 2))
    return out


def _check_hr_p(hr: ArrayLike, p_value: ArrayLike, p_sided: ArrayLike) -> tuple[Array, Array, Array]:
    h, p = as_float_1d(hr, "hr"), as_float_1d(p_value, "p_value")
    sided = np.broadcast_to(as_float_1d(p_sided, "p_sided"), h.shape).copy() if np.ndim(p_sided) == 0 else \
        as_float_1d(p_sided, "p_sided")
    check_equal_length(hr=h, p_value=p, p_sided=sided)
    bad = np.flatnonzero(~np.isin(sided, (1.0, 2.0)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"p_sided[{i}] = {sided[i]:g}: must be 1 (one-sided) or 2 (two-sided)")
    bad = np.flatnonzero(~(h > 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"hr[{i}] = {h[i]:g}: a hazard ratio must be > 0")
    bad = np.flatnonzero(~((p > 0) & (p < 1)))
    if bad.size:
        i = int(bad[0])
        side = "two-sided" if sided[i] == 2 else "one-sided"
        raise ValueError(f"p_value[{i}] = {p[i]:g}: a {side} p value must lie in (0, 1)")
    bad = np.flatnonzero((sided == 1) & (p >= 0.5))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"p_value[{i}] = {p[i]:g} is one-sided and >= 0.5: the effect points the other way "
                         "from the tested direction, so no SE can be derived")
    return h, p, sided


def se_uncertainty_from_p(hr: ArrayLike, p_value: ArrayLike, p_sided: ArrayLike = 2) -> Array:
    """Relative uncertainty of the SE derived by :func:`log_hr_from_p`, from rounding alone.

    SE = |log HR| / z with z = Φ⁻¹(1 − p/2) (two-sided) or Φ⁻¹(1 − p) (one-sided). Taking each
    reported number as exact to half a unit in its last printed decimal (δ_HR, δ_p), first-order
    propagation gives ``u = δ_HR / (HR |log HR|) + δ_p / (s φ(z) z)`` with s = 2 for two-sided p, 1 for
    one-sided (at least 2 decimals are assumed for each number). With HR ≈ 1 and p ≈ 1 both
    terms blow up: HR 0.99 at p = 0.95 gives u ≈ 0.6.

    Examples
    --------
    >>> se_uncertainty_from_p([0.99, 0.72], [0.95, 0.017]).round(2)
    array([0.6 , 0.03])
    """
    h, p, sided = _check_hr_p(hr, p_value, p_sided)
    z = stats.norm.isf(p / sided)
    with np.errstate(divide="ignore"):
        u_hr = _half_unit(h) / (h * np.abs(np.log(h)))
        u_p = _half_unit(p) / (sided * stats.norm.pdf(z) * z)  # s = 2 two-sided, 1 one-sided
    return u_hr + u_p


def log_hr_from_p(
    hr: ArrayLike, p_value: ArrayLike, p_sided: ArrayLike = 2, *, max_uncertainty: float = MAX_SE_UNCERTAINTY
) -> tuple[Array, Array]:
    """Log hazard ratio and its variance from an HR and an exact p value.

    # Tierney et al. 2007, Trials 8:16, "HR and p value": SE = |log HR| / z_{1 − p/2} (two-sided p);
    # for a one-sided p (``p_sided=1``), z_{1 − p}.

    Only exact p values (``p = 0.017``) qualify; a bound (``p < 0.001``) does not. Derivations whose SE
    is arbitrary are refused: HR = 1, and any row whose SE, from the rounding of the reported HR and p
    alone, is uncertain by more than ``max_uncertainty`` (20 %; see :func:`se_uncertainty_from_p`), as
    with HR ≈ 1 and p ≈ 1 (HR 0.985–0.995 at p = 0.95 gives SE 0.08–0.24).

    Parameters
    ----------
    hr, p_value : array_like, shape (k,)
    p_sided : int or array_like of int
        2 (two-sided, the default) or 1 (one-sided, as the record's ``p_sided``).
    max_uncertainty : float
        Largest accepted relative SE uncertainty from rounding.

    Examples
    --------
    >>> yi, vi = log_hr_from_p([0.72], [0.017])
    >>> vi.round(5)
    array([0.01894])
    >>> log_hr_from_p([0.72], [0.0085], p_sided=1)[1].round(5)
    array([0.01894])
    """
    h, p, sided = _check_hr_p(hr, p_value, p_sided)
    bad = np.flatnonzero(h == 1)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"hr[{i}] = 1: the variance cannot be derived from a p value when HR = 1")
    u = se_uncertainty_from_p(h, p, sided)
    bad = np.flatnonzero(u > max_uncertainty)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"hr[{i}] = {h[i]:g}, p_value[{i}] = {p[i]:g}: the SE derived from them is arbitrary (rounding of "
            f"the reported numbers alone moves it by ±{100 * u[i]:.0f}%, more than {100 * max_uncertainty:.0f}%)"
        )
    yi = np.log(h)
    return yi, (yi / stats.norm.isf(p / sided)) ** 2


def log_hr_from_logrank(o_minus_e: ArrayLike, v: ArrayLike) -> tuple[Array, Array]:
    """Log hazard ratio and its variance from the log-rank O − E and its variance V.

    # Peto's one-step estimator (Yusuf et al. 1985, Prog Cardiovasc Dis 27:335; Tierney et al. 2007,
    # Trials 8:16, method "O − E and V"): log HR = (O − E)/V, var = 1/V. O − E is the research
    # arm's observed minus expected events, so HR < 1 when it is negative.

    Examples
    --------
    >>> yi, vi = log_hr_from_logrank([-12.5], [50.0])
    >>> yi, vi
    (array([-0.25]), array([0.02]))
    """
    oe, vv = as_float_1d(o_minus_e, "o_minus_e"), as_float_1d(v, "v")
    check_equal_length(o_minus_e=oe, v=vv)
    bad = np.flatnonzero(~(vv > 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"v[{i}] = {vv[i]:g}: the log-rank variance V must be > 0")
    return oe / vv, 1.0 / vv


def _counts(**named: ArrayLike) -> list[Array]:
    arrs = [as_float_1d(v, n) for n, v in named.items()]
    check_equal_length(**dict(zip(named, arrs, strict=True)))
    for n, a in zip(named, arrs, strict=True):
        bad = np.flatnonzero(a < 0)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{n}[{i}] = {a[i]:g}: counts must be >= 0")
    return arrs


def _two_by_two(ai: ArrayLike, n1i: ArrayLike, ci: ArrayLike, n2i: ArrayLike, add: float) -> list[Array]:
    a, n1, c, n2 = _counts(ai=ai, n1i=n1i, ci=ci, n2i=n2i)
    for ev, n, en, nn in ((a, n1, "ai", "n1i"), (c, n2, "ci", "n2i")):
        bad = np.flatnonzero((ev > n) | (n <= 0))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{en}[{i}] = {ev[i]:g}, {nn}[{i}] = {n[i]:g}: need 0 <= events <= n and n > 0")
    b, d = n1 - a, n2 - c
    # metafor escalc add=1/2, to="only0": add to all four cells of a study with any zero cell.
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    inc = np.where(zero, add, 0.0)
    return [a + inc, b + inc, c + inc, d + inc]


def log_or_from_counts(
    ai: ArrayLike, n1i: ArrayLike, ci: ArrayLike, n2i: ArrayLike, add: float = 0.5
) -> tuple[Array, Array]:
    """Log odds ratio from 2×2 counts (events and group sizes of group 1 and 2).

    # metafor escalc(measure="OR"): log(a d / (b c)), v = 1/a + 1/b + 1/c + 1/d (Woolf 1955).

    Examples
    --------
    >>> yi, vi = log_or_from_counts([0], [10], [3], [10])
    >>> yi.round(4), vi.round(4)
    (array([-2.2824]), array([2.5143]))
    """
    a, b, c, d = _two_by_two(ai, n1i, ci, n2i, add)
    return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d


def log_rr_from_counts(
    ai: ArrayLike, n1i: ArrayLike, ci: ArrayLike, n2i: ArrayLike, add: float = 0.5
) -> tuple[Array, Array]:
    """Log risk ratio from 2×2 counts.

    # metafor escalc(measure="RR"): log(p1/p2), v = 1/a − 1/n1 + 1/c − 1/n2 (Katz et al. 1978).

    Examples
    --------
    >>> yi, vi = log_rr_from_counts([4], [123], [11], [139])
    >>> yi.round(4)
    array([-0.8893])
    """
    a, b, c, d = _two_by_two(ai, n1i, ci, n2i, add)
    n1, n2 = a + b, c + d
    return np.log((a / n1) / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2


def rd_from_counts(
    ai: ArrayLike, n1i: ArrayLike, ci: ArrayLike, n2i: ArrayLike, add: float = 0.5
) -> tuple[Array, Array]:
    """Risk difference from 2×2 counts (large-sample variance, metafor vtype="LS").

    # metafor escalc(measure="RD"): p1 − p2, v = p1(1 − p1)/n1 + p2(1 − p2)/n2.

    Examples
    --------
    >>> yi, vi = rd_from_counts([5], [10], [2], [10])
    >>> yi.round(2), vi.round(3)
    (array([0.3]), array([0.041]))
    """
    a, b, c, d = _two_by_two(ai, n1i, ci, n2i, add)
    p1, p2 = a / (a + b), c / (c + d)
    return p1 - p2, p1 * (1 - p1) / (a + b) + p2 * (1 - p2) / (c + d)


def _props(xi: ArrayLike, ni: ArrayLike) -> tuple[Array, Array]:
    x, n = _counts(xi=xi, ni=ni)
    bad = np.flatnonzero((x > n) | (n <= 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"xi[{i}] = {x[i]:g}, ni[{i}] = {n[i]:g}: need 0 <= xi <= ni and ni > 0")
    return x, n


def _only0(x: Array, n: Array, add: float) -> tuple[Array, Array]:
    # metafor escalc to="only0" for proportions: add to events and non-events when either is 0.
    inc = np.where((x == 0) | (x == n), add, 0.0)
    return x + inc, n + 2 * inc


def prop_logit(xi: ArrayLike, ni: ArrayLike, add: float = 0.5) -> tuple[Array, Array]:
    """Logit proportion (PLO): ``log(x/(n − x))``, ``v = 1/x + 1/(n − x)``.

    # metafor escalc(measure="PLO").

    Examples
    --------
    >>> yi, vi = prop_logit([5], [20])
    >>> yi.round(4), vi.round(4)
    (array([-1.0986]), array([0.2667]))
    """
    x, n = _only0(*_props(xi, ni), add)
    return np.log(x / (n - x)), 1 / x + 1 / (n - x)


def prop_ft(xi: ArrayLike, ni: ArrayLike) -> tuple[Array, Array]:
    """Freeman–Tukey double-arcsine proportion (PFT), ``v = 1/(4n + 2)``; no continuity correction.

    # metafor escalc(measure="PFT"), Freeman & Tukey 1950, Ann Math Stat 21:607.

    Examples
    --------
    >>> yi, vi = prop_ft([5], [20])
    >>> yi.round(4), vi.round(4)
    (array([0.5368]), array([0.0122]))
    """
    x, n = _props(xi, ni)
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1)))), 1 / (4 * n + 2)


def prop_arcsine(xi: ArrayLike, ni: ArrayLike) -> tuple[Array, Array]:
    """Arcsine square-root proportion (PAS), ``v = 1/(4n)``; no continuity correction.

    # metafor escalc(measure="PAS") (Anscombe 1948).

    Examples
    --------
    >>> yi, vi = prop_arcsine([5], [20])
    >>> yi.round(4)
    array([0.5236])
    """
    x, n = _props(xi, ni)
    return np.arcsin(np.sqrt(x / n)), 1 / (4 * n)


def prop_raw(xi: ArrayLike, ni: ArrayLike, add: float = 0.5) -> tuple[Array, Array]:
    """Raw proportion (PR), ``v = p(1 − p)/n`` (metafor vtype="LS").

    # metafor escalc(measure="PR"); 1/2 added to events and non-events when either is 0, as escalc.

    Examples
    --------
    >>> prop_raw([5], [20])
    (array([0.25]), array([0.009375]))
    """
    x, n = _only0(*_props(xi, ni), add)
    p = x / n
    return p, p * (1 - p) / n


def harmonic_mean(ni: ArrayLike) -> float:
    """Harmonic mean of the sample sizes, for :func:`back_transform_pft`.

    Examples
    --------
    >>> harmonic_mean([10, 40])
    16.0
    """
    n = as_float_1d(ni, "ni")
    return float(1.0 / np.mean(1.0 / n))


def back_transform_pft(x: ArrayLike, n_harmonic: float) -> Array:
    """Proportion from a Freeman–Tukey double-arcsine value, using the harmonic mean n.

    # Miller 1978, Am Stat 32:138; metafor transf.ipft.hm (values beyond the transforms of 0 and 1
    # are set to 0 and 1, as metafor does).

    Examples
    --------
    >>> y, _ = prop_ft([5], [20])
    >>> back_transform_pft(y, 20.0).round(3)
    array([0.25])
    """
    x = as_float_1d(x, "x")
    n = float(n_harmonic)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sin(2 * x)
        z = 0.5 * (1 - np.sign(np.cos(2 * x)) * np.sqrt(1 - (s + (s - 1 / s) / n) ** 2))
    hi, _ = prop_ft([n], [n])
    lo, _ = prop_ft([0.0], [n])
    z = np.where(x > hi[0], 1.0, np.where(x < lo[0], 0.0, z))
    return z


def back_transform_logit(x: ArrayLike) -> Array:
    """Inverse logit, ``1/(1 + exp(−x))`` (metafor transf.ilogit).

    Examples
    --------
    >>> back_transform_logit([0.0])
    array([0.5])
    """
    return 1.0 / (1.0 + np.exp(-as_float_1d(x, "x", allow_nan=True)))
