# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Rerun a pooled estimate with your own choices
#
# Pick one cell of the evidence table (histotype, intervention, comparator, endpoint, measure), rerun it
# with every τ² estimator and with the Hartung–Knapp–Sidik–Jonkman test, draw its forest plot, and check
# that the numbers the dashboard shows are exactly the ones recomputed here.
#
# The store is `$SARCOMA_EVIDENCE_DB` when it is set; otherwise the bundled demo corpus is built into a
# temporary folder (the working store is never touched). Change the parameters below and rerun all cells.

# %%
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import meta
from evidence.comparison_classes import comparison_classes
from evidence.store import Store
from meta.bundle import write_bundle

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 30)

# %% tags=["parameters"]
# Parameters: the cell to rerun (any cell with k >= 2 in the table)
HISTOTYPE = "soft_tissue_sarcoma"
INTERVENTION = "doxorubicin_plus_agent"
COMPARATOR = "doxorubicin"
ENDPOINT = "OS"
MEASURE = "HR"
LEVEL = 0.95

# %%
def open_store() -> Store:
    """The store of $SARCOMA_EVIDENCE_DB, else the bundled demo corpus built into a temporary folder."""
    if os.environ.get("SARCOMA_EVIDENCE_DB"):
        return Store()
    from evidence.corpus import corpus_documents, curated_records

    store = Store(f"sqlite:///{Path(tempfile.mkdtemp(prefix='sarcoma-demo-')) / 'demo.db'}")
    store.add_sources(corpus_documents())
    store.import_records(curated_records(), reviewer="demo-curator")
    return store


store = open_store()
records = store.records_frame(status=["extracted", "accepted", "edited"])  # never the rejected ones
print(f"{len(records)} records from {store.url}")

# %% [markdown]
# ## The cell as the dashboard shows it
#
# The dashboard pools the whole table with `meta.pool_table` (DESIGN.md "Pooling plan": REML, z test,
# between-arm ratios on the log scale, one report per trial, the latest winning).

# %%
BY = ["histotype", "intervention", "comparator", "endpoint", "measure"]
CELL = {"histotype": HISTOTYPE, "intervention": INTERVENTION, "comparator": COMPARATOR,
        "endpoint": ENDPOINT, "measure": MEASURE}


def cell_row(table: pd.DataFrame) -> pd.Series:
    """The one row of ``table`` for CELL (not a roll-up)."""
    hit = table[(table[BY] == pd.Series(CELL)).all(axis=1) & ~table["rollup"]]
    assert len(hit) == 1, f"no pooled cell {CELL}; cells with k >= 2: {table.loc[table.k >= 2, BY].to_numpy().tolist()}"
    return hit.iloc[0]


# the comparison classes pool trials of different agents that answer one question (doxorubicin plus a
# second agent against doxorubicin), as `pool` and the dashboard do (evidence/vocab/comparison_classes.json)
CLASSES = comparison_classes()
dashboard = meta.pool_table(records, by=BY, level=LEVEL, classes=CLASSES)
shown = cell_row(dashboard)
ratio = MEASURE in ("HR", "OR", "RR")
print(f"{MEASURE} {shown.estimate_exp:.3f} [{shown.ci_low_exp:.3f}, {shown.ci_high_exp:.3f}], k = {shown.k}, "
      f"I² = {shown.i2:.1f}%, τ² = {shown.tau2:.4f}, p = {shown.p_value:.4f}")
studies = records.set_index("record_id").loc[shown.record_ids]
studies[["source_id", "trial", "year", "value", "ci_low", "ci_high", "n"]]

# %% [markdown]
# ## Every τ² estimator, with the z test and with Hartung–Knapp–Sidik–Jonkman (`knha`)

# %%
rows, tables = [], {}
for method in meta.METHODS:
    for test in ("z", "knha"):
        tables[method, test] = meta.pool_table(records, by=BY, method=method, test=test, level=LEVEL,
                                               classes=CLASSES)
        r = cell_row(tables[method, test])
        rows.append({"method": method, "test": test, "estimate": r.estimate_exp, "ci_low": r.ci_low_exp,
                     "ci_high": r.ci_high_exp, "p": r.p_value, "tau2": r.tau2, "i2": r.i2,
                     "pi_low": r.pi_low_exp, "pi_high": r.pi_high_exp, "converged": r.converged})
