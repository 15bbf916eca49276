"""The sarcoma pre-filter: full recall on sarcoma texts, rejection of unrelated ones, and fast."""

import time

import pytest

from evidence.vocabulary import VOCAB
from extraction.prefilter import AMBIGUOUS_ABBREVIATIONS, document_is_relevant, is_relevant, sarcoma_mesh
from tests.fixtures.make_pubmed import make_articles


def _text(article):
    return "\n\n".join(f"{label}: {body}" if label else body for label, body in article.paragraphs)


def test_generated_abstracts_recall_and_rejection():
    """Every generated sarcoma trial is kept (MeSH-only ones included); no unrelated one is."""
    articles = make_articles(2000, seed=3, sarcoma_fraction=0.1)
    kept = [is_relevant(a.title, _text(a), a.mesh) for a in articles]
    truth = [a.sarcoma for a in articles]
    assert sum(truth) > 100
    assert [k for k, t in zip(kept, truth, strict=True) if t] == [True] * sum(truth)
    assert not any(k for k, t in zip(kept, truth, strict=True) if not t)


@pytest.mark.parametrize("term", sorted({t for e in VOCAB.histotypes.values() for t in (e.label, *e.synonyms)}))
def test_every_vocabulary_term_is_recognised(term):
    assert is_relevant("", f"Outcomes of patients with {term} treated at one centre.", [])


@pytest.mark.parametrize("text", [
    "Imatinib in gastro-intestinal stromal tumours after resection",
    "GASTROINTESTINAL STROMAL TUMOR: ADJUVANT THERAPY",
    "Sorafenib for desmoid-type fibromatosis",
    "Nirogacestat in progressing desmoid tumours",
    "Malignant peripheral nerve sheath tumors in NF1",
    "Outcomes in solitary fibrous tumour of the pleura",
    "Pexidartinib for tenosynovial giant-cell tumor",
    "Carcinosarcoma of the uterus",          # any *sarcoma
    "Kaposi's sarcoma in HIV",
    "Ripretinib in fourth-line GIST",          # abbreviation, as written
    "Selinexor in DDLPS",
    "Tazemetostat in PEComa and MPNSTs",
])
def test_sarcoma_texts_are_kept(text):
    assert is_relevant(text, None)


@pytest.mark.parametrize("title, text, mesh", [
    ("Corticosteroids in pulmonary sarcoidosis", "FVC improved.", ["Sarcoidosis, Pulmonary"]),
    ("The gist of logistic regression", "Logistic models were fitted.", []),
    ("LPS and TNF release", "STS score and UPS degradation; RMS error was low.", ["Lipopolysaccharides"]),
    ("Adjuvant chemotherapy in breast carcinoma", "HR 0.70 (95% CI 0.60-0.82).", ["Breast Neoplasms"]),
    ("", "", None),
    (None, None, None),
])
def test_unrelated_texts_are_rejected(title, text, mesh):
    assert not is_relevant(title, text, mesh)


def test_ambiguous_abbreviations_alone_do_not_mark_a_text():
    for abbrev in sorted(AMBIGUOUS_ABBREVIATIONS):
        assert not is_relevant("", f"The {abbrev} group was compared with controls.", [])


@pytest.mark.parametrize("heading", ["Soft Tissue Neoplasms", "gastrointestinal stromal tumors",
                                     "Fibromatosis, Aggressive", "Sarcoma, Ewing", "Hemangiosarcoma"])
def test_mesh_headings_alone_mark_a_text(heading):
    assert heading.casefold() in sarcoma_mesh() or "sarcoma" in heading.casefold()
    assert is_relevant("Outcomes after treatment", "Results in 40 patients.", ["Humans", heading])


def test_document_is_relevant_reads_title_text_and_mesh():
    from extraction.extract import SimpleDocument

    doc = SimpleDocument(text="Results in 40 patients.", source_id="PMID:1", title="A trial",
                         meta={"mesh": ["Gastrointestinal Stromal Tumors"]})
    assert document_is_relevant(doc)
    assert not document_is_relevant(SimpleDocument(text="Results in 40 patients.", source_id="PMID:2"))


def test_prefilter_is_fast():
    """Well under a pipeline call (~10 ms): a full-length unrelated abstract in < 1 ms (~0.1 ms idle)."""
    text = ("We randomly assigned 4,744 patients with heart failure and an ejection fraction of 40% or less "
            "to receive dapagliflozin or placebo. The primary outcome occurred in 386 patients (16.3%) in the "
            "dapagliflozin group and in 502 patients (21.2%) in the placebo group (hazard ratio, 0.74; 95% CI, "
            "0.65 to 0.85; P<0.001). ") * 6
    is_relevant("warm-up", text, [])
    best = float("inf")
    for _ in range(5):  # best of 5: the machine is shared
        start = time.perf_counter()
        for _ in range(100):
            assert not is_relevant("Dapagliflozin in heart failure", text, ["Heart Failure", "Humans"])
        best = min(best, (time.perf_counter() - start) / 100)
    assert best < 1e-3
