"""Heterogeneity and inconsistency in a network: Q decomposition by design, and node splitting.

* **Design-based decomposition of Q** (Krahn, Binder & König 2013; netmeta ``decomp.design``):
  the common-effect Q of the consistency model splits into the sum of within-design Qs (the
  common-effect Q of the full design-by-treatment interaction model, Higgins et al. 2012, one
  parameter per design and arm) and the between-design Q (design inconsistency), the difference.
  The random-effects between-design Q uses ``τ²_within``, the method-of-moments τ² of the full
  interaction model (Jackson, White & Riley 2012), as netmeta's ``Q.inc.random``: it is the drop in
  generalised Q from the consistency to the interaction model at Σ = V + τ²_within·P.
* **Node splitting by back-calculation** (König, Krahn & Binder 2013; netmeta ``netsplit``'s
  default): the direct estimate of a comparison pools every study holding both treatments
  (a multi-arm study through its derived contrast, variance c'Vc) with weights 1/(v + τ²); the
  indirect estimate is back-calculated from the network estimate, ``1/v_ind = 1/v_nma − 1/v_dir``
  and ``θ_ind = v_ind(θ_nma/v_nma − θ_dir/v_dir)``; the test is ``z = (θ_dir − θ_ind)/√(v_dir + v_ind)``.
  netmeta's direct estimate for a multi-arm study uses Rücker's reduced weights instead of the
  derived contrast, so for networks with multi-arm studies its figures can differ slightly.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from meta.nma_data import NetworkData
from meta.nma_fit import chi2_sf, gls, tau2_moment


def interaction_matrix(net: NetworkData) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Design-by-treatment interaction model: a column per (design, arm ≠ the design's first arm)."""
    cols: list[tuple[str, str]] = []
    for design in dict.fromkeys(net.rows["design"]):
        arms = design.split(":")
        cols.extend((design, a) for a in arms[1:])
    at = {c: i for i, c in enumerate(cols)}
    X = np.zeros((len(net.y), len(cols)))
    for i, (t1, t2, d) in enumerate(net.rows[["treat1", "treat2", "design"]].itertuples(index=False)):
        if (d, t1) in at:
            X[i, at[(d, t1)]] += 1.0
        if (d, t2) in at:
            X[i, at[(d, t2)]] -= 1.0
    return X, cols


def q_decomposition(net: NetworkData, X: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """(decomposition, per-design within Q, random-effects between-design Q) as netmeta ``decomp.design``.

    Returns
    -------
    decomp : DataFrame indexed ``total``, ``within_designs``, ``between_designs`` with q, df, p_value
    designs : DataFrame design, q, df, p_value for each design with df > 0
    random : dict q, df, p_value, tau2_within (between designs, random effects)
    """
    k = len(net.y)
    Xi, _ = interaction_matrix(net)
    cons, inc = gls(net.y, X, net.V), gls(net.y, Xi, net.V)
    df_tot, df_within = k - X.shape[1], k - Xi.shape[1]
    rows = {"total": (cons.q, df_tot), "within_designs": (inc.q, df_within),
            "between_designs": (cons.q - inc.q, df_tot - df_within)}
    decomp = pd.DataFrame([{"q": q, "df": df, "p_value": chi2_sf(q, df)} for q, df in rows.values()],
                          index=list(rows))
    per = []
    resid = net.y - Xi @ inc.b
    for design, idx in net.rows.groupby("design", sort=False).indices.items():
        n_arms = len(design.split(":"))
        df = len(idx) - (n_arms - 1)
        if df <= 0:
            continue
        r = resid[idx]
        q = float(r @ np.linalg.solve(net.V[np.ix_(idx, idx)], r))
        per.append({"design": design, "q": q, "df": df, "p_value": chi2_sf(q, df)})
    designs = pd.DataFrame(per, columns=["design", "q", "df", "p_value"])
    tw = tau2_moment(net.y, Xi, net.V, net.P) if df_within > 0 else 0.0
    S = net.V + tw * net.P
    q_rand = gls(net.y, X, S).q - gls(net.y, Xi, S).q
    df_b = df_tot - df_within
    random = {"q": q_rand, "df": df_b, "p_value": chi2_sf(q_rand, df_b), "tau2_within": tw}
    return decomp, designs, random


def _direct(net: NetworkData, a: str, b: str, tau2: float) -> tuple[float, float, int]:
    """Inverse-variance pool of every study's a-vs-b contrast (weights 1/(v + τ²)): (θ, v, k)."""
    ys, vs = [], []
    for blk in net.blocks:
        arms = (blk.baseline, *blk.arms)
        if a not in arms or b not in arms:
            continue
        c = np.zeros(len(blk.arms))
        if a != blk.baseline:
            c[blk.arms.index(a)] += 1.0
        if b != blk.baseline:
            c[blk.arms.index(b)] -= 1.0
        ys.append(float(c @ blk.y))
        vs.append(float(c @ blk.V @ c))
    w = 1.0 / (np.asarray(vs) + tau2)
    return float(np.sum(w * np.asarray(ys)) / np.sum(w)), float(1.0 / np.sum(w)), len(ys)


def node_split(net: NetworkData, relative, tau2: float, level: float) -> pd.DataFrame:
    """Direct vs indirect for every comparison with both kinds of evidence (back-calculation).

    ``relative(a, b)`` returns the network estimate (θ, se) of a vs b. Columns: treat1, treat2,
    k_direct, direct, direct_se, indirect, indirect_se, nma, nma_se, direct_proportion, diff, diff_se,
    ci_low, ci_high (of the difference), z, p_value.
    """
    pairs = sorted({tuple(sorted((blk.baseline, arm))) for blk in net.blocks for arm in blk.arms}
                   | {tuple(sorted(p)) for blk in net.blocks for p in _arm_pairs(blk.arms)})
    zq = norm.ppf(0.5 + level / 2)
    out = []
    for a, b in pairs:
        th_d, v_d, kd = _direct(net, a, b, tau2)
        th_n, se_n = relative(a, b)
        v_n = se_n**2
        prec_ind = 1.0 / v_n - 1.0 / v_d
        if not prec_ind > 1e-8 / v_n:  # the network holds no evidence beyond the direct one
            continue
        v_i = 1.0 / prec_ind
        th_i = v_i * (th_n / v_n - th_d / v_d)
        diff, dse = th_d - th_i, math.sqrt(v_d + v_i)
        z = diff / dse
        out.append({"treat1": a, "treat2": b, "k_direct": kd, "direct": th_d, "direct_se": math.sqrt(v_d),
                    "indirect": th_i, "indirect_se": math.sqrt(v_i), "nma": th_n, "nma_se": se_n,
                    "direct_proportion": v_n / v_d, "diff": diff, "diff_se": dse,
                    "ci_low": diff - zq * dse, "ci_high": diff + zq * dse, "z": z,
                    "p_value": float(2 * norm.sf(abs(z)))})
    cols = ["treat1", "treat2", "k_direct", "direct", "direct_se", "indirect", "indirect_se", "nma", "nma_se",
            "direct_proportion", "diff", "diff_se", "ci_low", "ci_high", "z", "p_value"]
    return pd.DataFrame(out, columns=cols)


def _arm_pairs(arms: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(arms[i], arms[j]) for i in range(len(arms)) for j in range(i + 1, len(arms))]
