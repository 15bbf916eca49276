"""Untrusted documents (issue 12): one hostile file never stops a batch; size limits; source identity;
symbolic links; escaped names; unexpected errors exit 3 with a ``--debug`` hint."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

from evidence.store import Store
from tests.test_cli import EXE, run

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
CTGOV = (FIXTURES / "ctgov_rct.json").read_text(encoding="utf-8")


def _article(pmid: str, year: str, title: str = "Drug A versus placebo in leiomyosarcoma") -> str:
    return (f"<PubmedArticle><MedlineCitation><PMID>{pmid}</PMID><Article><Journal><JournalIssue><PubDate>"
            f"<Year>{year}</Year></PubDate></JournalIssue><Title>J Test</Title></Journal>"
            f"<ArticleTitle>{title}</ArticleTitle><Abstract><AbstractText>Overall survival was longer."
            "</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>")


def _pubmed(*articles: str) -> str:
    return "<?xml version=\"1.0\"?>\n<PubmedArticleSet>" + "".join(articles) + "</PubmedArticleSet>\n"


def _lines(stderr: str, word: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if word in ln]


def _hostile_batch(d: Path) -> dict[str, str]:
    """Files of one batch: name → a word of the reason its line must give ('' for files stored whole)."""
    d.mkdir()
    (d / "good.json").write_text(CTGOV, encoding="utf-8")
    (d / "superscript.xml").write_text(_pubmed(_article("1", "²⁰¹⁶")), encoding="utf-8")
    (d / "year20.xml").write_text(_pubmed(_article("2", "12345678901234567890")), encoding="utf-8")
    (d / "longpmid.xml").write_text(_pubmed(_article("9" * 250, "2016"), _article("3", "2016")), encoding="utf-8")
    (d / "bigint.json").write_text(CTGOV.replace('"hasResults"', '"_n": 1' + "0" * 400 + ', "hasResults"', 1),
                                   encoding="utf-8")
    (d / "surrogate.json").write_text(CTGOV.replace('"briefTitle": "', '"briefTitle": "\\ud800', 1), encoding="utf-8")
    (d / "nul.json").write_text(CTGOV.replace('"briefTitle": "', '"briefTitle": "\\u0000', 1), encoding="utf-8")
    (d / "nul.txt").write_bytes(b"A trial of drug A\n\x00\x00 binary\n")
    (d / "longdoi.txt").write_text("A trial of drug A\ndoi: 10.1234/" + "x" * 300 + "\nOverall survival.\n",
                                   encoding="utf-8")
    return {"superscript.xml": "year", "year20.xml": "year", "longpmid.xml": "at most 200",
            "bigint.json": "401 digits", "surrogate.json": "surrogate", "nul.json": "NUL", "nul.txt": "binary",
            "longdoi.txt": "at most 200"}


def test_one_hostile_file_never_stops_a_batch(tmp_path, store_url):
    reasons = _hostile_batch(tmp_path / "batch")
    res = run("ingest", str(tmp_path / "batch"), "--db", store_url)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "SELECT" not in res.stderr and "INSERT" not in res.stderr
    for name, word in reasons.items():
        lines = _lines(res.stderr, name)
        assert len(lines) == 1, (name, res.stderr)
        assert word in lines[0], (name, lines[0])
    store = Store(store_url)
    try:
        ids = set(store.sources_frame()["source_id"])
        # the good study, both bad-year articles (stored without a year), the good article beside the long PMID
        assert {"NCT09900001", "PMID:1", "PMID:2", "PMID:3"} <= ids
        assert all(len(i) <= 200 for i in ids)
        assert store.source("PMID:1")["year"] is None and store.source("PMID:2")["year"] is None
        assert store.count(source_id="NCT09900001") > 0
    finally:
        store.close()


def test_gzip_bomb_fails_with_one_line_and_bounded_memory(tmp_path):
    """~300 KB of gzip that inflates to 300 MB of words: one clear line, peak RSS under 1 GB."""
    bomb = tmp_path / "bomb.xml.gz"
    head = (b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>7</PMID><Article><ArticleTitle>T"
            b"</ArticleTitle><Abstract><AbstractText>")
    chunk = b"sarcoma " * 131072  # 1 MiB
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(head)
        for _ in range(300):
            fh.write(chunk)
        fh.write(b"</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>")
    assert bomb.stat().st_size < 1_000_000
    db = f"sqlite:///{tmp_path / 'e.db'}"
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(r.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
             "sys.stderr.write(r.stderr)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SARCOMA_EVIDENCE_")}
    res = subprocess.run([sys.executable, "-c", probe, EXE, "ingest", str(bomb), "--db", db],
                         capture_output=True, text=True, timeout=600, env=env)
    code, rss_kb = (int(x) for x in res.stdout.split()[:2])
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert code == 2, res.stderr
    assert len(errors) == 1 and "bomb.xml.gz" in errors[0] and "limit of 50 MB" in errors[0], res.stderr
    assert rss_kb < 1_000_000, f"peak RSS {rss_kb / 1024:.0f} MiB"


def test_limits_are_configurable(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text("Drug A in leiomyosarcoma\n" + "word " * 1000, encoding="utf-8")
    env = {**os.environ, "SARCOMA_EVIDENCE_MAX_DOCUMENT_MB": "0.001"}
    res = subprocess.run([EXE, "extract", str(p)], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 2
    assert "big.txt: text of one document exceeds the limit of 0.001 MB" in res.stderr
    assert "SARCOMA_EVIDENCE_MAX_DOCUMENT_MB" in res.stderr


def test_two_documents_citing_one_doi_never_share_a_source(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("Trial A of drug X in liposarcoma\ndoi: 10.1000/shared\nFirst text.\n", encoding="utf-8")
    (d / "b.txt").write_text("Letter on trial A\ndoi: 10.1000/shared\nA different text.\n", encoding="utf-8")
    (d / "c.txt").write_text("Commentary\nThis comments on doi:10.1000/shared in a sentence.\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'e.db'}"
    res = run("ingest", str(d), "--db", db)
    assert res.returncode == 0, res.stderr
    store = Store(db)
    frame = store.sources_frame()
    assert len(frame) == 3
    assert store.source("DOI:10.1000/shared")["text"].startswith("Trial A")  # never overwritten
    clash = [m for m in frame["meta"] if m.get("source_id_clash")]
    assert len(clash) == 1 and clash[0]["source_id_clash"] == "DOI:10.1000/shared"
    c_id = frame.loc[frame["source_file"].str.endswith("c.txt"), "source_id"].item()
    assert c_id.startswith("file:")  # a DOI cited in a sentence is not the document's identity
    assert "stored as file:" in res.stderr
    assert run("ingest", str(d / "a.txt"), "--db", db).returncode == 0  # a re-ingest refreshes, no clash
    assert len(store.sources_frame()) == 3


def test_symlinks_not_followed_unless_asked_and_names_escaped(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret trial of drug S\n", encoding="utf-8")
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("Trial of drug A\n", encoding="utf-8")
    (d / "link.txt").symlink_to(outside / "secret.txt")
    (d / "linkdir").symlink_to(outside)
    (d / "loop").symlink_to(d)
    (d / "evil\nerror: forged line.txt").write_text("", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'e.db'}"
    res = run("ingest", str(d), "--db", db)
    assert res.returncode == 1, res.stderr
    titles = set(Store(db).sources_frame()["title"])
    assert titles == {"Trial of drug A"}
    assert len(_lines(res.stderr, "symbolic link not followed")) == 3
    assert not any(ln.startswith("error: forged") for ln in res.stderr.splitlines())
    assert "evil\\nerror: forged line.txt: empty file" in res.stderr
    res = run("ingest", str(d), "--db", db, "--follow-links")
    assert "Secret trial of drug S" in set(Store(db).sources_frame()["title"])
    assert "Traceback" not in res.stderr


def test_unexpected_error_exits_3_with_one_line_and_debug_shows_traceback(tmp_path):
    src = tmp_path / "r.jsonl"
    src.write_text(json.dumps({"source_id": "PMID:1", "endpoint": "OS", "measure": "HR", "arm": "contrast",
                               "value": 0.5}) + "\n", encoding="utf-8")
    script = ("import sys, evidence.cli as c\n"
              "def boom(*a, **k):\n    raise RuntimeError('planted\\nbug')\n"
              "c.read_records = boom\nsys.argv = ['sarcoma-evidence', *sys.argv[1:]]\nc.main()\n")
    args = [sys.executable, "-c", script, "import", str(src), "--db", f"sqlite:///{tmp_path / 'e.db'}"]
    res = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert res.returncode == 3
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "RuntimeError: planted\\nbug" in lines[0] and "--debug" in lines[0]
    res = subprocess.run([*args[:3], "--debug", *args[3:]], capture_output=True, text=True, timeout=120)
    assert res.returncode == 3 and "Traceback" in res.stderr and "planted" in res.stderr
