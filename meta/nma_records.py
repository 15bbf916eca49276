"""Evidence records → network contrasts → one :func:`meta.nma` fit per connected component.

The pooling plan's rules (DESIGN.md "Pooling plan", round 2) as they apply to a network, through the
plan's own helpers where a network needs the same rule:

* :func:`meta.records.select` — only ``accepted``/``edited`` records (``statuses``), none flagged as
  inconsistent, no published synthesis (meta-analysis, pooled analysis); then
  :func:`comparison_exclusion` — no prognostic record, only between-arm contrasts with both arms named;
* :func:`meta.records.record_effect` — yi/vi on the log scale (CI, else an exact two-sided p);
* :func:`meta.identity.trial_identities` — a trial's identity: registry ids, the trials vocabulary's
  aliases (``trial_aliases``, as ``pool_table``), the normalised name, else the source;
* :func:`pick_whole_population` — per trial and comparison the whole population (empty
  ``subgroup``) before any subgroup, then the latest report, then the larger n, then input order;
  several subgroups of one dimension (and no whole population) are combined within the trial
  (inverse-variance, common effect), as :mod:`meta.plan` does for a cell;
* direction — each contrast is intervention vs comparator; a trial's report of the same pair the
  other way round is inverted (yi → −yi) onto the first orientation seen.

A trial with comparisons sharing one arm is a multi-arm trial; HR records carry no shared-arm
variance, so its covariance is approximated by equal allocation (``vi_shared = ½·min(vi)``: each arm
then adds half of a contrast's variance; the plan's ρ = 0.5 for two contrasts sharing a control arm of
equal size) and the approximation is named in ``notes``. A disconnected network is never dropped:
every component is listed and each with two or more treatments is fitted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from meta._checks import check_choice, check_level
from meta.identity import trial_identities
from meta.nma import SMALL_VALUES, NMAResult, nma
from meta.nma_data import components
from meta.nma_fit import NMA_METHODS
from meta.records import record_effect, select

_OPTIONAL = ("source_id", "trial", "year", "histotypes", "intervention", "comparator", "arm", "endpoint",
             "setting", "line", "ci_low", "ci_high", "ci_level", "p_value", "p_relation", "n", "status", "flags",
             "design", "registry_ids", "subgroup", "subgroup_label", "question", "unit")  # fmt: skip


def _missing(x: Any) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) or (isinstance(x, str) and not x.strip())


def _as_list(x: Any) -> list[str]:
    if _missing(x):
        return []
    if isinstance(x, str):
        s = x.strip()
        return [str(v) for v in json.loads(s)] if s.startswith("[") else [s]
    return [str(v) for v in x]


def comparison_exclusion(rec: Mapping[str, Any]) -> str:
    """Why ``rec``, kept by the plan's selection, is still no network contrast ('' when it is one)."""
    if not _missing(rec["question"]) and rec["question"] == "prognostic":
        return "prognostic record: no treatment comparison"
    if not _missing(rec["arm"]) and rec["arm"] != "contrast":
        return f"arm {rec['arm']!r}: a network takes between-arm contrasts only"
    if _missing(rec["intervention"]) or _missing(rec["comparator"]):
        return "intervention or comparator missing: not a comparison"
    if rec["intervention"] == rec["comparator"]:
        return f"intervention equals comparator ({rec['intervention']!r})"
    return ""


def pick_whole_population(group: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, str]], str]:
    """One trial's records of one comparison → the row(s) to use, the exclusions, a note ('' if none).

    Returns the single winning row, or — when only subgroups were reported — the subgroups of one
    dimension combined into one row (inverse-variance, common effect).
    """
    g = group.assign(_whole=[_missing(s) for s in group["subgroup"]],
                     _yr=pd.to_numeric(group["year"], errors="coerce").fillna(-np.inf),
                     _n=pd.to_numeric(group["n"], errors="coerce").fillna(-1.0))
    g = g.sort_values(["_whole", "_yr", "_n", "_order"], ascending=False, kind="stable")
    if g["_whole"].iloc[0] or len(g) == 1:
        win = g.iloc[[0]]
        out = [{"record_id": r, "reason": f"superseded by {win['record_id'].iloc[0]} (same trial and comparison: "
                "whole population first, then the latest report)"} for r in g["record_id"].iloc[1:]]
        return win.drop(columns=["_whole", "_yr", "_n"]), out, ""
    dim = sorted(g["subgroup"].astype(str))[0]
    use = g[g["subgroup"].astype(str) == dim]
    use = use.drop_duplicates(subset=["subgroup_label"], keep="first").sort_values("_order", kind="stable")
    out = [{"record_id": r, "reason": f"subgroup not combined (dimension {dim!r} used for this trial)"}
           for r in g["record_id"] if r not in set(use["record_id"])]
    w = 1.0 / use["vi"].to_numpy()
    row = use.iloc[[0]].copy()
    row["yi"] = float(np.sum(w * use["yi"].to_numpy()) / np.sum(w))
    row["vi"] = float(1.0 / np.sum(w))
    row["record_id"] = "+".join(use["record_id"])
    n = pd.to_numeric(use["n"], errors="coerce")
    row["n"] = float(n.sum()) if n.notna().all() else math.nan
    note = (f"trial {row['study'].iloc[0]}: no whole-population result; {len(use)} {dim} subgroups combined "
            "within the trial (inverse-variance)") if len(use) > 1 else ""
    return row.drop(columns=["_whole", "_yr", "_n"]), out, note


