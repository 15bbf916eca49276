"""Bayesian random-effects meta-analysis of the normal-normal model, exact by numerical integration.

The model is y_i ~ N(θ_i, v_i), θ_i ~ N(μ, τ²), with a flat prior on μ and a proper prior on τ
(half-normal by default, scale 0.5 as recommended for log odds/hazard ratios by Friede et al. 2017,
Res Synth Methods 8:79 and Röver et al. 2021, Res Synth Methods 12:448). As in the bayesmeta R
package (Röver 2020, J Stat Softw 93(6)), μ is integrated out analytically:

- p(τ | y) ∝ p(τ) · Π_i (v_i + τ²)^(−1/2) · (Σ w_i)^(−1/2) · exp(−Q(τ)/2), w_i = 1/(v_i + τ²),
  Q(τ) = Σ w_i (y_i − μ̂(τ))², μ̂(τ) = Σ w_i y_i / Σ w_i  (Röver 2020, eq. 8);
- p(μ | τ, y) = N(μ̂(τ), 1/Σ w_i), and the predictive θ_new | τ, y ~ N(μ̂(τ), 1/Σ w_i + τ²);

so every posterior quantity is a one-dimensional integral over τ. bayesmeta approximates the
mixture by its DIRECT grid; here the integrals are done by composite Gauss–Legendre quadrature in
t = τ/(c + τ) ∈ [0, 1) (1,024 nodes, c the prior scale), which is exact to far below 1e-8 for these
smooth integrands, and quantiles are found by bisection on the quadrature's CDF. No MCMC.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from meta._checks import check_choice, check_level, check_yi_vi

__all__ = ["TAU_PRIORS", "BayesPoolResult", "bayes_pool", "bayes_pool_many"]

Array = NDArray[np.float64]
#: Priors on τ: half-normal and half-Cauchy with scale ``tau_scale`` (Röver et al. 2021).
TAU_PRIORS: tuple[str, ...] = ("halfnormal", "halfcauchy")
_PANELS, _ORDER = 64, 16
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_ORDER)


def _nodes() -> tuple[Array, Array, Array]:
    """Composite Gauss–Legendre nodes and weights on t ∈ [0, 1), and the panel edges."""
    edges = np.linspace(0.0, 1.0, _PANELS + 1)
    a, b = edges[:-1, None], edges[1:, None]
    t = (0.5 * (b - a) * _GL_X[None, :] + 0.5 * (a + b)).ravel()
    w = (0.5 * (b - a) * _GL_W[None, :]).ravel()
    return t, w, edges


_T, _TW, _EDGES = _nodes()


def _log_prior(tau: Array, prior: str, scale: float) -> Array:
    if prior == "halfnormal":
        return 0.5 * math.log(2 / math.pi) - math.log(scale) - 0.5 * (tau / scale) ** 2
    return math.log(2 / math.pi) - math.log(scale) - np.log1p((tau / scale) ** 2)


def _components(Y: Array, V: Array, tau: Array, m0: float = 0.0, p0: float = 0.0) -> tuple[Array, Array, Array]:
    """Per cell and node: log marginal likelihood of τ (μ integrated out), μ̂(τ) and 1/Σw.

    A normal prior N(m0, 1/p0) on μ enters as one more observation m0 of fixed precision p0 (its
    variance is not widened by τ²): the conjugate update of Röver 2020, Sec. 2.3. p0 = 0 is the flat
    prior, and then every term below is the flat-prior one exactly."""
    W = 1.0 / (V[:, None, :] + tau[None, :, None] ** 2)  # (cells, nodes, k)
    sw = W.sum(axis=2) + p0
    mu = ((W * Y[:, None, :]).sum(axis=2) + p0 * m0) / sw
    q = (W * (Y[:, None, :] - mu[:, :, None]) ** 2).sum(axis=2)
    if p0:
        q = q + p0 * (m0 - mu) ** 2
    ll = 0.5 * np.log(W).sum(axis=2) - 0.5 * np.log(sw) - 0.5 * q
    return ll, mu, 1.0 / sw


def _mix_cdf(x: Array, p: Array, mu: Array, sd: Array) -> Array:
    """CDF at x (one per cell) of the normal mixture Σ_j p_j N(mu_j, sd_j²) (rows: cells)."""
    return (p * special.ndtr((x[:, None] - mu) / sd)).sum(axis=1)


def _mix_quantile(p: Array, mu: Array, sd: Array, q: float, lo: Array, hi: Array, start: Array) -> Array:
    """Quantile of the normal mixture by Newton's method safeguarded by bisection (vectorised over cells)."""
    x = start.copy()
    for _ in range(60):
        zz = (x[:, None] - mu) / sd
        f = (p * special.ndtr(zz)).sum(axis=1) - q
        d = (p * np.exp(-0.5 * zz * zz) / (sd * math.sqrt(2 * math.pi))).sum(axis=1)
        lo, hi = np.where(f < 0, x, lo), np.where(f < 0, hi, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            nx = x - f / d
        nx = np.where(np.isfinite(nx) & (nx >= lo) & (nx <= hi), nx, 0.5 * (lo + hi))
        done = np.abs(nx - x) <= 1e-13 * np.maximum(1.0, np.abs(x))
        x = nx
        if done.all():
            break
    return x


def _quantile(cdf, lo: Array, hi: Array, q: float, iters: int = 80) -> Array:
    """Vectorised bisection for cdf(x) = q on [lo, hi] (cdf increasing)."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = cdf(mid) < q
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class BayesPoolArrays:
    """Results of :func:`bayes_pool_many`, one entry per cell (see :class:`BayesPoolResult`)."""

    estimate: Array
    ci_low: Array
    ci_high: Array
    mean: Array
    sd: Array
    tau_median: Array
    tau_ci_low: Array
    tau_ci_high: Array
    pi_low: Array
    pi_high: Array
    tau_mean: Array
    tau_sd: Array
    k: int
    tau_prior: str
    tau_scale: float
    level: float


@dataclass(frozen=True)
class _Posterior:
    """The posterior of a chunk of cells on the τ nodes: mixture weights ``p`` (cells × nodes), the
    conditional means ``mu`` and variances ``s2`` of μ given each node's τ, and the τ CDF."""

    p: Array
    mu: Array
    s2: Array
    tau: Array
    tau_cdf: Callable[[Array], Array]

    def quantile(self, sd: Array, q: float) -> Array:
        """Quantile q of μ (sd = sqrt(s2)) or of the predictive (sd = sqrt(s2 + τ²)) per cell."""
        m1 = (self.p * self.mu).sum(axis=1)
        sd_all = np.sqrt((self.p * (sd**2 + self.mu**2)).sum(axis=1) - m1**2)
        lo0 = (self.mu - 12 * sd).min(axis=1)
        hi0 = (self.mu + 12 * sd).max(axis=1)
        return _mix_quantile(self.p, self.mu, sd, q, lo0, hi0, m1 + stats.norm.ppf(q) * sd_all)

    def tau_quantile(self, q: float, scale: float) -> Array:
        t_q = _quantile(self.tau_cdf, np.zeros(self.p.shape[0]), np.full(self.p.shape[0], 1.0 - 1e-12), q, iters=60)
        return scale * t_q / (1.0 - t_q)


def _posterior(Ys: Array, Vs: Array, prior: str, scale: float, m0: float, p0: float) -> _Posterior:
    tau = scale * _T / (1.0 - _T)
    jac = scale / (1.0 - _T) ** 2
    ll, mu, s2 = _components(Ys, Vs, tau, m0, p0)
    lpost = ll + _log_prior(tau, prior, scale)[None, :] + np.log(jac)[None, :]
    shift = lpost.max(axis=1)
    mass = np.exp(lpost - shift[:, None]) * _TW[None, :]
    total = mass.sum(axis=1)
    p = np.where(np.isfinite(mass / total[:, None]), mass / total[:, None], 0.0)  # mixture weights of the nodes
    # τ CDF at t: the sum over full panels plus a Gauss–Legendre integral over the part of the panel
    # that holds t (the unnormalised density is evaluated there afresh).
    panel_mass = mass.reshape(len(Ys), _PANELS, _ORDER).sum(axis=2)
    cum = np.concatenate([np.zeros((len(Ys), 1)), np.cumsum(panel_mass, axis=1)], axis=1) / total[:, None]

    def tau_cdf(t: Array) -> Array:
        j = np.minimum((t * _PANELS).astype(int), _PANELS - 1)
        a0 = _EDGES[j]
        half = 0.5 * (t - a0)
        tt = half[:, None] * (_GL_X[None, :] + 1.0) + a0[:, None]  # nodes on [a0, t]
        out_ = np.empty(t.shape)
        for i in range(t.size):  # one small (nodes × k) evaluation per cell
            tv = tt[i]
            tauv = scale * tv / (1.0 - tv)
            lli, _, _ = _components(Ys[i : i + 1], Vs[i : i + 1], tauv, m0, p0)
            lp = lli[0] + _log_prior(tauv, prior, scale) + np.log(scale / (1.0 - tv) ** 2) - shift[i]
            out_[i] = cum[i, j[i]] + half[i] * (np.exp(lp) * _GL_W).sum() / total[i]
        return out_

    return _Posterior(p, mu, s2, tau, tau_cdf)


def _mu_prior(mean: float, sd: float | None) -> tuple[float, float]:
    """(m0, p0) of the normal prior on μ; p0 = 0 is the flat prior."""
    if sd is None:
        return 0.0, 0.0
    if not (math.isfinite(float(sd)) and sd > 0 and math.isfinite(float(mean))):
        raise ValueError(f"Invalid mu prior: mean {mean!r}, sd {sd!r}; the sd must be a number > 0 (None: flat)")
    return float(mean), 1.0 / float(sd) ** 2


def bayes_pool_many(
    Y: ArrayLike, V: ArrayLike, tau_prior: str = "halfnormal", tau_scale: float = 0.5, level: float = 0.95,
    *, tau_quantiles: bool = True, predictive: bool = True, mu_prior_mean: float = 0.0,
    mu_prior_sd: float | None = None,
) -> BayesPoolArrays:
    """:func:`bayes_pool` for many cells of equal k at once (Y, V of shape (cells, k)); for simulations.

    ``tau_quantiles=False`` skips the τ median and interval (NaN; they need one small integral per
    cell and bisection step) and ``predictive=False`` the predictive interval, for simulations that
    look at μ only. Intervals are equal-tailed.

    Examples
    --------
    >>> r = bayes_pool_many([[0.1, 0.3, 0.2], [0.5, 0.4, 0.9]], [[0.02] * 3] * 2)
    >>> r.estimate.round(3).tolist()
    [0.2, 0.6]
    """
    prior = check_choice(tau_prior, TAU_PRIORS, "tau_prior")
    lv = check_level(level)
    scale = float(tau_scale)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"Invalid tau_scale {tau_scale!r}; must be a number > 0")
    m0, p0 = _mu_prior(mu_prior_mean, mu_prior_sd)
    Yc = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    Vc = np.atleast_2d(np.asarray(V, dtype=np.float64))
    if Yc.shape != Vc.shape:
        raise ValueError(f"Y and V must have equal shape; got {Yc.shape}, {Vc.shape}")
    n, k = Yc.shape
    out = {name: np.full(n, np.nan) for name in ("estimate", "ci_low", "ci_high", "mean", "sd", "tau_median",
                                           "tau_ci_low", "tau_ci_high", "pi_low", "pi_high", "tau_mean",
                                           "tau_sd")}  # fmt: skip
    a = (1 - lv) / 2
    step = max(1, 2_000_000 // (_T.size * max(k, 1)))  # cells per chunk: bounded memory on a shared machine
    for s in range(0, n, step):
        post = _posterior(Yc[s : s + step], Vc[s : s + step], prior, scale, m0, p0)
        p, mu, s2, tau = post.p, post.mu, post.s2, post.tau
        m1 = (p * mu).sum(axis=1)
        out["mean"][s : s + step] = m1
        out["sd"][s : s + step] = np.sqrt((p * (s2 + mu**2)).sum(axis=1) - m1**2)
        t1 = (p * tau[None, :]).sum(axis=1)
        out["tau_mean"][s : s + step] = t1
        out["tau_sd"][s : s + step] = np.sqrt(np.maximum((p * tau[None, :] ** 2).sum(axis=1) - t1**2, 0.0))
        sd_mu, sd_pred = np.sqrt(s2), np.sqrt(s2 + tau[None, :] ** 2)
        wanted = ((sd_mu, ("ci_low", "estimate", "ci_high")), (sd_pred, ("pi_low", None, "pi_high")))
        for sd, names in wanted[: 2 if predictive else 1]:
            for name, q in zip(names, (a, 0.5, 1 - a), strict=True):
                if name is not None:
                    out[name][s : s + step] = post.quantile(sd, q)
        for name, q in (("tau_ci_low", a), ("tau_median", 0.5), ("tau_ci_high", 1 - a)) if tau_quantiles else ():
            out[name][s : s + step] = post.tau_quantile(q, scale)
    return BayesPoolArrays(**out, k=k, tau_prior=prior, tau_scale=scale, level=lv)


def _shortest(quantile: Callable[[float], float], level: float, floor: float | None = None) -> tuple[float, float]:
    """Shortest interval of probability ``level`` of a unimodal distribution from its quantile function:
    minimise Q(a + level) − Q(a) over the lower tail a ∈ [0, 1 − level] by golden-section search (the
    length is convex in a for a unimodal density). ``floor``: the lower end of the support (τ ≥ 0), where
    the interval may start (a = 0), as bayesmeta's ``post.interval(method="shortest")`` allows."""
    length = lambda a: quantile(a + level) - (floor if a <= 0 and floor is not None else quantile(a))  # noqa: E731
    lo, hi = 0.0, 1.0 - level
    g = (math.sqrt(5) - 1) / 2
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = length(x1), length(x2)
    while hi - lo > 1e-12:
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = length(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = length(x2)
    best = 0.5 * (lo + hi)
    if floor is not None and length(0.0) <= length(best):
        return floor, quantile(level)
    return quantile(best), quantile(best + level)


@dataclass(frozen=True)
class BayesPoolResult:
    """Result of :func:`bayes_pool` (DESIGN.md round 2): ``estimate`` is the posterior median of μ,
    ``ci_low``/``ci_high`` its credible interval, ``tau_median`` (with its interval) the posterior median
    of τ, ``pi_low``/``pi_high`` the interval of the posterior predictive distribution of a new study's θ;
    intervals equal-tailed (``interval="central"``) or shortest. ``mean``/``sd``: posterior mean and SD of
    μ, ``tau_mean``/``tau_sd`` those of τ. ``mu_prior_sd`` None: flat prior on μ."""

    estimate: float
    ci_low: float
    ci_high: float
    mean: float
    sd: float
    tau_median: float
    tau_ci_low: float
    tau_ci_high: float
    pi_low: float
    pi_high: float
    k: int
    tau_prior: str
    tau_scale: float
    level: float
    method: str = "bayes"
    tau_mean: float = math.nan
    tau_sd: float = math.nan
    mu_prior_mean: float = 0.0
    mu_prior_sd: float | None = None
    interval: str = "central"

    def exp(self) -> tuple[float, float, float]:
        """(median, CI low, CI high) of μ back-transformed with exp (for log ratios)."""
        return math.exp(self.estimate), math.exp(self.ci_low), math.exp(self.ci_high)

    def __str__(self) -> str:
        pct = f"{100 * self.level:g}%"
        mu_prior = ("flat prior on mu" if self.mu_prior_sd is None
                    else f"normal({self.mu_prior_mean:g}, sd {self.mu_prior_sd:g}) prior on mu")
        kind = "" if self.interval == "central" else f"; {self.interval} intervals"
        return (f"Bayesian random effects (k = {self.k}; {mu_prior}, {self.tau_prior}({self.tau_scale:g}) "
                f"prior on tau{kind})\nmu: median {self.estimate:.4f} ({pct} CrI {self.ci_low:.4f} to "
                f"{self.ci_high:.4f})\ntau: median {self.tau_median:.4f} ({pct} CrI {self.tau_ci_low:.4f} to "
                f"{self.tau_ci_high:.4f})\n{pct} predictive interval: [{self.pi_low:.4f}, {self.pi_high:.4f}]")


INTERVALS: tuple[str, ...] = ("central", "shortest")


def bayes_pool(
    yi: ArrayLike, vi: ArrayLike, tau_prior: str = "halfnormal", tau_scale: float = 0.5, level: float = 0.95,
    *, mu_prior_mean: float = 0.0, mu_prior_sd: float | None = None, interval: str = "central",
) -> BayesPoolResult:
    """Bayesian random-effects meta-analysis (normal-normal model; bayesmeta's approach).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effects (e.g. log hazard ratios) and sampling variances; k >= 1 (the prior on τ makes k = 1 and
        k = 2 well defined).
    tau_prior : {"halfnormal", "halfcauchy"}
        Prior on τ.
    tau_scale : float
        Its scale (0.5 on the log-ratio scale: Röver et al. 2021).
    level : float
        Probability of the credible and predictive intervals.
    mu_prior_mean, mu_prior_sd : float, float or None
        Normal prior on μ (bayesmeta's ``mu.prior.mean``/``mu.prior.sd``; sd 4 is the unit-information
        prior for log odds ratios, Röver 2020 Sec. 2.2). None (default): flat prior.
    interval : {"central", "shortest"}
        Equal-tailed intervals (default) or the shortest ones bayesmeta prints by default.

    Returns
    -------
    BayesPoolResult

    Examples
    --------
    >>> r = bayes_pool([-0.36, -0.10, -0.22], [0.02, 0.03, 0.05])
    >>> round(r.estimate, 3), r.k
    (-0.24, 3)
    """
    y, v = check_yi_vi(yi, vi)
    kind = check_choice(interval, INTERVALS, "interval")
    r = bayes_pool_many(y[None, :], v[None, :], tau_prior, tau_scale, level, mu_prior_mean=mu_prior_mean,
                        mu_prior_sd=mu_prior_sd)
    names = ("estimate", "ci_low", "ci_high", "mean", "sd", "tau_median", "tau_ci_low", "tau_ci_high", "pi_low",
             "pi_high", "tau_mean", "tau_sd")
    vals = {name: float(getattr(r, name)[0]) for name in names}
    if kind == "shortest":
        m0, p0 = _mu_prior(mu_prior_mean, mu_prior_sd)
        post = _posterior(y[None, :], v[None, :], r.tau_prior, r.tau_scale, m0, p0)
        sd_mu, sd_pred = np.sqrt(post.s2), np.sqrt(post.s2 + post.tau[None, :] ** 2)
        vals["ci_low"], vals["ci_high"] = _shortest(lambda q: float(post.quantile(sd_mu, q)[0]), r.level)
        vals["pi_low"], vals["pi_high"] = _shortest(lambda q: float(post.quantile(sd_pred, q)[0]), r.level)
        vals["tau_ci_low"], vals["tau_ci_high"] = _shortest(
            lambda q: float(post.tau_quantile(q, r.tau_scale)[0]), r.level, floor=0.0)
    return BayesPoolResult(**vals, k=int(y.size), tau_prior=r.tau_prior, tau_scale=r.tau_scale, level=r.level,
                           mu_prior_mean=float(mu_prior_mean), mu_prior_sd=None if mu_prior_sd is None
                           else float(mu_prior_sd), interval=kind)
