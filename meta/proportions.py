"""Pooling single-arm proportions (response rates): the binomial-normal GLMM and the logit / FT routes.

``method="GLMM"`` fits the random-intercept logistic model x_i ~ Bin(n_i, expit(θ_i)), θ_i ~ N(μ, τ²)
by maximum likelihood, the marginal likelihood integrated by 7-point adaptive Gauss–Hermite
quadrature as metafor 3.8 ``rma.glmm(measure="PLO")`` does through ``lme4::glmer(nAGQ = 7)``. It needs
no continuity correction, so zero cells (no responder in a small phase 2 trial) are used as they are
(Stijnen, Hamza & Özdemir 2010, Stat Med 29:3046; Schwarzer et al. 2019, Res Synth Methods 10:476
on why the FT transform misleads). ``"logit"`` and ``"FT"`` are the two-step routes: escalc PLO / PFT
then :func:`meta.pool`, back-transformed (inverse logit; Miller 1978 with the harmonic mean n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from meta._checks import check_choice, check_level
from meta.effect_sizes import _props, back_transform_logit, back_transform_pft, harmonic_mean, prop_ft, prop_logit
from meta.pooling import pool

__all__ = ["ProportionPoolResult", "pool_proportions"]

Array = NDArray[np.float64]
#: lme4 glmer nAGQ used by metafor rma.glmm for measure "PLO".
N_AGQ = 7
_T, _W = np.polynomial.hermite.hermgauss(N_AGQ)


@dataclass(frozen=True)
class ProportionPoolResult:
    """Pooled proportion: ``estimate``/``ci_low``/``ci_high``/``se`` on the model scale (logit for GLMM
    and logit, double arcsine for FT), ``proportion``/``prop_ci_low``/``prop_ci_high`` back-transformed."""

    estimate: float
    se: float
    stat: float
    p_value: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    h2: float
    proportion: float
    prop_ci_low: float
    prop_ci_high: float
    k: int
    method: str
    level: float
    converged: bool = True
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return (f"Pooled proportion ({self.method}; k = {self.k}): {self.proportion:.4f} "
                f"({100 * self.level:g}% CI {self.prop_ci_low:.4f} to {self.prop_ci_high:.4f}); "
                f"tau^2 = {self.tau2:.4f} (logit scale)" if self.method != "FT" else
                f"Pooled proportion (FT; k = {self.k}): {self.proportion:.4f} "
                f"({100 * self.level:g}% CI {self.prop_ci_low:.4f} to {self.prop_ci_high:.4f})")


def _loglik(params: Array, x: Array, n: Array) -> float:
    """Marginal log-likelihood of the binomial-normal model by adaptive Gauss–Hermite quadrature
    (Pinheiro & Bates 1995, J Comput Graph Stat 4:12; lme4's nAGQ > 1): each study's integrand is
    centred at its conditional mode of u (θ = μ + τu, u ~ N(0, 1)) and scaled by its curvature."""
    mu, tau = float(params[0]), float(params[1])
    u = np.zeros_like(x)
    for _ in range(50):  # Newton for the conditional mode (concave in u)
        p = special.expit(mu + tau * u)
        g = tau * (x - n * p) - u
        h = -(tau * tau) * n * p * (1 - p) - 1.0
        step = g / h
        u = u - step
        if np.max(np.abs(step)) < 1e-13:
            break
    p = special.expit(mu + tau * u)
    sig = 1.0 / np.sqrt(tau * tau * n * p * (1 - p) + 1.0)
    nodes = u[:, None] + math.sqrt(2.0) * sig[:, None] * _T[None, :]
    eta = mu + tau * nodes
    # binomial log-density without its constant, plus the N(0, 1) log-density
    f = x[:, None] * eta - n[:, None] * np.logaddexp(0.0, eta) - 0.5 * nodes**2 - 0.5 * math.log(2 * math.pi)
    logw = np.log(_W)[None, :] + _T[None, :] ** 2 + f
    li = special.logsumexp(logw, axis=1) + np.log(math.sqrt(2.0) * sig)
    return float(li.sum())


def _hessian(fun, xy: Array, h: float = 1e-4) -> Array:
    """Central finite-difference Hessian (as lme4's deriv12, step 1e-4)."""
    m = xy.size
    H = np.empty((m, m))
    for i in range(m):
        for j in range(i, m):
            ei, ej = np.eye(m)[i] * h, np.eye(m)[j] * h
            if i == j:
                H[i, i] = (fun(xy + ei) - 2 * fun(xy) + fun(xy - ei)) / h**2
            else:
                H[i, j] = H[j, i] = (fun(xy + ei + ej) - fun(xy + ei - ej) - fun(xy - ei + ej)
                                     + fun(xy - ei - ej)) / (4 * h * h)
    return H


def _glmm(x: Array, n: Array, lv: float) -> tuple[float, float, float, bool]:
    if x.sum() == 0 or x.sum() == n.sum():
        raise ValueError("every study has 0 events (or every patient has the event): the GLMM has no finite estimate")
    mu0 = math.log((x.sum() + 0.5) / (n.sum() - x.sum() + 0.5))
    nll = lambda th: -_loglik(th, x, n)  # noqa: E731
    best = None
    for tau0 in (0.3, 1.0):
        r = optimize.minimize(nll, np.array([mu0, tau0]), method="BFGS", options={"gtol": 1e-9, "maxiter": 500})
        if best is None or r.fun < best.fun:
            best = r
    assert best is not None
    r2 = optimize.minimize(nll, best.x, method="Nelder-Mead",
                           options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000})
    sol = r2.x if r2.fun <= best.fun else best.x
    mu, tau = float(sol[0]), abs(float(sol[1]))
    conv = bool(best.success or r2.success)
    if tau < 1e-5:  # boundary (τ = 0): ll is even in τ, so the fixed-effect logistic fit
        tau = 0.0
        p = x.sum() / n.sum()
        mu = math.log(p / (1 - p))
        se = math.sqrt(1.0 / (n.sum() * p * (1 - p)))
    else:
        H = _hessian(nll, np.array([mu, tau]))
        cov = np.linalg.inv(H)
        se = math.sqrt(cov[0, 0])
    return mu, se, tau * tau, conv


def pool_proportions(
    events: ArrayLike, n: ArrayLike, method: str = "GLMM", level: float = 0.95, *, tau2_method: str = "REML",
) -> ProportionPoolResult:
    """Pool single-arm proportions (events out of n per study).

    Parameters
    ----------
    events, n : array_like, shape (k,)
        Events (responders) and patients per study; zero cells are allowed.
    method : {"GLMM", "logit", "FT"}
        "GLMM" = metafor ``rma.glmm(measure="PLO")`` (ML, nAGQ = 7); "logit" = ``rma(escalc("PLO"))``;
        "FT" = ``rma(escalc("PFT"))`` back-transformed with the harmonic-mean n (Miller 1978).
    level : float
    tau2_method : str
        τ² estimator for "logit" and "FT" (:func:`meta.pool`).

    Returns
    -------
    ProportionPoolResult

    Examples
    --------
    >>> r = pool_proportions([0, 3, 1, 0, 5], [12, 20, 15, 9, 30])
    >>> round(r.proportion, 4), r.tau2
    (0.1047, 0.0)
    """
    method = check_choice(method, ("GLMM", "logit", "FT"), "method")
    lv = check_level(level)
    x, nn = _props(events, n)
    k = int(x.size)
    if k == 0:
        raise ValueError("k = 0: at least one study is needed")
    crit = float(stats.norm.isf((1 - lv) / 2))
    notes: list[str] = []
    if method == "GLMM":
        mu, se, tau2, conv = _glmm(x, nn, lv)
        lo, hi = mu - crit * se, mu + crit * se
        # metafor rma.glmm: I², H² from τ² and the typical variance of the escalc PLO vi (1/2 added to zero cells)
        _, vi = prop_logit(x, nn)
        w = 1.0 / vi
        s2 = (k - 1) * w.sum() / (w.sum() ** 2 - (w * w).sum()) if k > 1 else math.nan
        i2, h2 = 100 * tau2 / (s2 + tau2), tau2 / s2 + 1
        prop, plo, phi = (float(v) for v in back_transform_logit([mu, lo, hi]))
        if ((x == 0) | (x == nn)).any():
            notes.append("zero (or all-event) studies used as they are: the binomial GLMM needs no correction")
        z = mu / se
        return ProportionPoolResult(mu, se, z, float(2 * stats.norm.sf(abs(z))), lo, hi, tau2, i2, h2, prop, plo,
                                    phi, k, method, lv, conv, tuple(notes))
    if method == "logit":
        yi, vi = prop_logit(x, nn)
        if ((x == 0) | (x == nn)).any():
            notes.append("1/2 added to the cells of zero (or all-event) studies (escalc PLO); the GLMM needs none")
    else:
        yi, vi = prop_ft(x, nn)
    r = pool(yi, vi, method=tau2_method, level=lv, maxiter=1000)
    if method == "logit":
        prop, plo, phi = (float(v) for v in back_transform_logit([r.estimate, r.ci_low, r.ci_high]))
    else:
        prop, plo, phi = (float(v) for v in back_transform_pft([r.estimate, r.ci_low, r.ci_high], harmonic_mean(nn)))
        notes.append("Freeman–Tukey back-transformed with the harmonic mean n (Miller 1978); "
                     "the GLMM is preferred (Schwarzer et al. 2019)")
    return ProportionPoolResult(r.estimate, r.se, r.stat, r.p_value, r.ci_low, r.ci_high, r.tau2, r.i2, r.h2,
                                prop, plo, phi, k, method, lv, r.converged, tuple(notes) + r.notes)
