"""Generalised least squares and the common τ² of a contrast-based network meta-analysis.

Model (see :mod:`meta.nma_data`): ``y ~ N(X·d, V + τ²·P)``. Given τ², d is the GLS estimate
``(X'Σ⁻¹X)⁻¹ X'Σ⁻¹ y`` with covariance ``(X'Σ⁻¹X)⁻¹`` (Salanti et al. 2008; metafor ``rma.mv``).

τ² estimators:

* ``REML`` / ``ML``: Fisher scoring on the restricted / full likelihood (Harville 1977; the
  likelihood metafor ``rma.mv`` maximises), with step halving when the likelihood falls; τ² ≥ 0.
* ``DL``: the method-of-moments estimator for a common τ² with known structure P (Jackson, White &
  Riley 2012), ``max(0, (Q − (k − p)) / tr(R·P))`` with ``R = W − W X (X'WX)⁻¹ X'W``, ``W = V⁻¹``;
  netmeta uses it for ``tau.within`` and for two-arm networks it equals metafor ``rma(method="DL")``.
* ``FE``: τ² = 0 (common-effect network).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

NMA_METHODS: tuple[str, ...] = ("REML", "ML", "DL", "FE")


@dataclass(frozen=True, eq=False)
class GLSFit:
    """GLS fit at fixed Σ: coefficients, their covariance, the residual Q = r'Σ⁻¹r."""

    b: np.ndarray
    vb: np.ndarray
    q: float


def gls(y: np.ndarray, X: np.ndarray, S: np.ndarray) -> GLSFit:
    """GLS of y on X with covariance S (no intercept).

    Examples
    --------
    >>> f = gls(np.array([1.0, 3.0]), np.ones((2, 1)), np.eye(2))
    >>> float(f.b[0]), float(f.vb[0, 0]), float(f.q)
    (2.0, 0.5, 2.0)
    """
    Si = np.linalg.inv(S)
    if X.shape[1] == 0:
        return GLSFit(np.zeros(0), np.zeros((0, 0)), float(y @ Si @ y))
    XtSi = X.T @ Si
    vb = np.linalg.inv(XtSi @ X)
    vb = (vb + vb.T) / 2
    b = vb @ (XtSi @ y)
    r = y - X @ b
    return GLSFit(b, vb, float(r @ Si @ r))


def _residual_projector(X: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``R = Σ⁻¹ − Σ⁻¹X(X'Σ⁻¹X)⁻¹X'Σ⁻¹`` (so that Q = y'Ry)."""
    Si = np.linalg.inv(S)
    if X.shape[1] == 0:
        return Si
    XtSi = X.T @ Si
    return Si - XtSi.T @ np.linalg.solve(XtSi @ X, XtSi)


def tau2_moment(y: np.ndarray, X: np.ndarray, V: np.ndarray, P: np.ndarray) -> float:
    """Method-of-moments τ² for a common τ² with structure P (Jackson, White & Riley 2012).

    ``E[Q] = (k − p) + τ²·tr(R P)`` with R the FE residual projector, hence
    ``τ² = max(0, (Q − (k − p)) / tr(R P))``; 0 when tr(R P) = 0 (no replication).
    """
    R = _residual_projector(X, V)
    q = float(y @ R @ y)
    df = len(y) - X.shape[1]
    denom = float(np.trace(R @ P))
    if df <= 0 or denom <= 1e-12:
        return 0.0
    return max(0.0, (q - df) / denom)


def _loglik(y: np.ndarray, X: np.ndarray, S: np.ndarray, reml: bool) -> float:
    """Log-likelihood (REML: restricted) of the model at covariance S, up to a constant."""
    logdet = np.linalg.slogdet(S)[1]
    R = _residual_projector(X, S)
    ll = -0.5 * (logdet + float(y @ R @ y))
    if reml and X.shape[1]:
        Si = np.linalg.inv(S)
        ll -= 0.5 * np.linalg.slogdet(X.T @ Si @ X)[1]
    return ll


def tau2_likelihood(y: np.ndarray, X: np.ndarray, V: np.ndarray, P: np.ndarray, reml: bool = True,
                    maxiter: int = 1000, tol: float = 1e-13) -> tuple[float, bool]:
    """τ² maximising the (restricted) likelihood by Fisher scoring, τ² ≥ 0; returns (τ², converged).

    Score and information (Harville 1977), with ``R`` the residual projector at Σ = V + τ²P:
    REML ``U = ½(y'RPRy − tr(RP))``, ``I = ½ tr(RPRP)``; ML ``U = ½(y'RPRy − tr(Σ⁻¹P))``,
    ``I = ½ tr(Σ⁻¹PΣ⁻¹P)``. A step that lowers the likelihood is halved (up to 30 times).
    Starts from the moment estimator (:func:`tau2_moment`).
    """
    if len(y) - X.shape[1] <= 0:
        return 0.0, True
    t = tau2_moment(y, X, V, P)
    ll = _loglik(y, X, V + t * P, reml)
    for _ in range(maxiter):
        S = V + t * P
        R = _residual_projector(X, S)
        Ry = R @ y
        if reml:
            RP = R @ P
            u = 0.5 * (float(Ry @ P @ Ry) - float(np.trace(RP)))
            info = 0.5 * float(np.trace(RP @ RP))
        else:
            SiP = np.linalg.solve(S, P)
            u = 0.5 * (float(Ry @ P @ Ry) - float(np.trace(SiP)))
            info = 0.5 * float(np.trace(SiP @ SiP))
        if info <= 0:
            return t, True
        step = u / info
        new = max(0.0, t + step)
        new_ll = _loglik(y, X, V + new * P, reml)
        halvings = 0
        while new_ll < ll - 1e-14 * max(1.0, abs(ll)) and halvings < 30:
            step /= 2
            new = max(0.0, t + step)
            new_ll = _loglik(y, X, V + new * P, reml)
            halvings += 1
        if abs(new - t) <= tol * max(1.0, t):
            return new, True
        t, ll = new, new_ll
    warnings.warn(f"{'REML' if reml else 'ML'} Fisher scoring for τ² did not converge within {maxiter} "
                  f"iterations (last τ² = {t:.6g})", RuntimeWarning, stacklevel=3)
    return t, False


def estimate_tau2(method: str, y: np.ndarray, X: np.ndarray, V: np.ndarray, P: np.ndarray) -> tuple[float, bool]:
    """τ² by ``method`` (one of :data:`NMA_METHODS`); returns (τ², converged)."""
    if method == "FE":
        return 0.0, True
    if method == "DL":
        return tau2_moment(y, X, V, P), True
    return tau2_likelihood(y, X, V, P, reml=(method == "REML"))


def chi2_sf(q: float, df: int) -> float:
    """Upper tail of χ²(df) at q; NaN for df ≤ 0."""
    from scipy.stats import chi2

    return float(chi2.sf(q, df)) if df > 0 and math.isfinite(q) else math.nan
