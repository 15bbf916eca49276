"""Mixed-effects meta-regression, as metafor ``rma(yi, vi, mods=X, method=, test=)``.

The model is ``yi = X β + u_i + e_i`` with ``u_i ~ N(0, τ²)`` (residual heterogeneity) and
``e_i ~ N(0, vi)``. Every estimator of τ² is the one of metafor 3.8 ``rma.uni`` with moderators,
including its quirks (named where they occur). References:

- Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the random-effects
  model. J Educ Behav Stat 30:261-293 (Fisher scoring for ML/REML, the HE/HS/DL forms with X).
- Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
- Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
  covariate. Stat Med 22:2693-2710.
- Raudenbush SW (2009). Analyzing effect sizes: random-effects models (pseudo-R²).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from meta._checks import METHODS, TESTS, check_choice, check_level, check_yi_vi

__all__ = ["MetaRegressionResult", "meta_regression"]

# metafor's default ``control`` is threshold=1e-5, maxiter=100; we converge much tighter so that
# results agree with metafor run with control=list(threshold=1e-10, maxiter=1000).
THRESHOLD = 1e-10
MAXITER = 1000
_EVTOL = 1e-7  # metafor: eigenvalues of X'X <= evtol -> "Model matrix not of full rank"


@dataclass(frozen=True, eq=False)
class MetaRegressionResult:
    """Result of :func:`meta_regression` (fields mirror metafor's ``rma.uni`` object)."""

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    vcov: np.ndarray
    qm: float
    qm_df: tuple[int, int | None]
    qm_p: float
    tau2: float
    qe: float
    qe_df: int
    qe_p: float
    i2: float
    h2: float
    r2: float
    k: int
    p: int
    method: str
    test: str
    level: float
    converged: bool

    @property
    def ddf(self) -> int | None:
        """Denominator degrees of freedom of the t/F tests (``None`` under ``test="z"``)."""
        return self.qm_df[1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary of every field (arrays and tuples become lists)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.tolist() if isinstance(value, np.ndarray) else (
                list(value) if isinstance(value, tuple) else value)
        return out

    def __str__(self) -> str:
        stat_name = "z" if self.test == "z" else "t"
        lines = [
            f"Mixed-effects meta-regression (k = {self.k}; tau^2 estimator: {self.method}; test: {self.test})",
            f"tau^2 (residual) = {self.tau2:.4f}   I^2 = {self.i2:.2f}%   H^2 = {self.h2:.4f}   "
            f"R^2 = {self.r2:.2f}%",
            f"QE(df = {self.qe_df}) = {self.qe:.4f}, p = {self.qe_p:.4g}",
        ]
        if self.test == "z":
            lines.append(f"QM(df = {self.qm_df[0]}) = {self.qm:.4f}, p = {self.qm_p:.4g}")
        else:
            lines.append(f"F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]}) = {self.qm:.4f}, p = {self.qm_p:.4g}")
        width = max(len(n) for n in self.names)
        lines.append(f"{'':{width}}  {'estimate':>10} {'se':>9} {stat_name + 'val':>9} {'pval':>9} "
                     f"{'ci.lb':>9} {'ci.ub':>9}")
        for j, name in enumerate(self.names):
            lines.append(f"{name:{width}}  {self.coef[j]:10.4f} {self.se[j]:9.4f} {self.stat[j]:9.4f} "
                         f"{self.p_value[j]:9.4g} {self.ci_low[j]:9.4f} {self.ci_high[j]:9.4f}")
        if not self.converged:
            lines.append("WARNING: the tau^2 iteration did not converge.")
        return "\n".join(lines)


def _design(X: Any, k: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Model matrix with an intercept; strings/categoricals dummy-coded like R's treatment contrasts."""
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame):
        cols: list[np.ndarray] = []
        names: list[str] = []
        for col in X.columns:
            s = X[col]
            if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or s.dtype == bool \
                    or pd.api.types.is_string_dtype(s.dtype):
                if s.isna().any():
                    raise ValueError(f"moderator {col!r} has missing values")
                if isinstance(s.dtype, pd.CategoricalDtype):
                    levels = [lv for lv in s.cat.categories if (s == lv).any()]
                else:
                    levels = sorted(pd.unique(s))  # R: factor() sorts the levels
                label = {True: "TRUE", False: "FALSE"}
                for lv in levels[1:]:  # first level is the reference (contr.treatment)
                    cols.append((s == lv).to_numpy(dtype=float))
                    names.append(f"{col}{label.get(lv, lv) if isinstance(lv, bool) else lv}")
            else:
                cols.append(pd.to_numeric(s).to_numpy(dtype=float))
                names.append(str(col))
        mat = np.column_stack(cols) if cols else np.empty((len(X), 0))
    else:
        mat = np.asarray(X, dtype=float)
        if mat.ndim == 1:
            mat = mat[:, None]
        if mat.ndim != 2:
            raise ValueError(f"X must be 1- or 2-dimensional; got an array of shape {mat.shape}")
        names = [f"x{j + 1}" for j in range(mat.shape[1])]
    if mat.shape[0] != k:
        raise ValueError(f"X has {mat.shape[0]} rows but there are {k} studies (yi/vi); they must match")
    if mat.shape[1] == 0:
        raise ValueError("X has no moderator columns; use pool() for an intercept-only model")
    if not np.all(np.isfinite(mat)):
        raise ValueError("X contains missing or non-finite values")
    full = np.column_stack([np.ones(k), mat])
    if np.linalg.eigvalsh(full.T @ full).min() <= _EVTOL:
        raise ValueError("Singular design matrix: the moderators (with the intercept) are linearly dependent "
                         "or constant; drop a redundant column")
    return full, ("intrcpt", *names)


def _pmat(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """P = W − W X (X'WX)⁻¹ X'W (Viechtbauer 2005, eq. 6)."""
    Xw = X * w[:, None]
    return np.diag(w) - Xw @ np.linalg.solve(X.T @ Xw, Xw.T)


def _ll0_check(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float, method: str) -> float:
    """metafor's ll0check: τ² = 0 if the (restricted) likelihood is larger there (a stuck Fisher scoring)."""
    k, p = X.shape

    def ll(t2: float) -> float:
        w = 1.0 / (v + t2)
        xtwx = X.T @ (X * w[:, None])
        beta = np.linalg.solve(xtwx, X.T @ (w * y))
        rss = float(np.sum(w * (y - X @ beta) ** 2))
        if method == "ML":
            return -0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + t2)) - 0.5 * rss
        return (-0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + t2))
                - 0.5 * np.linalg.slogdet(xtwx)[1] - 0.5 * rss)

    if ll(0.0) - ll(tau2) > np.finfo(float).eps ** 0.25 and tau2 > THRESHOLD:
        warnings.warn("Fisher scoring may have got stuck at a local maximum; setting tau^2 = 0 (as metafor)",
                      RuntimeWarning, stacklevel=4)
        return 0.0
    return tau2