reruns = pd.DataFrame(rows)
reruns.round(4)

# %% [markdown]
# ## The same numbers, recomputed by hand from the records
#
# Log ratio and its variance from each record's CI (`meta.effect_sizes`), then `meta.pool`. Every field
# must be *equal* to the dashboard's, not merely close: both run the same code on the same inputs.

# %%
yi, vi = meta.effect_sizes.log_ratio_from_ci(studies["value"], studies["ci_low"], studies["ci_high"],
                                             float(studies["ci_level"].iloc[0]), name=MEASURE)
FIELDS = ("estimate", "se", "ci_low", "ci_high", "p_value", "tau2", "tau2_ci_low", "tau2_ci_high",
          "i2", "h2", "q", "q_p", "pi_low", "pi_high")
for method in meta.METHODS:
    for test in ("z", "knha"):
        mine = meta.pool(yi, vi, method=method, test=test, level=LEVEL)
        theirs = cell_row(tables[method, test])  # the dashboard's table for these options
        for f in FIELDS:
            a, b = getattr(mine, f), theirs[f]
            assert a == b or (np.isnan(a) and np.isnan(b)), (method, test, f, a, b)
print(f"meta.pool == meta.pool_table on all {len(FIELDS)} fields, {len(meta.METHODS)} estimators x 2 tests")

# %% [markdown]
# ## Forest plot (REML, z test)

# %%
res = meta.pool(yi, vi, method="REML", level=LEVEL)
back = np.exp if ratio else (lambda x: x)
labels = [f"{t if isinstance(t, str) and t else s} ({int(y) if y == y else 'n.d.'})"
          for s, t, y in zip(studies["source_id"], studies["trial"], studies["year"], strict=True)]
fig, ax = plt.subplots(figsize=(7, 1.2 + 0.45 * (len(labels) + 1)))
ypos = np.arange(len(labels), 0, -1)
size = 40 + 260 * res.weights / res.weights.max()
ax.errorbar(studies["value"], ypos, xerr=[studies["value"] - studies["ci_low"], studies["ci_high"] - studies["value"]],
            fmt="none", ecolor="black", capsize=3)
ax.scatter(studies["value"], ypos, s=size, marker="s", color="tab:blue", zorder=3)
lo, est, hi = back(res.ci_low), back(res.estimate), back(res.ci_high)
ax.fill([lo, est, hi, est], [0, 0.25, 0, -0.25], color="tab:red")
ax.axvline(1.0 if ratio else 0.0, color="grey", lw=0.8)
ax.set_yticks([*ypos, 0], [*labels, f"Pooled (REML) {est:.2f} [{lo:.2f}, {hi:.2f}]"])
if ratio:
    ax.set_xscale("log")
ax.set_xlabel(f"{MEASURE} ({LEVEL:.0%} CI)")
ax.set_title(f"{ENDPOINT}: {INTERVENTION} vs {COMPARATOR} in {HISTOTYPE}")
fig.tight_layout()

# %% [markdown]
# ## Show it: a reproducibility bundle
#
# `write_bundle` (also `sarcoma-evidence pool --bundle DIR`) writes the exact records, a manifest with
# versions, options and checksums, the results, and `recompute.py`. Running the script in a fresh process
# gives `results.csv` byte for byte.

# %%
bundle_dir = Path(tempfile.mkdtemp(prefix="sarcoma-bundle-"))
manifest = write_bundle(records, bundle_dir, by=BY, method="REML", test="knha", level=LEVEL)
out_csv = bundle_dir / "rerun.csv"
run = subprocess.run([sys.executable, "recompute.py", str(out_csv), "--check"], cwd=bundle_dir,
                     capture_output=True, text=True, timeout=120)
print(run.stderr.strip())
assert run.returncode == 0 and out_csv.read_bytes() == (bundle_dir / "results.csv").read_bytes()
print("bundle:", *(p.name for p in manifest.files), "| records sha256", manifest.records_sha256[:16])