@dataclass(frozen=True, eq=False)
class RecordsNetwork:
    """A network built from evidence records.

    contrasts : one row per trial and comparison (study = trial identity, treat1 = intervention,
        treat2 = comparator, yi/vi on the log scale, vi_shared for multi-arm trials, n, record_id)
    excluded : ``{"record_id", "reason"}`` for every in-scope record left out
    components : the treatment graph's connected components, largest first
    fits : component index → :class:`NMAResult`, for every component with two or more treatments
    notes : approximations and warnings (multi-arm covariance, mixed lines, fit errors)
    """

    contrasts: pd.DataFrame
    excluded: list[dict[str, str]]
    components: list[list[str]]
    fits: dict[int, NMAResult]
    notes: list[str] = field(default_factory=list)

    @property
    def main(self) -> NMAResult | None:
        """The fit of the largest component (None when nothing could be fitted)."""
        return self.fits.get(0)

    def nodes(self) -> pd.DataFrame:
        """treatment, trials, patients (each arm: half its contrasts' mean n, equal allocation), component."""
        rows: dict[str, dict[str, Any]] = {}
        for _study, g in self.contrasts.groupby("study", sort=False):
            arms = sorted(set(g["treat1"]) | set(g["treat2"]))
            n = pd.to_numeric(g["n"], errors="coerce")
            per_arm = float(n.mean()) / 2 if n.notna().any() else math.nan  # equal allocation
            for a in arms:
                r = rows.setdefault(a, {"treatment": a, "trials": 0, "patients": 0.0})
                r["trials"] += 1
                r["patients"] += 0.0 if math.isnan(per_arm) else per_arm
        comp = {t: i for i, part in enumerate(self.components) for t in part}
        out = pd.DataFrame(list(rows.values()), columns=["treatment", "trials", "patients"])
        out["component"] = [comp.get(t, -1) for t in out["treatment"]]
        return out.sort_values("treatment", kind="stable").reset_index(drop=True)

    def edges(self) -> pd.DataFrame:
        """treat1, treat2 (sorted), trials: the number of trials comparing them directly."""
        pairs: dict[tuple[str, str], set[str]] = {}
        for study, t1, t2 in self.contrasts[["study", "treat1", "treat2"]].itertuples(index=False):
            pairs.setdefault(tuple(sorted((t1, t2))), set()).add(study)  # type: ignore[arg-type]
        return pd.DataFrame([{"treat1": a, "treat2": b, "trials": len(s)} for (a, b), s in sorted(pairs.items())],
                            columns=["treat1", "treat2", "trials"])


def _in_scope(df: pd.DataFrame, histotype: str | None, setting: str | None, line: str | None, endpoint: str,
              measure: str) -> np.ndarray:
    keep = (df["endpoint"].astype(str) == endpoint) & (df["measure"].astype(str) == measure)
    if setting is not None:
        keep &= df["setting"].astype(str) == setting
    if line is not None:
        keep &= df["line"].astype(str) == line
    if histotype is not None:
        keep &= np.array([histotype in _as_list(h) for h in df["histotypes"].tolist()], dtype=bool)
    return keep.to_numpy(dtype=bool)