def residual_tau2(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, method: str) -> tuple[float, bool]:
    """Residual τ² for the model matrix ``X`` (intercept included), as metafor ``rma.uni``.

    Returns ``(tau2, converged)``; ``tau2`` is floored at 0.
    """
    k, p = X.shape
    y = yi - yi.mean()  # metafor uses the mean-centred yi (Ymc); P annihilates the intercept anyway
    converged = True
    if method in ("HS", "DL"):
        w = 1.0 / vi
        rss = float(y @ _pmat(X, w) @ y)
        if method == "HS":
            tau2 = (rss - k) / w.sum()  # metafor 3.8: (RSS − k)/Σw, k not k − p (its "HSk" rescales)
        else:
            tau2 = (rss - (k - p)) / np.trace(_pmat(X, w))  # DerSimonian & Laird 1986, with X
    elif method == "SJ":
        # Sidik & Jonkman 2005; metafor 3.8 starts from var(yi)(k−1)/k even with moderators
        tau0 = float(np.var(y))
        rss = float(y @ _pmat(X, 1.0 / (vi + tau0)) @ y)
        tau2 = tau0 * rss / (k - p)
    elif method == "PM":
        tau2, converged = _paule_mandel(y, vi, X, yi)
    else:  # HE, and the starting value of ML/REML/EB
        P = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
        tau2 = (float(y @ P @ y) - float(np.sum(np.diag(P) * vi))) / (k - p)  # Hedges 1983 with X
        if method in ("ML", "REML", "EB"):
            tau2, converged = _fisher_scoring(y, vi, X, max(0.0, tau2), method)
            if converged and method in ("ML", "REML"):
                tau2 = _ll0_check(y, vi, X, tau2, method)
    return max(0.0, float(tau2)), converged


