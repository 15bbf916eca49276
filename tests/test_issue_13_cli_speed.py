"""Issue 13, whole-process speed of ``sarcoma-evidence extract``: the console script ends with ``os._exit``
once its output is closed (same files, same exit codes), spaCy is imported without ``spacy.cli``, the
readers of other formats are imported on first use, and one task starts no worker process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from extraction import extract as extract_mod
from extraction.extract import extract_paths, jsonl_line

EXE = str(Path(sys.executable).with_name("sarcoma-evidence"))
TEXT = ("Sunitinib versus placebo in angiosarcoma: a randomised phase 3 trial\n\nMedian overall survival was "
        "{m} months with sunitinib versus 9.0 months with placebo (HR 0.80, 95% CI 0.64-0.99).")


def _docs(folder: Path, n: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for i in range(n):
        p = folder / f"a{i:03d}.txt"
        p.write_text(TEXT.format(m=10 + i % 7), encoding="utf-8")
        paths.append(p)
    return paths


def _lines(paths) -> str:
    return "".join(extract_paths([str(p) for p in paths], transform=jsonl_line))


@pytest.mark.parametrize("n", [1, 70])  # one task (no worker), and tasks for this process and a worker
def test_console_script_writes_every_line_and_exits_0(tmp_path, n):
    paths = _docs(tmp_path / "in", n)
    out = tmp_path / "out.jsonl"
    r = subprocess.run([EXE, "extract", str(tmp_path / "in"), "--out", str(out), "--processes", "2"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert out.read_text(encoding="utf-8") == _lines(paths)
    assert f"from {n} of {n} files" in r.stderr


def test_console_script_stdout_and_exit_codes(tmp_path):
    paths = _docs(tmp_path / "in", 3)
    r = subprocess.run([EXE, "extract", *map(str, paths)], capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0 and r.stdout == _lines(paths)
    missing = str(tmp_path / "missing.txt")
    r = subprocess.run([EXE, "extract", str(paths[0]), missing], capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == 1 and r.stdout == _lines(paths[:1]) and "missing.txt" in r.stderr
    r = subprocess.run([EXE, "extract", missing], capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 2 and r.stdout == "" and "no input file" in r.stderr


_LEAN = """
import sys
from evidence.launcher import import_spacy_lean
import_spacy_lean()
import spacy
print("CLI", sorted(m for m in ("spacy.cli", "weasel", "requests", "httpx", "jinja2") if m in sys.modules))
import spacy.cli
print("REAL", hasattr(spacy.cli, "setup_cli"), spacy.cli.info.__module__)
print("INFO", sorted(spacy.info())[:1])
"""


def test_spacy_imports_without_its_cli_and_the_cli_still_imports():
    r = subprocess.run([sys.executable, "-c", _LEAN], capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert "CLI []" in r.stdout
    assert "REAL True spacy.cli.info" in r.stdout
    assert "INFO ['Location']" in r.stdout or "INFO ['" in r.stdout


def test_text_files_do_not_import_the_other_readers(tmp_path):
    paths = _docs(tmp_path / "in", 1)
    probe = ("import sys\nfrom extraction.ingest import read_documents\nlist(read_documents(sys.argv[1]))\n"
             "print(sorted(m for m in ('lxml', 'pypdf', 'extraction.ingest.pdf', 'extraction.ingest.pubmed', "
             "'extraction.ingest.ctgov') if m in sys.modules))\n"
             "from extraction.ingest import iter_articles, records_from_study\nprint(iter_articles.__module__, "
             "records_from_study.__module__)")
    r = subprocess.run([sys.executable, "-c", probe, str(paths[0])], capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["[]", "extraction.ingest.pubmed extraction.ingest.ctgov"]


def test_one_task_starts_no_worker(tmp_path, monkeypatch):
    paths = _docs(tmp_path / "in", 3)
    expected = _lines(paths)

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started for one task")

    monkeypatch.setattr(extract_mod, "ProcessPoolExecutor", no_pool)
    got = "".join(extract_paths([str(p) for p in paths], n_process=2, batch_size=32, transform=jsonl_line))
    assert got == expected
    with pytest.raises(AssertionError, match="worker pool"):
        list(extract_paths([str(p) for p in paths], n_process=2, batch_size=1))
    assert [json.loads(ln)["value"] for ln in got.splitlines()][:3] == [10.0, 9.0, 0.8]
