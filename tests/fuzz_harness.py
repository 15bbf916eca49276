"""Mutation fuzzing of every reader of untrusted input: one seeded case → one outcome.

Used by ``tests/test_fuzz_readers.py`` (a few thousand cases in ``make test``) and by
``bench/fuzz_readers.py`` (100,000 per reader, on demand). A case is a reader name and an integer
seed; :func:`make_input` derives the input bytes from a valid seed file with a seeded
``random.Random`` (bit flips, inserted, deleted, duplicated or truncated ranges, hostile tokens such as
``<!ENTITY``, ``\\x00``, ``\\ud800``, ``1e999`` or a 400-digit integer; for JSON also values replaced
in the parsed tree), so a failure is reproduced from its seed alone.

Outcomes (:func:`run_case`): ``ok`` (documents or records that keep their invariants), ``refused``
(the reader's one-line error: ``IngestError``, ``ImportFileError``), ``crash`` (any other exception),
``wrong`` (an invariant broken: a record the schema rejects, an offset outside the text, a year that
is not one, text that is not valid Unicode) and ``hang`` (longer than the time limit).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gzip
import io
import json
import os
import random
import re
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"
READERS = ("pubmed", "gzip", "pdf", "ctgov", "text", "csv")

HOSTILE = [b"<", b">", b"&", b"&amp;", b"&#0;", b"&#xD800;", b"]]>", b"<![CDATA[", b"<!ENTITY x SYSTEM 'file:///etc/passwd'>",
           b"<!DOCTYPE a [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>]>", b"\x00", b"\xff\xfe",
           b"\xef\xbb\xbf", b"\r", b"\r\n", b"\n\n", b"\\ud800", b"\\u0000", b"1e999", b"-1e999", b"NaN",
           b"Infinity", b"1" + b"0" * 400, b"-", b"\xc2\xb2\xc2\xb0", b"12345678901234567890", b"\"", b",", b"'",
           b"=cmd|' /C calc'!A0", b"[[[[[[[[[[", b"{{{{{{{{", b"null", b"true", b"<Year>", b"</Year>",
           b"<PubmedArticle>", b"</PubmedArticle>", b"<AbstractText Label=\"x\">", b"%PDF-1.4", b"obj", b"endobj",
           b"stream", b"endstream", b"/Length 999999999", b"xref", b"trailer", b"%%EOF", b"\x1f\x8b"]

HOSTILE_VALUES: list[Any] = [None, True, -1, 0, 10**30, 1e308, -1e308, float("inf"), "", "NA", "99999", "\ud800",
                             "\x00", "²⁰¹⁶", "x" * 5000, [], {}, [[[]]], {"a": {"b": {"c": []}}}, "1_0", "-0.5",
                             "=1+1"]


class Hang(Exception):
    """The case ran longer than its time limit."""


@dataclass(frozen=True)
class Outcome:
    reader: str
    seed: int
    kind: str  # ok, refused, crash, wrong, hang
    detail: str = ""
    seconds: float = 0.0


# -- seed inputs -------------------------------------------------------------------------------------
@functools.cache
def seed_bytes(reader: str) -> bytes:
    """The valid file each reader's inputs are mutated from."""
    if reader == "pubmed":
        return (FIXTURES / "efetch_small.xml").read_bytes()
    if reader == "gzip":
        return gzip.compress((FIXTURES / "efetch_small.xml").read_bytes(), mtime=0)
    if reader == "ctgov":
        return (FIXTURES / "ctgov_rct.json").read_bytes()
    if reader == "text":
        return (ROOT / "evidence" / "corpus" / "texts" / "palette_pazopanib_vandergraaf2012.txt").read_bytes()[:6000]
    if reader == "pdf":
        from fpdf import FPDF

        pdf = FPDF()
        pdf.set_title("Pazopanib versus placebo")
        for line in ("Median PFS 4.6 months versus 1.6 months (HR 0.31, 95% CI 0.24-0.40)", "Page two: OS 12.5"):
            pdf.add_page()
            pdf.set_font("helvetica", size=12)
            pdf.cell(text=line)
        return bytes(pdf.output())
    if reader == "csv":
        from evidence.io import write_records
        from tests.conftest import make_record

        buf = io.StringIO(newline="")
        write_records([make_record(), make_record(source_id="PMID:2", trial="=T", note="a,\"b\"\r\nc"),
                       make_record(measure="median", arm="intervention", value=13.5, unit="months", ci_low=None,
                                   ci_high=None, p_value=None, p_relation=None)], None, "csv", stream=buf)
        return buf.getvalue().encode("utf-8")
    raise ValueError(f"unknown reader {reader!r}; choose from {', '.join(READERS)}")