def _fisher_scoring(y: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float,
                    method: str) -> tuple[float, bool]:
    """Fisher scoring for ML/REML (Viechtbauer 2005, eqs. 9-10) and the EB (Morris 1983) update."""
    k, p = X.shape
    for _ in range(MAXITER + 1):
        w = 1.0 / (vi + tau2)
        P = _pmat(X, w)
        if method == "ML":
            Py = P @ y
            adj = (Py @ Py - w.sum()) / np.sum(w**2)
        elif method == "REML":
            Py = P @ y
            adj = (Py @ Py - np.trace(P)) / np.sum(P * P.T)
        else:  # EB
            adj = (y @ P @ y * k / (k - p) - k) / w.sum()
        adj = 0.0 if np.isnan(adj) else float(adj)
        while tau2 + adj < 0.0:  # metafor step-halving at tau2.min = 0
            adj /= 2
        old, tau2 = tau2, tau2 + adj
        if abs(old - tau2) <= THRESHOLD:
            return tau2, True
    warnings.warn(f"{method} Fisher scoring did not converge in {MAXITER} iterations; "
                  "the result is flagged converged=False", RuntimeWarning, stacklevel=4)
    return tau2, False


def _paule_mandel(y: np.ndarray, vi: np.ndarray, X: np.ndarray, yi: np.ndarray) -> tuple[float, bool]:
    """Paule & Mandel 1982 with moderators: root of Q(τ²) = k − p (metafor: uniroot on [0, tau2.max])."""
    k, p = X.shape

    def excess(t2: float) -> float:
        return float(y @ _pmat(X, 1.0 / (vi + t2)) @ y) - (k - p)

    if excess(0.0) < 0:
        return 0.0, True
    mad = 1.4826 * np.median(np.abs(yi - np.median(yi)))
    upper = max(100.0, 10 * mad**2)  # metafor's tau2.max
    # metafor stops when Q(tau2.max) > k − p; we widen the bracket instead (the root exists: Q → 0)
    while excess(upper) > 0:
        upper *= 10
        if upper > 1e12:
            warnings.warn("PM estimator: no root of the generalised Q below 1e12", RuntimeWarning, stacklevel=4)
            return upper, False
    root, info = optimize.brentq(excess, 0.0, upper, xtol=1e-14, rtol=4 * np.finfo(float).eps,
                                 maxiter=MAXITER, full_output=True, disp=False)
    if not info.converged:
        warnings.warn("PM estimator: root search did not converge", RuntimeWarning, stacklevel=4)
    return float(root), bool(info.converged)


