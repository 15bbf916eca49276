"""The bundled corpus's sarcoma networks on their real agents, as printed in bench/RESULTS.md.

    .venv/bin/python bench/nma_sarcoma.py [--method REML]

The curated records carry their real agents (the comparison classes of the pooling plan,
evidence/vocab/comparison_classes.json, are an analysis choice of ``pool``, never a node of the network);
GIST and desmoid records are set aside (other questions); then :func:`meta.nma_from_records` builds and
fits the advanced first-line and second-line OS networks.
Prints markdown.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evidence.io import read_records  # noqa: E402
from evidence.pool_cli import trial_aliases  # noqa: E402
from meta.nma_records import nma_from_records  # noqa: E402

CORPUS = ROOT / "evidence" / "corpus"


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
    frame = pd.DataFrame([r.to_dict() for r in read_records(CORPUS / "curated.csv")])
    # soft-tissue sarcoma networks: GIST and desmoid trials (placebo-controlled too) answer other questions
    other = frame["histotypes"].map(lambda h: bool(set(h or []) & {"gist", "desmoid_tumor"}))
    print(f"{int(other.sum())} GIST/desmoid records set aside\n")
    frame = frame[~other]
    for line in ("first", "second_plus"):
        net = nma_from_records(frame, setting="advanced", line=line, endpoint="OS", measure="HR",
                               method=args.method, trial_aliases=trial_aliases())
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
