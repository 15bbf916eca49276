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
# # Extraction review: where the extractor and the curated table disagree
#
# Runs the extractor (`extraction.extract.extract_paths`) on the bundled corpus texts and lines its
# records up with the curated table of the same texts (`evidence.corpus.curated_records()`):
#
# 1. **matched** — same source file, endpoint, measure and arm, and the same value; then, among what is
#    left, same source file, endpoint, measure and arm with the nearest position in the text (the value
#    itself disagrees);
# 2. **misses** — curated records with no extracted partner (the extractor lost them);
# 3. **extras** — extracted records with no curated partner (false positives, or statistics the curators
#    left out);
# 4. **per-field disagreements** of the matched pairs, counted by field and by source.
#
# Everything runs locally on the bundled data (no network, no model download).

# %%
import math
from collections import Counter
from pathlib import Path

import pandas as pd
from IPython.display import display

from evidence.corpus import corpus_dir, curated_records
from extraction.extract import extract_paths

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 30)
pd.set_option("display.max_colwidth", 60)

# %% tags=["parameters"]
# Parameters: the fields compared on matched pairs, and the tolerance for numbers
COMPARE = ["source_id", "trial", "year", "phase", "randomized", "setting", "line", "histotypes", "intervention",
           "comparator", "value", "unit", "ci_low", "ci_high", "ci_level", "p_value", "p_relation", "n",
           "timepoint_months"]
TOL = 1e-9

# %% [markdown]
# ## Extract the bundled texts

# %%
paths = sorted(str(p) for p in corpus_dir().glob("*.txt"))
failed: list[tuple[str, str]] = []
extracted = pd.DataFrame(list(extract_paths(paths, on_error=lambda p, exc: failed.append((str(p), repr(exc))))))
curated = pd.DataFrame([r.to_dict() for r in curated_records()])
for df in (extracted, curated):
    df["file"] = [Path(str(f)).name for f in df["source_file"]]
assert not failed, f"the extractor failed on {failed}"
print(f"{len(paths)} texts: {len(extracted)} extracted records, {len(curated)} curated records")


# %% [markdown]
# ## Match extracted records to curated ones

# %%
def missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v == "")


def same(a, b) -> bool:
    """Equal as evidence values: null == empty, lists as sets, numbers within TOL."""
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    if isinstance(a, list) or isinstance(b, list):
        return sorted(a or []) == sorted(b or [])
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= TOL * max(1.0, abs(float(a)))
    return a == b


KEY = ["file", "endpoint", "measure", "arm"]
cur, ext = curated.to_dict("records"), extracted.to_dict("records")
free = set(range(len(ext)))
pairs: list[tuple[int, int, str]] = []  # (curated row, extracted row, matched on "value" or "position")
for how in ("value", "position"):
    taken = {p[0] for p in pairs}
    for ci, c in enumerate(cur):
        if ci in taken:
            continue
        cands = [ei for ei in sorted(free) if all(ext[ei][k] == c[k] for k in KEY)]
        if how == "value":
            cands = [ei for ei in cands if same(ext[ei]["value"], c["value"])]
        if not cands:
            continue
        # prefer the same population, then the nearest position in the text
        best = min(cands, key=lambda ei, c=c: (not same(ext[ei]["histotypes"], c["histotypes"]),
                                               abs((ext[ei]["value_start"] or 0) - (c["value_start"] or 0))))
        pairs.append((ci, best, how))
        free.discard(best)

matched_c = {p[0] for p in pairs}
misses = curated[[i not in matched_c for i in range(len(cur))]]
extras = extracted.iloc[sorted(free)]
summary = pd.DataFrame({
    "curated": curated.groupby("file").size(),
    "extracted": extracted.groupby("file").size(),
    "matched": pd.Series(Counter(cur[ci]["file"] for ci, _, _ in pairs)),
    "value differs": pd.Series(Counter(cur[ci]["file"] for ci, _, how in pairs if how == "position")),
    "misses": misses.groupby("file").size(),
    "extras": extras.groupby("file").size(),
}).fillna(0).astype(int)
summary.loc["all"] = summary.sum()
total = summary.loc["all"]
print(f"recall {total.matched / max(1, total.curated):.1%}, precision {total.matched / max(1, total.extracted):.1%} "
      "(record level; a matched pair may still disagree on its value)")
display(summary)

# %% [markdown]
# ## Misses (curated, not extracted)

# %%
show = ["file", "histotypes", "intervention", "comparator", "arm", "endpoint", "measure", "value", "ci_low", "ci_high",
        "n", "evidence_text"]
misses[show]

# %% [markdown]
# ## Extras (extracted, not curated)

# %%
extras[show]

# %% [markdown]
# ## Per-field disagreements of matched pairs

# %%
diffs = []
for ci, ei, _how in pairs:
    c, e = cur[ci], ext[ei]
    for f in COMPARE:
        if not same(c[f], e[f]):
            diffs.append({**{k: c[k] for k in ("file", "record_id", "endpoint", "measure", "arm")},
                          "field": f, "curated": c[f], "extracted": e[f]})
diffs = pd.DataFrame(diffs, columns=["file", "record_id", "endpoint", "measure", "arm", "field", "curated",
                                     "extracted"])
by_field = diffs.groupby("field").size().reindex(COMPARE, fill_value=0).rename("disagreements").to_frame()
by_field["share of matched pairs"] = by_field["disagreements"] / max(1, len(pairs))
by_field[by_field["disagreements"] > 0]

# %%
display(pd.crosstab(diffs["file"], diffs["field"]) if len(diffs) else "no disagreement")
display(diffs)

# %% [markdown]
# Fields such as `source_id` differ by design when a text file does not state its PubMed id (the extractor
# then names it `file:<sha256 first 12>`); the curated table carries the citation. The other fields are
# the ones to look at when improving the extractor or its patterns.