# -- mutation ----------------------------------------------------------------------------------------
def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 5, 8))):
        op = rng.randrange(7)
        i = rng.randrange(len(b) + 1) if b else 0
        if op == 0 and b:  # flip bits
            j = min(i, len(b) - 1)
            b[j] ^= 1 << rng.randrange(8)
        elif op == 1:  # insert random bytes
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif op == 2 and b:  # delete a range
            del b[i:i + rng.randrange(1, 64)]
        elif op == 3 and b:  # duplicate a range
            j = rng.randrange(len(b))
            b[i:i] = b[j:j + rng.randrange(1, 256)]
        elif op == 4:  # a hostile token
            b[i:i] = rng.choice(HOSTILE)
        elif op == 5 and b:  # truncate
            del b[rng.randrange(len(b)):]
        elif op == 6 and b:  # replace a digit run's neighbour with digits (huge numbers, odd years)
            b[i:i] = str(rng.choice((0, 1, 2016, 10**19, -5, 99999))).encode()
    return bytes(b)


def _paths(obj: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _mutate_json(data: bytes, rng: random.Random) -> bytes:
    tree = json.loads(data)
    paths = [p for p in _paths(tree) if p]
    for _ in range(rng.choice((1, 2, 4))):
        path = rng.choice(paths)
        node = tree
        try:
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = copy.deepcopy(rng.choice(HOSTILE_VALUES))  # never one object at two paths
        except (KeyError, IndexError, TypeError):
            continue
    text = json.dumps(tree, ensure_ascii=rng.random() < 0.5, allow_nan=True)
    return text.encode("utf-8", errors="surrogatepass" if rng.random() < 0.2 else "backslashreplace")


_XML_TEXT = re.compile(rb">([^<>]{1,300})<")
XML_VALUES = ["²⁰¹⁶", "12345678901234567890", "0", "-1", "9" * 250, "", " ", "10.1000/" + "x" * 300, "&#0;",
              "&#xD800;", "&amp;&lt;", "NCT" + "1" * 30, "1e999", "MEDLINE", "doi"]


def _mutate_xml_text(data: bytes, rng: random.Random) -> bytes:
    """Replace the text of random elements (a <Year>, a <PMID>, an abstract) with hostile values."""
    spans = [m.span(1) for m in _XML_TEXT.finditer(data)]
    for _ in range(rng.choice((1, 2, 3))):
        s, e = rng.choice(spans)
        value = rng.choice(XML_VALUES).encode("utf-8") * rng.choice((1, 1, 1, 50))
        data = data[:s] + value + data[e:]
        spans = [m.span(1) for m in _XML_TEXT.finditer(data)]
    return data


def make_input(reader: str, seed: int) -> bytes:
    """The input bytes of case ``(reader, seed)``."""
    rng = random.Random(f"{reader}:{seed}")
    data = seed_bytes(reader)
    if reader in ("pubmed", "gzip") and rng.random() < 0.4:
        data = _mutate_xml_text(data if reader == "pubmed" else gzip.decompress(data), rng)
        return data if reader == "pubmed" else gzip.compress(data, mtime=0)
    if reader == "ctgov" and rng.random() < 0.5:
        data = _mutate_json(data, rng)
        return _mutate_bytes(data, rng) if rng.random() < 0.2 else data
    if reader == "gzip" and rng.random() < 0.5:  # mutate inside the compression too
        return gzip.compress(_mutate_bytes(gzip.decompress(data), rng), mtime=0)
    if reader == "text" and rng.random() < 0.3:
        data = data.decode("utf-8").encode(rng.choice(("cp1252", "utf-16", "latin-1")), errors="replace")
    return _mutate_bytes(data, rng)


# -- running one case --------------------------------------------------------------------------------
@contextlib.contextmanager
def _time_limit(seconds: float):
    if seconds <= 0 or not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"over {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _utf8(s: Any) -> bool:
    try:
        str(s).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_document(doc: Any) -> str:
    """'' when a Document keeps its invariants, else what is wrong."""
    if not isinstance(doc.source_id, str) or not doc.source_id:
        return f"source_id {doc.source_id!r}"
    if not isinstance(doc.text, str) or not _utf8(doc.text) or not _utf8(doc.title) or not _utf8(doc.source_id):
        return "text that is not valid Unicode"
    if doc.year is not None and not (isinstance(doc.year, int) and 1000 <= doc.year <= 2999):
        return f"year {doc.year!r}"
    for _, s, e in (*doc.pages, *doc.sections):
        if not 0 <= s <= e <= len(doc.text):
            return f"span ({s}, {e}) outside a text of {len(doc.text)}"
    if doc.meta.get("format") == "pdf" and "\x00" in doc.text:
        return "NUL in a PDF's text"
    return ""


def _check_records(recs: list[Any], text: str) -> str:
    from evidence.errors import RecordError
    from evidence.schema import validate_record

    for r in recs:
        d = r.to_dict() if hasattr(r, "to_dict") else dict(r)
        try:
            validate_record(d)
        except RecordError as exc:
            return f"record the schema rejects: {exc}"
        cs, ce = d.get("char_start"), d.get("char_end")
        if cs is not None and ce is not None and text is not None and d.get("evidence_text") != text[cs:ce]:
            return "evidence_text is not text[char_start:char_end]"
    return ""


def _read(reader: str, data: bytes, tmp: Path) -> str:
    """Run the reader on ``data``; '' when the output keeps its invariants, else what is wrong."""
    from extraction.ingest import read_documents
    from extraction.ingest.pubmed import iter_articles
    from extraction.ingest.text import text_document

    if reader in ("pubmed", "gzip"):
        for doc in iter_articles(io.BufferedReader(io.BytesIO(data))):  # peek(): gzip told by content
            if why := _check_document(doc):
                return why
        return ""
    if reader == "text":
        doc = text_document("case.txt", data)
        return _check_document(doc) or ("\r in text" if "\r" in doc.text else "")
    if reader == "csv":
        from evidence.io import read_records
        from evidence.schema import validate_record

        p = tmp / "case.csv"
        p.write_bytes(data)
        for r in read_records(p):
            if validate_record(r.to_dict(), add_flags=False) != r:
                return "a record that does not validate to itself"
        return ""
    p = tmp / ("case.pdf" if reader == "pdf" else "case.json")
    p.write_bytes(data)
    for doc in read_documents(p):
        if why := _check_document(doc) or _check_records(doc.meta.get("records") or [], doc.text):
            return why
    return ""


def run_case(reader: str, seed: int, *, tmp: Path | None = None, time_limit: float = 10.0) -> Outcome:
    """Run case ``(reader, seed)`` and classify what happened."""
    from evidence.errors import ImportFileError
    from extraction.ingest import IngestError

    data = make_input(reader, seed)
    own = tmp is None
    tmp = Path(tempfile.mkdtemp()) if own else tmp
    t0 = time.perf_counter()
    try:
        with _time_limit(time_limit):
            why = _read(reader, data, tmp)
        kind, detail = ("wrong", why) if why else ("ok", "")
    except (IngestError, ImportFileError) as exc:
        kind, detail = "refused", str(exc)[:200]
        if "\n" in str(exc):
            kind, detail = "wrong", f"a refusal of more than one line: {str(exc)[:200]!r}"
    except Hang as exc:
        kind, detail = "hang", str(exc)
    except Exception as exc:
        kind, detail = "crash", f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        if own:
            for f in tmp.iterdir():
                f.unlink()
            os.rmdir(tmp)
    return Outcome(reader, seed, kind, detail, time.perf_counter() - t0)


def run_many(reader: str, seeds: range, on_outcome: Callable[[Outcome], None] | None = None,
             time_limit: float = 10.0) -> list[Outcome]:
    """Run many cases of one reader in one temporary folder; returns the non-``ok``/``refused`` ones."""
    bad = []
    with tempfile.TemporaryDirectory() as d:
        for seed in seeds:
            o = run_case(reader, seed, tmp=Path(d), time_limit=time_limit)
            if on_outcome is not None:
                on_outcome(o)
            if o.kind not in ("ok", "refused"):
                bad.append(o)
    return bad
