"""The bundled corpus's sarcoma networks on their real agents, as printed in bench/RESULTS.md.

    .venv/bin/python bench/nma_sarcoma.py [--method REML]

The curated table carries *question classes* (``doxorubicin_plus_agent``, ``active_agent``,
``control``: evidence/corpus/question_classes.json) in place of the agents of trials that answer one
pooled question; a network of classes would lump different drugs into one node. Each class record is
given back its real agents from its text's manifest entry (``agents``: "A vs B"), normalised through
the agents vocabulary; GIST and desmoid records are set aside (other questions); then
:func:`meta.nma_from_records` builds and fits the advanced first-line and second-line OS networks.
Prints markdown.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evidence.io import read_records  # noqa: E402
from evidence.nma_cli import trial_resolver  # noqa: E402
from evidence.vocabulary import VOCAB  # noqa: E402
from meta.nma_records import nma_from_records  # noqa: E402

CORPUS = ROOT / "evidence" / "corpus"


def real_agents(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace question-class labels by the manifest's agents of the record's source (unparsable: kept)."""
    classes = {c["id"] for c in json.loads((CORPUS / "question_classes.json").read_text())["classes"]}
    agents = {d["source_id"]: d["agents"] for d in json.loads((CORPUS / "manifest.json").read_text())["documents"]
              if d.get("agents")}
    out = frame.copy()
    for i, row in out.iterrows():
        if row["intervention"] not in classes and row["comparator"] not in classes:
            continue
        text = agents.get(row["source_id"], "")
        parts = [re.sub(r"\(.*?\)", "", p).strip() for p in text.split(" vs ")]
        if len(parts) != 2:
            continue
        a, b = (VOCAB.normalize_agents(p) for p in parts)
        if a and b:
            out.loc[i, ["intervention", "comparator"]] = [a, b]
    return out


def markdown(res, measure: str = "HR") -> str:
    mat = res.league_matrix(exp=True)
    lines = ["| | " + " | ".join(mat.columns) + " |", "|---" * (len(mat.columns) + 1) + "|"]
    for r in mat.index:
        lines.append(f"| {r} | " + " | ".join("—" if r == c else mat.loc[r, c] for c in mat.columns) + " |")
    ps = ", ".join(f"{t} {p:.3f}" for t, p in res.pscores.items())
    d = res.decomposition
    q = f"Q = {d.loc['total', 'q']:.2f} (df {int(d.loc['total', 'df'])})"
    return "\n".join([*lines, "", f"P-scores: {ps}. τ² = {res.tau2:.4g}; {q}; "
                      f"{len(res.network.blocks)} trials; reference {res.reference}."])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="REML")
    args = ap.parse_args()
    frame = real_agents(pd.DataFrame([r.to_dict() for r in read_records(CORPUS / "curated.csv")]))
    # soft-tissue sarcoma networks: GIST and desmoid trials (placebo-controlled too) answer other questions
    other = frame["histotypes"].map(lambda h: bool(set(h or []) & {"gist", "desmoid_tumor"}))
    print(f"{int(other.sum())} GIST/desmoid records set aside; question classes replaced by the manifest's agents\n")
    frame = frame[~other]
    for line in ("first", "second_plus"):
        net = nma_from_records(frame, setting="advanced", line=line, endpoint="OS", measure="HR",
                               method=args.method, trial_resolver=trial_resolver)
        print(f"### advanced, line {line}, OS HR ({args.method})\n")
        for i, part in enumerate(net.components):
            trials = sorted(set(net.contrasts.loc[net.contrasts["treat1"].isin(part), "trial"].astype(str)))
            print(f"Component {i}: {', '.join(part)} — trials {', '.join(trials)}\n")
            if i in net.fits:
                print(markdown(net.fits[i]) + "\n")
        for note in net.notes:
            print(f"- note: {note}")
        for x in net.excluded:
            print(f"- excluded {x['record_id']}: {x['reason']}")
        print()


if __name__ == "__main__":
    main()
