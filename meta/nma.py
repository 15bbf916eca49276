"""Frequentist contrast-based network meta-analysis with one common τ² (:func:`nma`).

The model and its inputs are described in :mod:`meta.nma_data`, the estimators in
:mod:`meta.nma_fit`, the inconsistency assessment in :mod:`meta.nma_inconsistency`. Estimates agree
with metafor ``rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ contrast | study, rho = 1/2)``
(``tests/reference/make_reference_nma.R``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from meta._checks import check_choice, check_level
from meta.nma_data import DisconnectedNetwork, NetworkData, build_network, components
from meta.nma_fit import NMA_METHODS, chi2_sf, estimate_tau2, gls
from meta.nma_inconsistency import node_split, q_decomposition

SMALL_VALUES = ("good", "bad")


@dataclass(frozen=True, eq=False)
class NMAResult:
    """A fitted network. Effects are on the analysis scale (log HR for HRs); ``exp=True`` back-transforms.

    Attributes
    ----------
    treatments, reference, method, level, small_values
    coef : array (T,)        effect of each treatment vs the reference (0 for the reference)
    cov : array (T, T)       their covariance (zero row/column for the reference)
    tau2, converged
    q, q_df, q_p             common-effect Q of the consistency model (= metafor QE)
    decomposition : DataFrame  Q split into within-design heterogeneity and between-design inconsistency
    q_designs : DataFrame      within-design Q of each design with df > 0
    q_between_random : dict    between-design Q under random effects at τ²_within (netmeta Q.inc.random)
    split : DataFrame          node splitting (direct vs indirect) for every comparison with both
    network : NetworkData      the stacked model (studies, designs) behind the fit
    """

    treatments: tuple[str, ...]
    reference: str
    method: str
    level: float
    small_values: str
    coef: np.ndarray
    cov: np.ndarray
    tau2: float
    converged: bool
    q: float
    q_df: int
    q_p: float
    decomposition: pd.DataFrame
    q_designs: pd.DataFrame
    q_between_random: dict[str, float]
    split: pd.DataFrame
    network: NetworkData = field(repr=False)

    def _i(self, t: str) -> int:
        try:
            return self.treatments.index(t)
        except ValueError:
            raise ValueError(f"Invalid treatment {t!r}; must be one of {', '.join(self.treatments)}") from None

    def relative(self, t1: str, t2: str) -> tuple[float, float]:
        """(estimate, se) of t1 vs t2 on the analysis scale: coef[t1] − coef[t2]."""
        i, j = self._i(t1), self._i(t2)
        var = self.cov[i, i] + self.cov[j, j] - 2 * self.cov[i, j]
        return float(self.coef[i] - self.coef[j]), math.sqrt(max(var, 0.0))

    def _row(self, t1: str, t2: str, exp: bool) -> dict[str, Any]:
        est, se = self.relative(t1, t2)
        z = norm.ppf(0.5 + self.level / 2)
        lo, hi = est - z * se, est + z * se
        p = float(2 * norm.sf(abs(est / se))) if se > 0 else math.nan
        if exp:
            est, lo, hi = math.exp(est), math.exp(lo), math.exp(hi)
        return {"treat1": t1, "treat2": t2, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "p_value": p}

    @property
    def estimates(self) -> pd.DataFrame:
        """Every treatment but the reference vs the reference: treatment, estimate, se, ci_low, ci_high, p_value."""
        rows = [self._row(t, self.reference, False) for t in self.treatments if t != self.reference]
        df = pd.DataFrame(rows).drop(columns="treat2").rename(columns={"treat1": "treatment"})
        return df

    def league(self, exp: bool = False) -> pd.DataFrame:
        """Every ordered pair (treat1 vs treat2) with estimate, se, CI and p (``exp``: ratio scale)."""
        return pd.DataFrame([self._row(a, b, exp) for a in self.treatments for b in self.treatments if a != b])

    def league_matrix(self, exp: bool = False, digits: int = 2) -> pd.DataFrame:
        """Square league table: cell (row a, column b) = a vs b, "est (low, high)"; treatments by P-score."""
        order = list(self.pscores.index)
        cells = {(r["treat1"], r["treat2"]): r for r in self.league(exp).to_dict("records")}
        fmt = f"{{:.{digits}f}}"
        out = pd.DataFrame(index=order, columns=order, dtype=object)
        for a in order:
            for b in order:
                if a == b:
                    out.loc[a, b] = a
                else:
                    est, lo, hi = (fmt.format(cells[(a, b)][f]) for f in ("estimate", "ci_low", "ci_high"))
                    out.loc[a, b] = f"{est} ({lo}, {hi})"
        return out

    @property
    def pscores(self) -> pd.Series:
        """P-scores (Rücker & Schwarzer 2015), highest first.

        ``P_i = 1/(T − 1) Σ_{j≠i} Φ((θ_j − θ_i)/se_ij)`` when small values are good (θ = effect vs the
        reference, e.g. log HR of death), with the sign reversed when ``small_values="bad"``.
        """
        T = len(self.treatments)
        if T < 2:
            return pd.Series(dtype=float, name="pscore")
        sign = 1.0 if self.small_values == "good" else -1.0
        ps = np.zeros(T)
        for i in range(T):
            for j in range(T):
                if i != j:
                    est, se = self.relative(self.treatments[j], self.treatments[i])
                    ps[i] += norm.cdf(sign * est / se)
        s = pd.Series(ps / (T - 1), index=list(self.treatments), name="pscore")
        return s.sort_values(ascending=False, kind="stable")

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary: method, reference, τ², Q and its decomposition."""
        return {"method": self.method, "reference": self.reference, "treatments": list(self.treatments),
                "studies": len(self.network.blocks), "tau2": self.tau2, "converged": self.converged,
                "q": self.q, "q_df": self.q_df, "q_p": self.q_p,
                "q_between_designs": float(self.decomposition.loc["between_designs", "q"]),
                "q_within_designs": float(self.decomposition.loc["within_designs", "q"])}


