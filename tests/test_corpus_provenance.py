"""Every curated record of the bundled corpus sits where it says in its text (issue 16).

For each record: the text between value_start and value_end prints its value ("0·77" == 0.77,
"34%" == 0.34) and is not a CI bound, its CI bounds are printed in its sentence, and its sentence names
its endpoint. curated.csv is what build_curated.py makes of statistics.tsv and the manifest.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from evidence.corpus import corpus_dir, curated_records, manifest
from evidence.corpus.provenance import problems, sentence_bounds

ROOT = Path(__file__).resolve().parents[1]
RECORDS = curated_records()
TEXTS = {d["file"]: (corpus_dir() / d["file"]).read_text(encoding="utf-8") for d in manifest()}


def _build_module():
    spec = importlib.util.spec_from_file_location("build_curated", ROOT / "evidence" / "corpus" / "build_curated.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: f"{r.source_file}:{r.endpoint}-{r.measure}-{r.value_start}")
def test_record_sits_where_it_says(rec):
    text = TEXTS[rec.source_file.removeprefix("texts/")]
    assert rec.evidence_text == text[rec.char_start:rec.char_end]
    assert problems(rec.to_dict(), text, (rec.value_start, rec.value_end), (rec.char_start, rec.char_end)) == []


def test_the_known_error_class_is_caught():
    # an OS odds ratio placed on the local-recurrence sentence, its value span on a CI bound
    text = ("Chemotherapy improved local control (odds ratio [OR], 0.73; 95% CI, 0.56-0.94). "
            "For overall survival the OR was 0.56 (95% CI, 0.36-0.85).")
    rec = {"endpoint": "OS", "measure": "OR", "value": 0.56, "ci_low": 0.36, "ci_high": 0.85}
    vs = text.index("0.56")
    bad = problems(rec, text, (vs, vs + 4), sentence_bounds(text, vs))
    assert any("CI bound" in b for b in bad) and any("ci_low" in b for b in bad)
    assert any("endpoint OS" in b for b in bad)
    right = text.index("0.56 (95%")
    assert problems(rec, text, (right, right + 4), sentence_bounds(text, right)) == []


def test_curated_csv_is_built_from_statistics_tsv():
    built = _build_module().build_records()
    key = lambda r: (r.source_file, r.value_start, r.endpoint, r.measure, r.arm, r.intervention)  # noqa: E731
    assert sorted(map(key, built)) == sorted(map(key, RECORDS))
    by_key = {key(r): r for r in RECORDS}
    for r in built:
        c = by_key[key(r)]
        assert (c.value, c.ci_low, c.ci_high, c.p_value, c.n, c.histotypes) == (
            r.value, r.ci_low, r.ci_high, r.p_value, r.n, r.histotypes)


def test_every_text_has_records_a_citation_and_checked_sources():
    files = {r.source_file.removeprefix("texts/") for r in RECORDS}
    for d in manifest():
        assert d["file"] in files, f"{d['file']} has no curated record"
        assert d["citation"] in TEXTS[d["file"]], f"{d['file']} does not cite its source"
        assert d["checked_against"], f"{d['file']}: no public source listed in checked_against"
        assert all(u.startswith("http") for u in d["checked_against"])
