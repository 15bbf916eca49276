"""Network meta-analysis input: contrasts → the linear model y = X·d + δ + ε (contrast-based NMA).

Each study enters as its contrasts against one shared arm (its *baseline*). Within a study the
sampling covariance of two such contrasts is the shared arm's variance; the heterogeneity
covariance is τ²/2 (one common τ², consistency of the random effects: Higgins & Whitehead 1996;
Salanti et al. 2008), so ``Σ(τ²) = V + τ²·P`` with P block-diagonal, 1 on the diagonal and ½ between
contrasts of one study. This is the model of metafor ``rma.mv(yi, V, mods = X, intercept = FALSE,
random = ~ contrast | study, rho = 1/2)`` and of netmeta (Rücker 2012; Krahn, Binder & König 2013).

Multi-arm studies are accepted in two forms:

* **contrasts against one shared arm** (a − 1 rows for a arms, each with the shared arm as
  ``treat1`` or ``treat2``); the covariance comes from the optional column ``vi_shared`` (the shared
  arm's variance, e.g. ``sd²/n`` of its mean or ``1/x + 1/(n − x)`` of its logit);
* **all a(a − 1)/2 pairwise contrasts**, as netmeta requires: the arm variances are then recovered
  from the pairwise variances by v_ij = v_i + v_j (least squares; exact for three arms), which is
  what netmeta's treatment of multi-arm studies implies (Rücker & Schwarzer 2014, "Reduce dimension
  or reduce weights?"). The study enters as its contrasts against its first arm (alphabetically),
  fitted to all given pairs by weighted least squares (weights 1/v_ij): the given values themselves
  when the pairs are consistent (y_AC = y_AB + y_BC); when rounding makes them slightly inconsistent,
  every pair contributes (netmeta also uses all pairs, through its reduced weights).

Anything else (contrasts against several arms without ``vi_shared``, a missing pair) is refused
with a message naming the study.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

REQUIRED = ("study", "treat1", "treat2", "yi", "vi")


@dataclass(frozen=True)
class StudyBlock:
    """One study's contrasts against its baseline arm: ``y[j]`` = arm ``arms[j]`` vs ``baseline``."""

    study: str
    baseline: str
    arms: tuple[str, ...]
    y: np.ndarray
    V: np.ndarray  # sampling covariance of y

    @property
    def design(self) -> str:
        """The study's design: its sorted treatments joined with ':' (netmeta's wording)."""
        return ":".join(sorted((self.baseline, *self.arms)))


@dataclass(frozen=True)
class NetworkData:
    """The stacked model: ``y`` (k), ``V`` and ``P`` (k × k), the study blocks and the treatments."""

    blocks: tuple[StudyBlock, ...]
    treatments: tuple[str, ...]
    y: np.ndarray
    V: np.ndarray
    P: np.ndarray
    rows: pd.DataFrame  # one row per model contrast: study, treat1 (arm), treat2 (baseline), design

    def design_matrix(self, reference: str) -> tuple[np.ndarray, list[str]]:
        """Treatment-contrast coding: +1 for treat1, −1 for treat2, the reference column dropped."""
        others = [t for t in self.treatments if t != reference]
        col = {t: i for i, t in enumerate(others)}
        X = np.zeros((len(self.y), len(others)))
        for i, (t1, t2) in enumerate(zip(self.rows["treat1"], self.rows["treat2"], strict=True)):
            if t1 in col:
                X[i, col[t1]] += 1.0
            if t2 in col:
                X[i, col[t2]] -= 1.0
        return X, others