def default_reference(net: NetworkData) -> str:
    """The treatment in most studies (ties: alphabetical), as the network's common comparator."""
    count: dict[str, int] = {}
    for b in net.blocks:
        for t in (b.baseline, *b.arms):
            count[t] = count.get(t, 0) + 1
    return sorted(count, key=lambda t: (-count[t], t))[0]


def nma(contrasts: pd.DataFrame | Any, reference: str | None = None, method: str = "REML",
        small_values: str = "good", level: float = 0.95) -> NMAResult:
    """Contrast-based network meta-analysis, one common τ² (random effects) or common effect (``FE``).

    Parameters
    ----------
    contrasts : DataFrame
        ``study, treat1, treat2, yi, vi``: yi is treat1 vs treat2 on the analysis scale (log HR, log OR,
        MD), vi its sampling variance. Multi-arm studies: the a − 1 contrasts against one shared arm
        with optional column ``vi_shared`` (that arm's variance = the contrasts' covariance), or all
        a(a − 1)/2 pairwise contrasts, from which the arm variances are recovered as netmeta does
        (v_ij = v_i + v_j); see :mod:`meta.nma_data`.
    reference : str, optional
        Treatment the estimates are expressed against; default the one in most studies.
    method : {"REML", "ML", "DL", "FE"}
    small_values : {"good", "bad"}
        For P-scores: "good" when a smaller effect is better (HR of death, OR of an adverse event).
    level : float

    Raises
    ------
    DisconnectedNetwork
        When the treatments form several components (``.components`` lists them).

    Examples
    --------
    >>> df = pd.DataFrame({"study": ["s1", "s2", "s3"], "treat1": ["b", "c", "c"],
    ...                    "treat2": ["a", "a", "b"], "yi": [-0.2, -0.5, -0.25], "vi": [0.04, 0.05, 0.06]})
    >>> res = nma(df, reference="a", method="FE")
    >>> round(res.relative("c", "a")[0], 4), list(res.pscores.index)
    (-0.4833, ['c', 'b', 'a'])
    """
    check_choice(method, NMA_METHODS, "method")
    check_choice(small_values, SMALL_VALUES, "small_values")
    level = check_level(level)
    net = build_network(contrasts)
    parts = components([(b.baseline, a) for b in net.blocks for a in b.arms], list(net.treatments))
    if len(parts) > 1:
        raise DisconnectedNetwork(parts)
    if reference is None:
        reference = default_reference(net)
    elif reference not in net.treatments:
        raise ValueError(f"Invalid reference {reference!r}; must be one of {', '.join(net.treatments)}")
    X, others = net.design_matrix(reference)
    tau2, converged = estimate_tau2(method, net.y, X, net.V, net.P)
    fit = gls(net.y, X, net.V + tau2 * net.P)
    T = len(net.treatments)
    pos = [net.treatments.index(t) for t in others]
    coef, cov = np.zeros(T), np.zeros((T, T))
    coef[pos] = fit.b
    cov[np.ix_(pos, pos)] = fit.vb
    fe = gls(net.y, X, net.V)
    q_df = len(net.y) - X.shape[1]
    decomp, designs, random = q_decomposition(net, X)
    partial = NMAResult(net.treatments, reference, method, level, small_values, coef, cov, tau2, converged,
                        fe.q, q_df, chi2_sf(fe.q, q_df), decomp, designs, random, pd.DataFrame(), net)
    split = node_split(net, partial.relative, tau2, level)
    return NMAResult(net.treatments, reference, method, level, small_values, coef, cov, tau2, converged,
                     fe.q, q_df, chi2_sf(fe.q, q_df), decomp, designs, random, split, net)
