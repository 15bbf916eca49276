"""Tests of the document readers in ``extraction.ingest`` (text, PubMed XML, PDF, dispatch)."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import time
import tracemalloc
from pathlib import Path

import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from extraction.ingest import SUPPORTED, IngestError, iter_articles, page_of, read_documents, sniff_format
from extraction.ingest.pdf import PAGE_SEPARATOR, read_pdf
from extraction.ingest.text import doi_from_text, read_text, year_from_text

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


# ---------------------------------------------------------------------------------------------- helpers
def _pdf_bytes(pages: list[str], title: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(w=0, text=text)
        else:
            pdf.rect(20, 20, 50, 50)  # a drawing, no text layer: what a scan looks like to pypdf
    return bytes(pdf.output())


def _article(i: int, abstract_words: int = 60) -> str:
    words = " ".join(f"word{j}" for j in range(abstract_words))
    return (f"<PubmedArticle><MedlineCitation><PMID>{100000 + i}</PMID><Article>"
            f"<Journal><JournalIssue><PubDate><Year>{2000 + i % 24}</Year></PubDate></JournalIssue>"
            f"<Title>Journal {i % 7}</Title></Journal><ArticleTitle>Article <i>number</i> {i}</ArticleTitle>"
            f"<Abstract><AbstractText Label=\"RESULTS\">Median OS {i % 30}.5 months. {words}</AbstractText>"
            f"</Abstract></Article></MedlineCitation><PubmedData><ArticleIdList>"
            f"<ArticleId IdType=\"doi\">10.1000/test.{i}</ArticleId></ArticleIdList></PubmedData></PubmedArticle>\n")


def _baseline(path: Path, n: int, abstract_words: int = 60) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n')
        for i in range(n):
            fh.write(_article(i, abstract_words))
        fh.write("</PubmedArticleSet>\n")
    return path


def _assert_one_line_naming(exc: IngestError, path: Path | str) -> None:
    message = str(exc)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert exc.path == str(path)


# ------------------------------------------------------------------------------------------------- text
def test_text_utf8_with_bom_title_and_offsets(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"\xef\xbb\xbf\r\n  Doxorubicin trial \r\nline two\rline three\n")
    doc = read_text(p)
    assert doc.text == "\n  Doxorubicin trial \nline two\nline three\n"
    assert doc.title == "Doxorubicin trial"
    assert doc.meta["encoding"] == "utf-8-sig"
    assert doc.source_id == "file:" + hashlib.sha256(p.read_bytes()).hexdigest()[:12]
    assert doc.source_file == str(p) and doc.year is None and doc.pages == ()


def test_text_cp1252_fixture_is_detected_and_recorded():
    doc = read_text(FIXTURES / "legacy_cp1252.txt")
    assert doc.meta["encoding"] == "cp1252"
    assert doc.title == "Résumé: trabectedin in L-sarcoma – a fixture in cp1252"
    assert "Patients’ median progression-free survival" in doc.text and "“ORR”" in doc.text
    assert "\r" not in doc.text
    assert doc.year == 2015


def test_text_utf16_with_bom(tmp_path):
    p = tmp_path / "u16.txt"
    p.write_bytes("Ewing sarcoma\nYear: 2019\n".encode("utf-16"))
    doc = read_text(p)
    assert doc.title == "Ewing sarcoma" and doc.year == 2019 and doc.meta["encoding"] == "utf-16"


@pytest.mark.parametrize(("text", "year"), [
    ("Title\nYear: 2016\n", 2016),
    ("Title\nPublished: 12 March 2011\n", 2011),
    ("Title\nJ Clin Oncol. 2016;34(8):786-93.\n", 2016),
    ("Title\nLancet 2012; 379: 1879-86\n", 2012),
    ("Title\nPatients were enrolled between 2009 and 2012.\n", None),
    ("Title\n" + "filler\n" * 100 + "Year: 2016\n", None),  # only the head counts
])
def test_year_rules(text, year):
    assert year_from_text(text) == year


def test_doi_from_text_becomes_source_id(tmp_path):
    assert doi_from_text("see https://doi.org/10.1200/JCO.2015.62.4734.") == "10.1200/JCO.2015.62.4734"
    p = tmp_path / "paper.txt"
    p.write_text("A trial\ndoi: 10.1016/S0140-6736(15)01283-0\n", encoding="utf-8")
    doc = read_text(p)
    assert doc.doi == "10.1016/S0140-6736(15)01283-0" and doc.source_id == "DOI:" + doc.doi


def test_text_large_file_is_fast(tmp_path):
    line = "Median progression-free survival was 4.6 months (95% CI 3.7–4.8) for pazopanib.\r\n"
    p = tmp_path / "big.txt"
    p.write_bytes((line * (10_000_000 // len(line.encode()) + 1)).encode("utf-8"))
    t0 = time.perf_counter()
    doc = read_text(p)
    assert time.perf_counter() - t0 < 5.0
    assert len(doc.text) > 9_000_000 and "\r" not in doc.text


def test_text_large_legacy_file_is_fast(tmp_path):
    line = "Résumé of the trial – median 4.6 months; patients’ response.\n"
    p = tmp_path / "big1252.txt"
    p.write_bytes((line * (10_000_000 // len(line) + 1)).encode("cp1252"))
    t0 = time.perf_counter()
    doc = read_text(p)
    assert time.perf_counter() - t0 < 10.0
    assert doc.meta["encoding"] == "cp1252" and doc.text.startswith("Résumé")


# ----------------------------------------------------------------------------------------------- pubmed
def test_pubmed_efetch_fields():
    docs = list(iter_articles(FIXTURES / "efetch_small.xml"))
    assert [d.source_id for d in docs] == ["PMID:22595799", "PMID:26874885", "PMID:11111111"]
    first, second, third = docs
    assert first.doi == "10.1016/S0140-6736(12)60651-5"  # PubmedData, not the reference list
    assert first.year == 2012 and first.nct_id == "NCT00753688" and first.pmid == "22595799"
    assert first.meta["journal"] == "Lancet (London, England)" and first.meta["journal_abbrev"] == "Lancet"
    assert first.meta["mesh"] == ["Sarcoma", "Antineoplastic Agents"]
    assert "Randomized Controlled Trial" in first.meta["publication_types"]
    assert "Copyright" not in first.text
    assert second.title.startswith("Eribulin versus dacarbazine in previously treated patients with advanced "
                                   "liposarcoma or leiomyosarcoma")  # inline <i> flattened
    assert second.year == 2016  # MedlineDate "2016 Apr-May"
    assert second.doi == "10.1016/S0140-6736(15)01283-0"
    assert third.year == 2019 and third.text == third.title == "A fixture article without an abstract."
    assert third.sections == (("TITLE", 0, len(third.title)),) and third.doi is None


def test_pubmed_sections_slice_to_labelled_paragraphs():
    doc = next(iter_articles(FIXTURES / "efetch_small.xml"))
    labels = [label for label, _, _ in doc.sections]
    assert labels == ["TITLE", "BACKGROUND", "METHODS", "FINDINGS", "INTERPRETATION"]
    for label, start, end in doc.sections[1:]:
        assert doc.text[start:end].startswith(f"{label}: ")
        assert doc.text[end:end + 2] in ("\n\n", "")
    _, start, end = doc.sections[3]
    assert doc.text[start:end] == ("FINDINGS: Median progression-free survival was 4.6 months (95% CI 3.7-4.8) "
                                   "for pazopanib compared with 1.6 months (0.9-1.8) for placebo (hazard ratio "
                                   "[HR] 0.31, 95% CI 0.24-0.40; p<0.0001).")
    assert doc.text[: doc.sections[0][2]] == doc.title
    assert doc.text == "\n\n".join(doc.text[s:e] for _, s, e in doc.sections)


def test_pubmed_truncated_yields_parsed_articles_then_raises():
    path = FIXTURES / "efetch_truncated.xml"
    got = []
    with pytest.raises(IngestError) as err:
        for doc in iter_articles(path):
            got.append(doc.source_id)
    assert got == ["PMID:22595799"]
    _assert_one_line_naming(err.value, path)
    assert re.search(r": malformed XML at line \d+: ", str(err.value))


def test_pubmed_gzipped_baseline(tmp_path):
    path = _baseline(tmp_path / "pubmed24n0001.xml.gz", 3000)
    docs = list(read_documents(path))
    assert len(docs) == 3000
    assert docs[-1].source_id == "PMID:102999" and docs[-1].doi == "10.1000/test.2999"
    assert docs[5].title == "Article number 5" and docs[5].year == 2005
    assert docs[5].sections[1][0] == "RESULTS"


def test_pubmed_from_file_object():
    data = (FIXTURES / "efetch_small.xml").read_bytes()
    docs = list(iter_articles(io.BytesIO(data)))
    assert len(docs) == 3 and docs[0].source_file == "<stream>"


def test_pubmed_truncated_gzip_raises_after_articles(tmp_path):
    full = _baseline(tmp_path / "full.xml.gz", 500).read_bytes()
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(full[: len(full) // 2])
    n = 0
    with pytest.raises(IngestError) as err:
        for _ in iter_articles(path):
            n += 1
    assert 0 < n < 500
    _assert_one_line_naming(err.value, path)


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.slow
def test_pubmed_streaming_memory_stays_flat(tmp_path):
    """20k articles (~40 MB of XML): Python allocations and process RSS stay far below the file size."""
    path = _baseline(tmp_path / "big.xml.gz", 20_000, abstract_words=250)
    with gzip.open(path, "rb") as fh:
        xml_size = sum(len(chunk) for chunk in iter(lambda: fh.read(1 << 20), b""))
    assert xml_size > 35_000_000
    rss_before = _rss_kb()
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_articles(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = (_rss_kb() - rss_before) * 1024
    assert count == 20_000
    assert peak < 5_000_000 and peak < xml_size / 8
    assert rss_growth < xml_size / 2  # a kept lxml tree of this file takes several times its size


# -------------------------------------------------------------------------------------------------- pdf
def test_pdf_pages_offsets_and_page_of(tmp_path):
    p = tmp_path / "trial.pdf"
    p.write_bytes(_pdf_bytes(["Eribulin versus dacarbazine\nMedian OS 13.5 months",
                              "Hazard ratio 0.77 (95% CI 0.62-0.95)"], title="Eribulin phase 3"))
    doc = read_pdf(p)
    assert doc.title == "Eribulin phase 3"
    assert [n for n, _, _ in doc.pages] == [1, 2]
    (_, s1, e1), (_, s2, e2) = doc.pages
    assert s1 == 0 and doc.text[e1:s2] == PAGE_SEPARATOR and e2 == len(doc.text)
    assert "Median OS 13.5 months" in doc.text[s1:e1]
    assert doc.text[s2:e2].startswith("Hazard ratio 0.77")
    hr = doc.text.index("0.77")
    assert page_of(doc, hr) == 2 and page_of(doc, 0) == 1 and page_of(doc, e1) == 1
    assert page_of(doc, len(doc.text)) is None
    assert doc.source_id.startswith("file:") and doc.meta["n_pages"] == 2


def test_pdf_title_falls_back_to_first_line(tmp_path):
    p = tmp_path / "untitled.pdf"
    p.write_bytes(_pdf_bytes(["Trabectedin in L-sarcoma\nsecond line"]))
    assert read_pdf(p).title == "Trabectedin in L-sarcoma"


def test_pdf_recoverable_problems_become_meta_warnings(tmp_path):
    data = _pdf_bytes(["Text on page one"])
    start = data.rindex(b"startxref")
    broken = data[:start] + re.sub(rb"startxref\s+\d+", b"startxref\n99", data[start:])
    p = tmp_path / "badxref.pdf"
    p.write_bytes(broken)
    doc = read_pdf(p)  # pytest turns any escaped warning into an error
    assert doc.text.strip() == "Text on page one"
    assert doc.meta["warnings"], "pypdf's recovery messages are kept"


def _encrypted(tmp_path: Path, user_password: str) -> Path:
    reader = PdfReader(io.BytesIO(_pdf_bytes(["Secret results"])))
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    p = tmp_path / f"enc{len(user_password)}.pdf"
    with open(p, "wb") as fh:
        writer.write(fh)
    return p


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path):
    assert read_pdf(_encrypted(tmp_path, "")).text.strip() == "Secret results"


def _zero_pages(tmp_path: Path) -> Path:
    p = tmp_path / "zero.pdf"
    with open(p, "wb") as fh:
        PdfWriter().write(fh)
    return p


def _scanned(tmp_path: Path) -> Path:
    p = tmp_path / "scan.pdf"
    p.write_bytes(_pdf_bytes(["", ""]))
    return p


def _not_pdf_named_pdf(tmp_path: Path) -> Path:
    p = tmp_path / "fake.pdf"
    p.write_bytes(b"just some text, no header")
    return p


@pytest.mark.parametrize(("make", "reason"), [
    (lambda tmp: FIXTURES / "corrupt_truncated.pdf", r"not a readable PDF \(.+\)"),
    (lambda tmp: _encrypted(tmp, "secret"), r"encrypted PDF \(a password is required\)"),
    (_zero_pages, r"PDF has no pages"),
    (_scanned, r"no extractable text \(scanned PDF\? OCR is not supported\)"),
    (_not_pdf_named_pdf, r"not a readable PDF \(no %PDF- header\)"),
])
def test_pdf_bad_inputs(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(IngestError) as err:
        list(read_documents(path))
    _assert_one_line_naming(err.value, path)
    assert re.fullmatch(reason, err.value.reason), err.value.reason


# --------------------------------------------------------------------------------------------- dispatch
def test_supported_lists_every_reader():
    assert set(SUPPORTED) == {"pdf", "pubmed", "ctgov", "text"}


def test_sniffing_prefers_content_over_extension(tmp_path):
    pdf = tmp_path / "really_a_pdf.txt"
    pdf.write_bytes(_pdf_bytes(["Content wins"]))
    xml = tmp_path / "export.dat"
    xml.write_bytes((FIXTURES / "efetch_small.xml").read_bytes())
    js = tmp_path / "study.txt"
    js.write_bytes((FIXTURES / "ctgov_rct.json").read_bytes())
    plain = tmp_path / "notes"
    plain.write_text("hello\n", encoding="utf-8")
    assert [sniff_format(p) for p in (pdf, xml, js, plain)] == ["pdf", "pubmed", "ctgov", "text"]
    assert next(read_documents(pdf)).text.strip() == "Content wins"
    assert len(list(read_documents(xml))) == 3
    assert next(read_documents(js)).nct_id == "NCT09900001"


def test_sniffing_falls_back_to_extension(tmp_path):
    for name, fmt in (("a.pdf", "pdf"), ("a.xml", "pubmed"), ("a.json", "ctgov"), ("a.md", "text")):
        p = tmp_path / name
        p.write_text("plain words\n", encoding="utf-8")
        assert sniff_format(p) == fmt


def test_non_pubmed_xml_is_an_ingest_error(tmp_path):
    p = tmp_path / "jats.xml"
    p.write_text("<article><front><title>Not PubMed</title></front></article>", encoding="utf-8")
    with pytest.raises(IngestError, match=r"no <PubmedArticle> records"):
        list(read_documents(p))


@pytest.mark.parametrize(("name", "reason"), [
    ("binary_junk.bin", "binary file, not text"),
    ("empty.txt", "empty file"),
    ("corrupt_truncated.pdf", None),
    ("efetch_truncated.xml", None),
])
def test_bad_fixture_files_give_one_line_ingest_errors(name, reason):
    path = FIXTURES / name
    with pytest.raises(IngestError) as err:
        list(read_documents(path))
    _assert_one_line_naming(err.value, path)
    if reason:
        assert err.value.reason == reason


@pytest.mark.parametrize("content", [b"   \n\t\r\n  ", b"\x00\x01\x02text", b"text\x00more", bytes(range(1, 32)) * 20])
def test_whitespace_and_binary_text_inputs(tmp_path, content):
    p = tmp_path / "x.txt"
    p.write_bytes(content)
    with pytest.raises(IngestError, match=r": (empty file|binary file, not text)$"):
        list(read_documents(p))


def test_missing_file_and_directory(tmp_path):
    for path in (tmp_path / "nope.txt", tmp_path):
        with pytest.raises(IngestError) as err:
            list(read_documents(path))
        _assert_one_line_naming(err.value, path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048),
       prefix=st.sampled_from([b"", b"%PDF-1.4\n", b"\x1f\x8b", b"<PubmedArticleSet>", b'{"protocolSection":',
                               b"\xef\xbb\xbf", b"\xff\xfe"]),
       suffix=st.sampled_from([".txt", ".pdf", ".xml", ".xml.gz", ".json", ""]))
def test_arbitrary_bytes_give_documents_or_ingest_error(tmp_path, data, prefix, suffix):
    p = tmp_path / f"fuzz{suffix}"
    p.write_bytes(prefix + data)
    try:
        docs = list(read_documents(p))
    except IngestError as exc:
        _assert_one_line_naming(exc, p)
    else:
        assert all(isinstance(d.text, str) and d.source_file == str(p) for d in docs)


def test_citation_pattern_is_the_word_boundary_pattern():
    """The digit-first citation regex finds exactly what ``\\b((?:19|20)\\d{2})…`` finds."""
    import random
    import re

    from extraction.ingest.text import _CITATION

    plain = re.compile(r"\b((?:19|20)\d{2})(?:\s+\w{3}(?:\s+\d{1,2})?)?\s*;\s*\d+\s*(?:\(\s*\w+\s*\))?\s*:")
    rng = random.Random(5)
    alpha = ["19", "20", "2016", "1", "9", "0", "x", "Jan", " ", ";", ":", "(", ")", "4", "\n", ".", "é", "_"]
    texts = ["".join(rng.choice(alpha) for _ in range(rng.randint(0, 30))) for _ in range(30000)]
    texts += ["J Clin Oncol. 2016;34(8):786-93", "x2016;3:", "Lancet 2012; 379: 1879-86", "_2012;3:"]
    for t in texts:
        a, b = plain.search(t), _CITATION.search(t)
        assert (a and (a.span(), a.group(1))) == (b and (b.span(), b.group(1))), t