def components(pairs: list[tuple[str, str]], nodes: list[str] | None = None) -> list[list[str]]:
    """Connected components of the treatment graph, largest first, each sorted.

    Examples
    --------
    >>> components([("a", "b"), ("c", "d"), ("b", "e")])
    [['a', 'b', 'e'], ['c', 'd']]
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for n in nodes or []:
        find(n)
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    groups: dict[str, list[str]] = {}
    for n in parent:
        groups.setdefault(find(n), []).append(n)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g))


class DisconnectedNetwork(ValueError):
    """The treatments do not form one connected network; ``.components`` lists each part."""

    def __init__(self, parts: list[list[str]]):
        self.components = parts
        listed = "; ".join("{" + ", ".join(p) + "}" for p in parts)
        super().__init__(f"the network is disconnected into {len(parts)} components: {listed}; "
                         "fit each component on its own (meta.nma_from_records does)")


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def _check_columns(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"contrasts lack the column(s) {', '.join(missing)}; need {', '.join(REQUIRED)}"
                         " (optional: vi_shared)")
    out = df.copy()
    for c in ("study", "treat1", "treat2"):
        if out[c].isna().any():
            row = int(np.flatnonzero(out[c].isna())[0])
            raise ValueError(f"contrasts: column {c!r} has an empty value in row {row}")
        out[c] = out[c].astype(str)
    yi, vi = _num(out, "yi"), _num(out, "vi")
    for i in range(len(out)):
        if not np.isfinite(yi[i]):
            raise ValueError(f"contrasts row {i} (study {out['study'].iloc[i]!r}): yi must be a finite number")
        if not (np.isfinite(vi[i]) and vi[i] > 0):
            raise ValueError(f"contrasts row {i} (study {out['study'].iloc[i]!r}): vi = {vi[i]}; "
                             "sampling variances must be > 0")
        if out["treat1"].iloc[i] == out["treat2"].iloc[i]:
            raise ValueError(f"contrasts row {i} (study {out['study'].iloc[i]!r}): treat1 equals treat2")
    out["yi"], out["vi"] = yi, vi
    out["vi_shared"] = _num(out, "vi_shared") if "vi_shared" in out.columns else np.nan
    return out


def _block_from_shared(study: str, rows: pd.DataFrame, shared: str) -> StudyBlock:
    """Contrasts all against ``shared``: orient each as arm vs shared, covariance = vi_shared."""
    arms, ys, vs = [], [], []
    for t1, t2, y, v in rows[["treat1", "treat2", "yi", "vi"]].itertuples(index=False):
        arm, sign = (t1, 1.0) if t2 == shared else (t2, -1.0)
        arms.append(arm)
        ys.append(sign * y)
        vs.append(v)
    V = np.diag(np.asarray(vs, dtype=float))
    if len(arms) > 1:
        sv = rows["vi_shared"].to_numpy(dtype=float)
        if np.isnan(sv).all():
            raise ValueError(
                f"study {study!r}: {len(arms) + 1}-arm contrasts against the shared arm {shared!r} need its variance "
                "in column vi_shared (the covariance of the contrasts), or give all pairwise contrasts")
        sv = sv[~np.isnan(sv)]
        if not np.allclose(sv, sv[0], rtol=1e-9, atol=0) or sv[0] <= 0:
            raise ValueError(f"study {study!r}: vi_shared must be one positive value for the shared arm {shared!r}")
        if np.any(np.asarray(vs) <= sv[0]):
            raise ValueError(f"study {study!r}: vi_shared = {sv[0]:g} is not below every contrast variance")
        V = V + sv[0] * (1.0 - np.eye(len(arms)))
    return StudyBlock(study, shared, tuple(arms), np.asarray(ys, dtype=float), V)


def _block_from_pairs(study: str, rows: pd.DataFrame, arms: list[str]) -> StudyBlock:
    """All pairwise contrasts given: arm variances from v_ij = v_i + v_j (least squares, netmeta's way)."""
    idx = {a: i for i, a in enumerate(arms)}
    pairs = list(combinations(range(len(arms)), 2))
    A = np.zeros((len(pairs), len(arms)))
    v = np.zeros(len(pairs))
    eff = np.zeros((len(arms), len(arms)))  # eff[i, j] = effect of arm i vs arm j
    for r, (i, j) in enumerate(pairs):
        A[r, i] = A[r, j] = 1.0
    pos = {p: r for r, p in enumerate(pairs)}
    for t1, t2, y, vi in rows[["treat1", "treat2", "yi", "vi"]].itertuples(index=False):
        i, j = idx[t1], idx[t2]
        v[pos[(min(i, j), max(i, j))]] = vi
        eff[i, j], eff[j, i] = y, -y
    arm_var = np.linalg.lstsq(A, v, rcond=None)[0]
    if np.any(arm_var <= 0):
        bad = arms[int(np.argmin(arm_var))]
        raise ValueError(f"study {study!r}: the pairwise variances imply a non-positive variance for arm {bad!r} "
                         "(v_ij = v_i + v_j); check the multi-arm contrasts")
    # the contrasts against the first arm, fitted to every given pair by weighted least squares
    # (weights 1/v_ij): exactly the given values when the pairs are consistent (y_ij = y_i0 − y_j0),
    # else every pair's information is used rather than the pairs through the first arm alone
    base = 0
    others = list(range(1, len(arms)))
    B = np.zeros((len(pairs), len(others)))  # pair (i, j) = θ_i − θ_j, θ_0 = 0
    obs = np.array([eff[i, j] for i, j in pairs])
    for r, (i, j) in enumerate(pairs):
        if i != base:
            B[r, i - 1] += 1.0
        if j != base:
            B[r, j - 1] -= 1.0
    w = 1.0 / v
    y = np.linalg.solve(B.T @ (w[:, None] * B), B.T @ (w * obs))
    V = np.full((len(others), len(others)), arm_var[base]) + np.diag(arm_var[others])
    return StudyBlock(study, arms[base], tuple(arms[i] for i in others), y, V)


def _study_block(study: str, rows: pd.DataFrame) -> StudyBlock:
    arms = sorted(set(rows["treat1"]) | set(rows["treat2"]))
    a, m = len(arms), len(rows)
    pair_keys = [frozenset(p) for p in zip(rows["treat1"], rows["treat2"], strict=True)]
    if len(set(pair_keys)) != m:
        raise ValueError(f"study {study!r}: a comparison appears more than once; give each pair once")
    if m == a - 1:
        counts = pd.Series([*rows["treat1"], *rows["treat2"]]).value_counts()
        shared = [t for t in arms if counts.get(t, 0) == m]
        if shared:
            return _block_from_shared(study, rows, shared[0])
    if m == a * (a - 1) // 2 and a > 2:
        return _block_from_pairs(study, rows, arms)
    raise ValueError(f"study {study!r}: {m} contrasts among {a} arms; give the a − 1 contrasts against one shared "
                     "arm (with vi_shared) or all a(a − 1)/2 pairwise contrasts")


def build_network(contrasts: pd.DataFrame | Any) -> NetworkData:
    """Validate ``contrasts`` and stack its studies into :class:`NetworkData` (no connectivity check)."""
    df = _check_columns(pd.DataFrame(contrasts))
    if df.empty:
        raise ValueError("contrasts is empty: a network needs at least one study")
    blocks = [_study_block(s, g) for s, g in df.groupby("study", sort=False)]
    treatments = tuple(sorted({t for b in blocks for t in (b.baseline, *b.arms)}))
    k = sum(len(b.y) for b in blocks)
    y, V, P = np.zeros(k), np.zeros((k, k)), np.zeros((k, k))
    rows: list[dict[str, Any]] = []
    at = 0
    for b in blocks:
        m = len(b.y)
        sl = slice(at, at + m)
        y[sl], V[sl, sl] = b.y, b.V
        P[sl, sl] = 0.5 * (np.ones((m, m)) + np.eye(m))
        rows.extend({"study": b.study, "treat1": arm, "treat2": b.baseline, "design": b.design} for arm in b.arms)
        at += m
    return NetworkData(tuple(blocks), treatments, y, V, P, pd.DataFrame(rows))
