"""Rebuild ``curated.csv`` (the demo's curated evidence table) and the citation lines of ``texts/``.

A maintenance script, not imported by the package: the curated values are the published results stated
in each bundled text (the project's development gold set of real trials), turned into evidence
records with their source sentence located in the text.

    python evidence/corpus/build_curated.py ../shared/gold/dev/gold.jsonl
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from evidence.io import write_records
from evidence.schema import validate_record

HERE = Path(__file__).parent


def _sentence_bounds(text: str, pos: int) -> tuple[int, int]:
    starts = [m.end() for m in re.finditer(r"(?<=[.!?])\s+(?=[A-Z(])|\n+", text[:pos])]
    start = starts[-1] if starts else 0
    m = re.search(r"(?<=[.!?])\s+(?=[A-Z(])|\n", text[pos:])
    end = pos + m.start() if m else len(text)
    return start, end


def _number_forms(v: float, measure: str) -> list[str]:
    x = v * 100 if measure == "rate" else v
    forms = {f"{x:g}", f"{x:.1f}", f"{x:.2f}"}
    forms |= {f.replace(".", "·") for f in forms}
    return sorted(forms, key=len, reverse=True)


def main(gold_path: str) -> None:
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    docs = {d["file"]: d for d in manifest["documents"]}
    for d in docs.values():
        p = HERE / "texts" / d["file"]
        text = p.read_text(encoding="utf-8")
        line = f"Source: {d['citation']}"
        if line not in text:
            p.write_text(text.rstrip("\n") + "\n\n" + line + "\n", encoding="utf-8")
    out, used = [], set()
    for raw in open(gold_path, encoding="utf-8"):
        g = json.loads(raw)
        d = docs[g["doc"]]
        text = (HERE / "texts" / g["doc"]).read_text(encoding="utf-8")
        pos = -1
        for form in _number_forms(g["value"], g["measure"]):
            key = (g["doc"], g["endpoint"], g["measure"], g["arm"])
            pattern = r"(?<![\d.·])" + re.escape(form) + r"(?![\d·]|\.\d)"
            m = next((m for m in re.finditer(pattern, text) if (*key, m.start()) not in used), None)
            if m:  # the same number can stand twice (two cohorts): take the next unused place
                pos, end = m.start(), m.end()
                used.add((*key, pos))
                break
        rec = {k: g[k] for k in ("endpoint", "measure", "arm", "value", "unit", "ci_low", "ci_high",
                                 "p_value", "p_relation", "n", "intervention", "comparator",
                                 "histotypes", "timepoint_months")}
        rec.update(source_id=d["source_id"], source_file=f"texts/{g['doc']}", year=d["year"],
                   source_title=text.splitlines()[0], trial=d["trial"] or None, phase=d["phase"] or None,
                   randomized=d["randomized"], setting=d["setting"] or None, line=d["line"] or None,
                   status="accepted", reviewer="demo-curator", extractor="curated",
                   note="published result, checked against the cited publication")
        if pos >= 0:
            s, e = _sentence_bounds(text, pos)
            rec.update(evidence_text=text[s:e], char_start=s, char_end=e, value_start=pos, value_end=end)
        out.append(validate_record(rec))
    n = write_records(out, HERE / "curated.csv")
    print(f"wrote {n} curated records to {HERE / 'curated.csv'}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/gold/dev/gold.jsonl")
