"""Lossless round trips through CSV, JSONL and Parquet (property-based), and clear read errors."""

import string
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.errors import ImportFileError
from evidence.io import read_records, write_records
from evidence.schema import validate_record

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
opt_text = st.none() | text.filter(lambda s: s != "")
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def records(draw):
    measure = draw(st.sampled_from(["HR", "OR", "RR", "median", "rate"]))
    if measure in ("HR", "OR", "RR"):
        arm = "contrast"
        value = draw(st.floats(min_value=1e-3, max_value=50))
        lo = draw(st.none() | st.floats(min_value=1e-4, max_value=value))
        hi = None if lo is None else draw(st.floats(min_value=value, max_value=100))
        p = draw(st.none() | st.floats(min_value=1e-12, max_value=1.0, exclude_min=True))
    else:
        arm = draw(st.sampled_from(["intervention", "comparator", "single"]))
        top = 1.0 if measure == "rate" else 500.0
        value = draw(st.floats(min_value=0, max_value=top))
        lo = draw(st.none() | st.floats(min_value=0, max_value=value))
        hi = None if lo is None else draw(st.floats(min_value=value, max_value=top))
        p = draw(st.none() | st.floats(min_value=1e-12, max_value=1.0, exclude_min=True))
    d = {
        "source_id": draw(text.filter(lambda s: s != "")), "source_file": draw(opt_text),
        "source_title": draw(opt_text), "year": draw(st.none() | st.integers(1900, 2100)),
        "trial": draw(opt_text), "phase": draw(st.sampled_from([None, "1", "2", "3", "1/2", "2/3"])),
        "randomized": draw(st.none() | st.booleans()),
        "setting": draw(st.sampled_from([None, "advanced", "adjuvant", "neoadjuvant", "localized"])),
        "line": draw(st.sampled_from([None, "first", "second_plus"])),
        "histotypes": draw(st.lists(st.text(string.ascii_lowercase + "_", min_size=1, max_size=12), max_size=3)),
        "intervention": draw(opt_text), "comparator": draw(opt_text), "arm": arm,
        "endpoint": draw(st.sampled_from(["OS", "PFS", "ORR", "DFS", "RFS", "MFS", "LRFS", "EFS", "DCR",
                                          "CBR", "TTP", "DM", "LR"])),
        "measure": measure, "value": value,
        "unit": draw(st.sampled_from(["months", "weeks", "days", "years"])) if measure == "median" else None,
        "ci_low": lo, "ci_high": hi, "ci_level": draw(st.sampled_from([0.95, 0.9, 0.99])),
        "p_value": p, "p_relation": None if p is None else draw(st.sampled_from(["=", "<", "<=", ">"])),
        "n": draw(st.none() | st.integers(1, 10**6)),
        "timepoint_months": draw(st.none() | st.floats(min_value=0.01, max_value=240)),
        "evidence_text": draw(opt_text), "char_start": draw(st.none() | st.integers(0, 10**7)),
        "page": draw(st.none() | st.integers(1, 999)),
        "flags": draw(st.lists(st.sampled_from(["unknown_agent", "arm_n_sum", "ünïcode,\"flag\""]),
                               max_size=2, unique=True)),
        "extractor": draw(opt_text), "confidence": draw(st.none() | st.floats(0, 1)),
        "status": draw(st.sampled_from(["extracted", "accepted", "edited", "rejected"])),
        "reviewer": draw(opt_text), "note": draw(opt_text),
        "updated_at": draw(st.none() | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                                                     timezones=st.just(UTC))),
        # round 2
        "design": draw(st.sampled_from([None, "rct", "single_arm", "observational", "meta_analysis"])),
        "registry_ids": draw(st.lists(st.sampled_from(["NCT00753688", "EudraCT 2004-001234-56", "ISRCTN1"]),
                                      max_size=2, unique=True)),
        "p_sided": draw(st.sampled_from([1, 2])),
        "adjusted": draw(st.none() | st.booleans()),
    }
    if draw(st.booleans()):  # a subgroup result
        d["subgroup"], d["subgroup_label"] = "histotype", draw(text.filter(lambda s: s != ""))
    if measure == "rate" and d["n"] is not None:
        d["events"] = draw(st.none() | st.integers(0, d["n"]))
    if draw(st.booleans()):  # a prognostic-factor record: levels instead of treatments
        d.update(question="prognostic", intervention=None, comparator=None,
                 factor=draw(st.sampled_from(["margin", "grade", "size"])),
                 factor_level=draw(st.sampled_from(["R1", "grade 3", "> 5 cm"])),
                 factor_reference=draw(st.sampled_from(["R0", "grade 1", "≤ 5 cm", None])),
                 covariates=draw(st.lists(st.sampled_from(["age", "depth", "size, in cm"]), max_size=2, unique=True)))
    return validate_record(d, add_flags=False)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=st.lists(records(), max_size=5, unique_by=lambda r: r.record_id))  # import refuses a repeated id
def test_round_trip_is_lossless(tmp_path, fmt, recs):
    path = tmp_path / f"r.{fmt}"
    write_records(recs, path)
    assert read_records(path) == recs


def test_csv_conventions(tmp_path):
    r = validate_record({"source_id": "PMID:1", "endpoint": "OS", "measure": "HR", "arm": "contrast",
                         "value": 0.77, "histotypes": ["leiomyosarcoma", "liposarcoma"]})
    p = tmp_path / "r.csv"
    write_records([r], p)
    body = p.read_text(encoding="utf-8")
    assert '"[""leiomyosarcoma"", ""liposarcoma""]"' in body and ",,," in body


@pytest.mark.parametrize("content,message", [
    ("record_id,source_id,endpoint,measure,arm,value\n,PMID:1,OS,HR,contrast,abc\n",
     r"bad.csv: row 2: value='abc'"),
    ("source_id,endpoint,measure,arm,value\nPMID:1,OS,HR,contrast,0.5\nPMID:1,XX,HR,contrast,0.5\n",
     r"bad.csv: row 3: endpoint='XX': must be one of"),
    ("source_id,endpoint,measure,arm,value,colour\nPMID:1,OS,HR,contrast,0.5,red\n",
     r"bad.csv: unknown column 'colour'"),
    ("source_id,endpoint,measure,arm,value,histotypes\nPMID:1,OS,HR,contrast,0.5,lms\n",
     r"bad.csv: row 2: histotypes='lms': a list must be a JSON array"),
])
def test_bad_rows_name_row_and_field(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFileError, match=message):
        read_records(p)


def test_bad_jsonl_and_encoding(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"source_id": "x"\n', encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"bad.jsonl: line 1: not JSON"):
        read_records(p)
    q = tmp_path / "latin.csv"
    q.write_bytes("source_id\nM\xfcnchen\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match="not UTF-8 text"):
        read_records(q)
    with pytest.raises(ImportFileError, match="cannot tell the format"):
        read_records(tmp_path / "x.xlsx")