def _multiarm(contrasts: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Orient each multi-arm trial's contrasts on a shared arm and set vi_shared (equal allocation)."""
    contrasts = contrasts.assign(vi_shared=math.nan)
    for study, g in contrasts.groupby("study", sort=False):
        if len(g) < 2:
            continue
        arms = sorted(set(g["treat1"]) | set(g["treat2"]))
        if len(g) == len(arms) * (len(arms) - 1) // 2 and len(arms) > 2:
            notes.append(f"trial {study}: all {len(g)} pairwise contrasts of {len(arms)} arms; arm variances from "
                         "v_ij = v_i + v_j (netmeta's method)")
            continue
        counts = pd.Series([*g["treat1"], *g["treat2"]]).value_counts()
        shared = [a for a in arms if counts[a] == len(g)]
        if len(g) != len(arms) - 1 or not shared:
            raise ValueError(f"trial {study}: comparisons {sorted(zip(g['treat1'], g['treat2'], strict=True))} "
                             "neither share one arm nor cover every pair")
        v = 0.5 * float(g["vi"].min())
        contrasts.loc[g.index, "vi_shared"] = v
        notes.append(f"trial {study}: {len(arms)}-arm, contrasts against {shared[0]}; their covariance is not "
                     f"reported, approximated by equal allocation (vi_shared = ½·min vi = {v:.4g})")
    return contrasts


def nma_from_records(
    records: pd.DataFrame | Iterable[Mapping[str, Any]],
    histotype: str | None = None,
    setting: str | None = None,
    line: str | None = None,
    endpoint: str = "OS",
    measure: str = "HR",
    *,
    method: str = "REML",
    reference: str | None = None,
    small_values: str = "good",
    level: float = 0.95,
    statuses: Sequence[str] = ("accepted", "edited"),
    trial_aliases: Mapping[str, str] | None = None,
) -> RecordsNetwork:
    """Build the network of ``endpoint``/``measure`` contrasts (filtered by histotype, setting, line) and fit it.

    ``trial_aliases`` maps trial tokens to canonical ones (``meta.identity.trial_aliases_from_entries``
    of the trials vocabulary; the CLI and the dashboard pass it).

    ``histotype`` keeps records whose ``histotypes`` include it; ``setting``/``line`` keep equal values
    (None: no filter; a network then mixing several lines says so in ``notes``). See the module
    docstring for the rules. Each component with ≥ 2 treatments is fitted by :func:`meta.nma` with
    ``method``; ``reference`` is used in the component that holds it.
    """
    check_choice(method, NMA_METHODS, "method")
    check_choice(small_values, SMALL_VALUES, "small_values")
    check_level(level)
    df = records.copy() if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    for col in ("record_id", "measure", "value"):
        if col not in df.columns:
            raise ValueError(f"records lack the required field {col!r}")
    for col in _OPTIONAL:
        if col not in df.columns:
            df[col] = None
    df = df.reset_index(drop=True)
    df["_order"] = np.arange(len(df))
    df = df[_in_scope(df, histotype, setting, line, endpoint, measure)].reset_index(drop=True)
    reasons, _syntheses = select(df, tuple(statuses), include_flagged=False)
    ids = trial_identities(df["source_id"], df["trial"], df["registry_ids"], aliases=trial_aliases)
    excluded: list[dict[str, str]] = []
    rows = []
    for i, rec in enumerate(df.to_dict("records")):
        reason = reasons.messages[reasons.codes[i]] or comparison_exclusion(rec)
        yi = vi = math.nan
        if not reason:
            yi, vi, _scale, reason = record_effect(rec)
        if reason:
            excluded.append({"record_id": str(rec["record_id"]), "reason": reason})
            continue
        rows.append({"study": str(ids[i]), "trial": rec["trial"], "treat1": rec["intervention"],
                     "treat2": rec["comparator"], "yi": yi, "vi": vi, "n": rec["n"], "year": rec["year"],
                     "subgroup": rec["subgroup"], "subgroup_label": rec["subgroup_label"],
                     "setting": rec["setting"], "line": rec["line"], "record_id": str(rec["record_id"]),
                     "_order": rec["_order"]})
    notes: list[str] = []
    cols = ["study", "trial", "treat1", "treat2", "yi", "vi", "vi_shared", "n", "year", "setting", "line", "record_id"]
    if not rows:
        return RecordsNetwork(pd.DataFrame(columns=cols), excluded, [], {}, notes)
    raw = pd.DataFrame(rows)
    # direction: one orientation per trial and pair (the first seen); the reverse report is inverted
    raw["_pair"] = [tuple(sorted(p)) for p in zip(raw["treat1"], raw["treat2"], strict=True)]
    first = raw.groupby(["study", "_pair"], sort=False)["treat1"].transform("first")
    flip = raw["treat1"] != first
    raw.loc[flip, ["treat1", "treat2"]] = raw.loc[flip, ["treat2", "treat1"]].to_numpy()
    raw.loc[flip, "yi"] = -raw.loc[flip, "yi"]
    picked = []
    for _, g in raw.groupby(["study", "_pair"], sort=False):
        win, out, note = pick_whole_population(g)
        picked.append(win)
        excluded.extend(out)
        if note:
            notes.append(note)
    con = pd.concat(picked).sort_values("_order", kind="stable").drop(columns=["_pair", "_order"])
    con = con.reset_index(drop=True)
    try:
        con = _multiarm(con, notes)
    except ValueError as exc:
        bad = str(exc).split(":")[0].removeprefix("trial ")
        excluded.extend({"record_id": r, "reason": str(exc)} for r in con.loc[con["study"] == bad, "record_id"])
        con = _multiarm(con[con["study"] != bad].reset_index(drop=True), notes)
    for key in ("line", "setting"):
        vals = sorted({str(v) for v in con[key] if not _missing(v)})
        if len(vals) > 1:
            notes.append(f"the network mixes {key}s {', '.join(vals)} (give --{key} to keep one)")
    parts = components(list(zip(con["treat1"], con["treat2"], strict=True)))
    if len(parts) > 1:
        notes.append(f"disconnected network: {len(parts)} components, each fitted on its own")
    fits: dict[int, NMAResult] = {}
    for i, part in enumerate(parts):
        sub = con[con["treat1"].isin(part)]
        ref = reference if reference in part else None
        try:
            fits[i] = nma(sub, reference=ref, method=method, small_values=small_values, level=level)
        except ValueError as exc:
            notes.append(f"component {i} ({', '.join(part)}) not fitted: {exc}")
    return RecordsNetwork(con[cols], excluded, parts, fits, notes)
