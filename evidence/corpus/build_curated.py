"""Rebuild ``curated.csv`` (the demo's curated evidence table) from ``statistics.tsv`` and ``manifest.json``.

A maintenance script, not imported by the package. ``statistics.tsv`` holds one row per published
statistic of a bundled text: the text's file, an *anchor* (a passage that occurs exactly once in the text
and starts with the number as printed), the endpoint, measure, arm, CI, p, n and time point, and, where
the statistic is about a narrower population than the trial's, its subgroup and histotypes; a prognostic-factor
statistic also names its question (``prognostic``), factor, the two levels it compares, whether it is adjusted
(``true``/``false``, empty when the text does not say) and the model's covariates (``;``-separated). Rows that
leave those columns empty are treatment records. The trial's own fields (trial, registry ids, design,
setting, line, phase, intervention, comparator, histotypes) come from its manifest entry. The value is read
from the printed number, so the table cannot disagree with the text; every record is checked with
:func:`evidence.corpus.provenance.problems` before it is written, and the script stops, naming the row, at
the first one that does not sit where it says.

    python evidence/corpus/build_curated.py
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from evidence.corpus.provenance import NUMBER_RE, printed_value, problems, sentence_bounds
from evidence.io import write_records
from evidence.schema import FIELDS, validate_record

HERE = Path(__file__).parent
#: Trial-level fields a manifest entry gives every record of its text (a row may override the last five).
TRIAL_FIELDS = ("trial", "phase", "randomized", "design", "setting", "line", "registry_ids")
ROW_OVERRIDES = ("histotypes", "intervention", "comparator", "subgroup", "subgroup_label")


def _p(cell: str) -> tuple[float | None, str | None]:
    """``=0.017`` → (0.017, '='); ``<.001`` → (0.001, '<'); empty → (None, None)."""
    cell = cell.strip()
    if not cell:
        return None, None
    rel = next(r for r in ("<=", ">=", "<", ">", "=") if cell.startswith(r))
    return float(cell[len(rel):]), rel


def _bool(cell: str | None) -> bool | None:
    """``true`` → True, ``false`` → False, empty → None (the text does not say)."""
    cell = (cell or "").strip().lower()
    if not cell:
        return None
    if cell not in ("true", "false"):
        raise ValueError(f"adjusted {cell!r}: true, false or empty")
    return cell == "true"


def _prognostic(row: dict, d: dict) -> dict:
    """The question fields of a row: ``treatment`` unless the row (or its manifest entry) says ``prognostic``."""
    cell = lambda k: (row.get(k) or "").strip()  # noqa: E731 - rows of older files lack the columns
    question = cell("question") or d.get("question") or "treatment"
    return {"question": question, "factor": cell("factor") or None, "factor_level": cell("factor_level") or None,
            "factor_reference": cell("factor_reference") or None, "adjusted": _bool(row.get("adjusted")),
            "covariates": [c.strip() for c in cell("covariates").split(";") if c.strip()]}


def _num(cell: str, cast=float):
    return cast(cell) if cell.strip() else None


def _note(d: dict) -> str:
    """The record's note: the real agents behind a question-class label, and where the numbers were checked."""
    agents = f"agents: {d['agents']}; " if d.get("agents") else ""
    return agents + "published result, checked against " + "; ".join(d["checked_against"])


def build_records(root: Path = HERE) -> list:
    """The curated records, each placed in its text and checked; raises ValueError naming a bad row."""
    docs = {d["file"]: d for d in json.loads((root / "manifest.json").read_text(encoding="utf-8"))["documents"]}
    texts = {f: (root / "texts" / f).read_text(encoding="utf-8") for f in docs}
    out = []
    with open(root / "statistics.tsv", encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh, delimiter="\t"), start=2):
            where = f"statistics.tsv line {i}"
            d = docs.get(row["doc"])
            if d is None:
                raise ValueError(f"{where}: no manifest entry for {row['doc']!r}")
            text = texts[row["doc"]]
            anchor = row["anchor"]
            if text.count(anchor) != 1:
                raise ValueError(f"{where}: anchor {anchor!r} occurs {text.count(anchor)} times in {row['doc']}")
            m = NUMBER_RE.match(anchor)
            if not m:
                raise ValueError(f"{where}: anchor {anchor!r} does not start with a number")
            vs = text.index(anchor)
            ve = vs + m.end()
            cs, ce = sentence_bounds(text, vs)
            p, rel = _p(row["p"])
            rec = {
                "source_id": d["source_id"], "source_file": f"texts/{row['doc']}", "year": d["year"],
                "source_title": text.splitlines()[0],
                **{k: (d.get(k) if d.get(k) not in ("", None) else None) for k in TRIAL_FIELDS},
                "histotypes": (row["histotypes"].split("+") if row["histotypes"] else d["histotypes"]),
                "intervention": row["intervention"] or d.get("intervention") or None,
                "comparator": row["comparator"] or d.get("comparator") or None,
                "subgroup": row["subgroup"] or None, "subgroup_label": row["subgroup_label"] or None,
                "endpoint": row["endpoint"], "measure": row["measure"], "arm": row["arm"],
                "value": printed_value(m.group(0), row["measure"]), "unit": row.get("unit") or "",
                "ci_low": _num(row["ci_low"]), "ci_high": _num(row["ci_high"]),
                "ci_level": _num(row["ci_level"]) or 0.95, "p_value": p, "p_relation": rel,
                "n": _num(row["n"], int), "timepoint_months": _num(row["timepoint"]),
                "evidence_text": text[cs:ce], "char_start": cs, "char_end": ce, "value_start": vs, "value_end": ve,
                "status": "accepted", "reviewer": "demo-curator", "extractor": "curated",
                "note": _note(d), **_prognostic(row, d),
            }
            bad = problems(rec, text, (vs, ve), (cs, ce))
            if bad:
                raise ValueError(f"{where} ({row['doc']}): " + "; ".join(bad))
            rec = {k: v for k, v in rec.items() if k in FIELDS}  # round-2 fields only where the schema has them
            out.append(validate_record(rec))
    return out


def main() -> None:
    try:
        recs = build_records()
    except ValueError as exc:
        sys.exit(str(exc))
    n = write_records(recs, HERE / "curated.csv")
    print(f"wrote {n} curated records to {HERE / 'curated.csv'}")


if __name__ == "__main__":
    main()
