"""extract_paths(transform=jsonl_line) and the CLI's JSONL: the lines evidence.io.write_records writes."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from evidence.io import write_records
from evidence.schema import FIELDS
from extraction.extract import extract_paths, jsonl_line


def written(recs):
    buf = io.StringIO()
    write_records(recs, None, "jsonl", stream=buf)
    return buf.getvalue()


@pytest.mark.parametrize("rec", [
    {"source_id": "PMID:1"},
    {f: None for f in FIELDS},
    {**{f: None for f in FIELDS}, "updated_at": datetime(2024, 5, 1, 12, 30, tzinfo=UTC), "note": "é – ≤ \u2028"},
    {"updated_at": datetime(2024, 5, 1), "flags": ["a"], "value": 1.5, "n": 3, "extra": "dropped"},
    {"value": float("nan"), "ci_low": float("inf"), "histotypes": ["x", "y"], "randomized": True},
])
def test_jsonl_line_is_write_records(rec):
    assert jsonl_line(rec) == written([rec])


def test_nested_datetime_fails_alike():
    rec = {"flags": [datetime(2024, 1, 1)]}
    with pytest.raises(TypeError):
        written([rec])
    with pytest.raises(TypeError):
        jsonl_line(rec)


def test_transform_gives_the_same_lines(tmp_path):
    from bench.bench_extraction import write_corpus

    paths = write_corpus(12, str(tmp_path))
    recs = list(extract_paths(paths))
    assert recs
    assert "".join(extract_paths(paths, transform=jsonl_line)) == written(recs)
    assert "".join(extract_paths(paths, n_process=2, batch_size=3, transform=jsonl_line)) == written(recs)
