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
# # Sensitivity of a pooled estimate
#
# For one cell of the evidence table: leave-one-out, cumulative meta-analysis by publication year,
# influence diagnostics (Viechtbauer & Cheung 2010), and small-study bias — a funnel plot with Egger's
# regression test, Begg's rank test and Duval & Tweedie's trim-and-fill. All functions are `meta`'s and
# agree with R metafor 3.8 (`leave1out`, `cumul`, `influence`, `regtest`, `ranktest`, `trimfill`).
#
# The store is `$SARCOMA_EVIDENCE_DB` when it is set, else the bundled demo corpus in a temporary folder.
# The default cell pools the overall-survival hazard ratios of every randomised comparison in all-comer
# soft-tissue sarcoma (one question: "does adding or swapping the experimental agent change OS?").

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

import meta
from evidence.store import Store
from evidence.trial_aliases import trial_aliases
from meta.identity import trial_identities

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 30)

# %% tags=["parameters"]
# Parameters: the grouping, the cell and the τ² estimator
BY = ["histotype", "endpoint", "measure"]
CELL = {"histotype": "soft_tissue_sarcoma", "endpoint": "OS", "measure": "HR"}
METHOD = "REML"


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
records = store.records_frame(status=["extracted", "accepted", "edited"])
table = meta.pool_table(records, by=BY, method=METHOD, studies=True, trial_aliases=trial_aliases())
hit = table[(table[BY] == pd.Series(CELL)).all(axis=1) & ~table["rollup"]]
assert len(hit) == 1, f"no cell {CELL}; cells with k >= 2: {table.loc[table.k >= 2, BY].to_numpy().tolist()}"
row = hit.iloc[0]
assert row.scale == "log", "this notebook handles ratio measures (HR, OR, RR)"
print(f"{CELL}: k = {row.k}, {CELL['measure']} {row.estimate_exp:.3f} [{row.ci_low_exp:.3f}, {row.ci_high_exp:.3f}], "
      f"I² = {row.i2:.1f}%")

# %% [markdown]
# ## The studies of the cell, as effect sizes
#
# The contributions `pool_table` pooled, one per trial (the pooling plan: a trial's whole population, or its
# subgroups combined within the trial, or a multi-arm trial's arms combined), as log ratios with their
# variances. Pooling them with `meta.pool` must give the table's estimate exactly, so everything below is
# about the same numbers the dashboard shows.

# %%
yi, vi = np.asarray(row.yi, dtype=float), np.asarray(row.vi, dtype=float)
used = records[records["record_id"].isin(row.record_ids)].copy()
used["identity"] = trial_identities(used["source_id"], used["trial"], used.get("registry_ids"),
                                    trial_aliases())
names = used.groupby("identity")["trial"].agg(lambda t: next((x for x in t if isinstance(x, str) and x), None))
first = used.groupby("identity")["year"].min()
labels = [names.get(t) or t for t in row.trials]
years = np.array([first.get(t, np.nan) for t in row.trials], dtype=float)
full = meta.pool(yi, vi, method=METHOD)
assert abs(full.estimate - row.estimate) < 1e-12 and abs(full.tau2 - row.tau2) < 1e-12, "not the dashboard's numbers"
for note in row.notes:
    print(note)
pd.DataFrame({"study": labels, "year": years, "yi": yi, "vi": vi, "HR": np.exp(yi), "weight %": full.weights})

# %% [markdown]
# ## Leave-one-out
#
# Each row is the pooled estimate without that study.

# %%
loo = meta.leave_one_out(yi, vi, method=METHOD, labels=labels)
loo_view = pd.DataFrame({"HR": np.exp(loo.estimate), "ci_low": np.exp(loo.ci_low), "ci_high": np.exp(loo.ci_high),
                         "p": loo.p_value, "tau2": loo.tau2, "i2": loo.i2})
loo_view.round(4)

# %% [markdown]
# ## Cumulative meta-analysis by year
#
# Studies are added in order of publication (ties keep the table's order; a missing year goes last).

# %%
order = np.where(np.isnan(years.astype(float)), np.inf, years.astype(float))
cum = meta.cumulative(yi, vi, method=METHOD, order=order, labels=labels)
cum_view = pd.DataFrame({"k": cum.k, "HR": np.exp(cum.estimate), "ci_low": np.exp(cum.ci_low),
                         "ci_high": np.exp(cum.ci_high), "p": cum.p_value, "tau2": cum.tau2})
fig, ax = plt.subplots(figsize=(6.5, 1 + 0.4 * len(cum_view)))
ypos = np.arange(len(cum_view), 0, -1)
ax.errorbar(cum_view.HR, ypos, xerr=[cum_view.HR - cum_view.ci_low, cum_view.ci_high - cum_view.HR],
            fmt="o", color="tab:blue", capsize=3)
ax.axvline(1.0, color="grey", lw=0.8)
ax.set_xscale("log")
ax.set_yticks(ypos, [f"+ {lab}" for lab in cum_view.index])
ax.set_xlabel("cumulative HR (95% CI)")
ax.set_title("Cumulative meta-analysis by year")
fig.tight_layout()
cum_view.round(4)

# %% [markdown]
# ## Influence diagnostics
#
# `influential` applies metafor's rule (|DFFITS|, Cook's distance, hat value, |DFBETAS|).

# %%
infl = meta.influence(yi, vi, method=METHOD, labels=labels)
infl.round(4)

# %% [markdown]
# ## Small-study bias: funnel plot, Egger, Begg, trim-and-fill
#
# With few studies these tests have little power; read them as a description, not a verdict.

# %%
egger = meta.egger_test(yi, vi)
begg = meta.begg_test(yi, vi)
tf = meta.trim_and_fill(yi, vi, method=METHOD)
print(egger, begg, tf, sep="\n\n")

# %%
se = np.sqrt(tf.vi)
fig, ax = plt.subplots(figsize=(6, 4.5))
se_grid = np.linspace(0, se.max() * 1.1, 50)
z = stats.norm.ppf(0.975)
ax.plot(np.exp(full.estimate - z * se_grid), se_grid, color="grey", lw=0.8, ls="--")
ax.plot(np.exp(full.estimate + z * se_grid), se_grid, color="grey", lw=0.8, ls="--")
ax.axvline(np.exp(full.estimate), color="tab:blue", lw=1, label=f"pooled ({METHOD}) {np.exp(full.estimate):.2f}")
if tf.k0:
    ax.axvline(np.exp(tf.estimate), color="tab:red", lw=1, ls=":", label=f"trim-and-fill {np.exp(tf.estimate):.2f}")
ax.scatter(np.exp(tf.yi[~tf.filled]), se[~tf.filled], color="black", zorder=3, label="studies")
if tf.filled.any():
    ax.scatter(np.exp(tf.yi[tf.filled]), se[tf.filled], facecolors="white", edgecolors="black", zorder=3,
               label=f"imputed ({tf.k0}, {tf.side} side)")
ax.set_xscale("log")
ax.invert_yaxis()
ax.set_xlabel(f"{CELL['measure']} (log scale)")
ax.set_ylabel("standard error")
ax.set_title(f"Funnel plot — Egger p = {egger.p_value:.3f}, Begg p = {begg.p_value:.3f}")
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