def meta_regression(yi: Any, vi: Any, X: Any, method: str = "REML", test: str = "z",
                    level: float = 0.95) -> MetaRegressionResult:
    """Fit a mixed-effects meta-regression, as metafor ``rma(yi, vi, mods=X, method=, test=)``.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and their sampling variances (all > 0).
    X : array_like, shape (k, p), or DataFrame
        Moderators without an intercept column (one is added). A DataFrame's column names become the
        coefficient names; string/categorical/bool columns are dummy-coded with the first level as
        reference (R's treatment contrasts; the name is column + level, e.g. ``allocrandom``).
    method : {"DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"}
        Estimator of the residual heterogeneity τ².
    test : {"z", "knha", "adhoc"}
        Wald z-tests, or Knapp-Hartung t/F-tests on k − p df ("adhoc": variance factor floored at 1).
    level : float
        Confidence level of the coefficient intervals.

    Returns
    -------
    MetaRegressionResult
        ``coef``, ``se``, ``stat``, ``p_value``, ``ci_low``, ``ci_high`` per coefficient (intercept first;
        ``p`` is the number of coefficients, as metafor);
        ``qm``/``qm_p`` omnibus test of the moderators; ``tau2``, ``qe``, ``i2``, ``h2``, ``r2`` (percent).

    Examples
    --------
    >>> import numpy as np
    >>> yi = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02])
    >>> vi = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53, 0.07])
    >>> lat = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33])
    >>> res = meta_regression(yi, vi, lat, method="REML")
    >>> res.names
    ('intrcpt', 'x1')
    >>> bool(res.coef[1] < 0)
    True
    """
    check_choice(method, METHODS, "method")
    check_choice(test, TESTS, "test")
    level = check_level(level)
    y, v = check_yi_vi(yi, vi)
    k = y.size
    Xm, names = _design(X, k)
    p = Xm.shape[1]
    if p + 1 > k:
        raise ValueError(f"Too few studies: {p} coefficients and tau^2 need k >= {p + 1}; got k = {k}")

    tau2, converged = residual_tau2(y, v, Xm, method)

    w = 1.0 / (v + tau2)
    xtwx = Xm.T @ (Xm * w[:, None])
    vb = np.linalg.inv(xtwx)
    beta = vb @ (Xm.T @ (w * y))
    df2: int | None = None
    if test in ("knha", "adhoc"):
        rss = float(np.sum(w * (y - Xm @ beta) ** 2))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)  # Knapp & Hartung 2003, eq. 7
        if test == "adhoc":
            s2w = max(s2w, 1.0)
        vb = s2w * vb
        df2 = k - p
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    btt = slice(1, p)  # all coefficients but the intercept
    m = p - 1
    qm = float(beta[btt] @ np.linalg.solve(vb[btt, btt], beta[btt]))  # Wald omnibus test
    if df2 is not None:
        qm /= m  # metafor: F-test on (m, k − p) df under knha/adhoc
        qm_p = float(stats.f.sf(qm, m, df2)) if df2 > 0 else float("nan")
        pval = 2 * stats.t.sf(np.abs(stat), df2) if df2 > 0 else np.full(p, np.nan)
        crit = float(stats.t.isf((1 - level) / 2, df2)) if df2 > 0 else float("nan")
    else:
        qm_p = float(stats.chi2.sf(qm, m))
        pval = 2 * stats.norm.sf(np.abs(stat))
        crit = float(stats.norm.isf((1 - level) / 2))

    if k > p:  # residual heterogeneity test (Cochran's Q with moderators) and I², H² (Higgins 2002)
        P = _pmat(Xm, 1.0 / v)
        yc = y - y.mean()
        qe = max(0.0, float(yc @ P @ yc))
        qe_p = float(stats.chi2.sf(qe, k - p))
        vt = (k - p) / np.trace(P)  # the "typical" sampling variance
        i2, h2 = 100 * tau2 / (vt + tau2), tau2 / vt + 1
    else:
        qe, qe_p, i2, h2 = 0.0, 1.0, 0.0, 1.0

    # pseudo-R² (Raudenbush 2009): (τ²_RE − τ²_ME)/τ²_RE in percent, floored at 0; 0 when τ²_RE = 0
    tau2_re, _ = residual_tau2(y, v, np.ones((k, 1)), method)
    r2 = 0.0 if tau2_re == 0 else max(0.0, 100 * (tau2_re - tau2) / tau2_re)

    return MetaRegressionResult(
        names=names, coef=beta, se=se, stat=stat, p_value=np.asarray(pval, dtype=float),
        ci_low=beta - crit * se, ci_high=beta + crit * se, vcov=vb,
        qm=qm, qm_df=(m, df2), qm_p=qm_p, tau2=tau2, qe=qe, qe_df=k - p, qe_p=qe_p, i2=float(i2),
        h2=float(h2), r2=float(r2), k=k, p=p, method=method, test=test, level=level,
        converged=converged,
    )
