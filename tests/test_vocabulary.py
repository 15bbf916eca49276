"""The normaliser: synonyms, brands, codes, abbreviations and old names to canonical ids."""

import json

import pytest

from evidence.errors import VocabularyError
from evidence.vocabulary import (
    VOCAB,
    Vocabulary,
    _load_jsonl,
    fold,
    normalize_agent,
    normalize_agents,
    normalize_endpoint,
    normalize_histotype,
)

HISTOTYPES = [
    ("MFH", "undifferentiated_pleomorphic_sarcoma"),
    ("malignant fibrous histiocytoma", "undifferentiated_pleomorphic_sarcoma"),
    ("UPS", "undifferentiated_pleomorphic_sarcoma"),
    ("Undifferentiated Pleomorphic Sarcoma", "undifferentiated_pleomorphic_sarcoma"),
    ("LMS", "leiomyosarcoma"),
    ("leiomyosarcomas", "leiomyosarcoma"),
    ("uterine LMS", "uterine_leiomyosarcoma"),
    ("non-uterine leiomyosarcoma", "leiomyosarcoma"),
    ("DDLPS", "dedifferentiated_liposarcoma"),
    ("de-differentiated liposarcoma", "dedifferentiated_liposarcoma"),
    ("well differentiated liposarcoma", "well_differentiated_liposarcoma"),
    ("myxoid/round cell liposarcoma", "myxoid_liposarcoma"),
    ("MRCLS", "myxoid_liposarcoma"),
    ("Pleomorphic liposarcoma", "pleomorphic_liposarcoma"),
    ("GIST", "gist"),
    ("gastrointestinal stromal tumour", "gist"),
    ("Gastro-intestinal stromal tumors", "gist"),
    ("synovial sarcoma", "synovial_sarcoma"),
    ("desmoid-type fibromatosis", "desmoid_tumor"),
    ("aggressive fibromatosis", "desmoid_tumor"),
    ("Desmoid tumours", "desmoid_tumor"),
    ("MPNST", "mpnst"),
    ("malignant schwannoma", "mpnst"),
    ("Ewing's sarcoma", "ewing_sarcoma"),
    ("DFSP", "dfsp"),
    ("hemangiopericytoma", "solitary_fibrous_tumor"),
    ("ASPS", "alveolar_soft_part_sarcoma"),
    ("soft-tissue sarcomas", "soft_tissue_sarcoma"),
    ("STS", "soft_tissue_sarcoma"),
    ("embryonal rhabdomyosarcoma", "embryonal_rhabdomyosarcoma"),
]
AGENTS = [
    ("Yondelis", "trabectedin"), ("ET-743", "trabectedin"), ("ecteinascidin 743", "trabectedin"),
    ("Halaven", "eribulin"), ("E7389", "eribulin"), ("eribulin mesylate", "eribulin"),
    ("STI-571", "imatinib"), ("STI571", "imatinib"), ("Gleevec", "imatinib"), ("Glivec", "imatinib"),
    ("Adriamycin", "doxorubicin"), ("DOX", "doxorubicin"), ("Votrient", "pazopanib"),
    ("GW786034", "pazopanib"), ("Gemzar", "gemcitabine"), ("Taxotere", "docetaxel"),
    ("DTIC", "dacarbazine"), ("Lartruvo", "olaratumab"), ("AP23573", "ridaforolimus"),
    ("deforolimus", "ridaforolimus"), ("Sutent", "sunitinib"), ("Stivarga", "regorafenib"),
    ("Keytruda", "pembrolizumab"), ("MK-3475", "pembrolizumab"), ("Opdivo", "nivolumab"),
    ("Ogsiveo", "nirogacestat"), ("PF-03084014", "nirogacestat"), ("Ibrance", "palbociclib"),
    ("Cabometyx", "cabozantinib"), ("actinomycin D", "dactinomycin"), ("BSC", "best_supportive_care"),
    ("best supportive care", "best_supportive_care"), ("Placebo", "placebo"),
    ("radiation therapy", "radiotherapy"), ("ZIO-201", "palifosfamide"),
]
ENDPOINTS = [
    ("overall survival", "OS"), ("OS", "OS"), ("progression free survival", "PFS"),
    ("Progression-Free Survival", "PFS"), ("PFR", "PFS"), ("objective response rate", "ORR"),
    ("overall response rate", "ORR"), ("disease-free survival", "DFS"), ("recurrence-free survival", "RFS"),
    ("relapse-free survival", "RFS"), ("metastasis-free survival", "MFS"),
    ("local recurrence-free survival", "LRFS"), ("event-free survival", "EFS"),
    ("disease control rate", "DCR"), ("clinical benefit rate", "CBR"), ("time to progression", "TTP"),
]


@pytest.mark.parametrize("text,want", HISTOTYPES)
def test_histotypes(text, want):
    assert normalize_histotype(text) == want


@pytest.mark.parametrize("text,want", AGENTS)
def test_agents(text, want):
    assert normalize_agent(text) == want


@pytest.mark.parametrize("text,want", ENDPOINTS)
def test_endpoints(text, want):
    assert normalize_endpoint(text) == want


def test_at_least_forty_synonym_cases():
    assert len(HISTOTYPES) + len(AGENTS) + len(ENDPOINTS) >= 40


@pytest.mark.parametrize("text", ["lms", "mfh", "ups"])
def test_abbreviations_are_case_sensitive(text):
    # "ups" in lower case is an English word; abbreviations match only as written
    assert normalize_histotype(text) is None


def test_canonical_ids_normalise_to_themselves():
    for hid in VOCAB.histotypes:
        assert normalize_histotype(hid) == hid
    for aid in VOCAB.agents:
        assert normalize_agent(aid) == aid


@pytest.mark.parametrize("text", ["", "   ", None, "aspirin", "sarcomatoid"])
def test_unknown_is_none(text):
    assert normalize_agent(text) is None


@pytest.mark.parametrize("text,want", [
    ("doxorubicin + placebo", "doxorubicin"),
    ("Gemcitabine plus Docetaxel", "docetaxel+gemcitabine"),
    ("placebo", "placebo"),
    ("Yondelis and Adriamycin", "doxorubicin+trabectedin"),
    ("doxorubicin + wonderumab", None),
])
def test_arms(text, want):
    assert normalize_agents(text) == want


def test_every_subtype_rolls_up_to_soft_tissue_sarcoma():
    for hid, entry in VOCAB.histotypes.items():
        if entry.parent:
            assert VOCAB.ancestors(hid)[-1] == "soft_tissue_sarcoma", hid
    assert VOCAB.parents["dedifferentiated_liposarcoma"] == "liposarcoma"
    assert VOCAB.ancestors("uterine_leiomyosarcoma") == ["leiomyosarcoma", "soft_tissue_sarcoma"]


def test_fold():
    assert fold("STI 571") == fold("sti-571") == "sti571"


def test_unknown_key_is_rejected_with_allowed_keys():
    with pytest.raises(VocabularyError, match=r"x\.jsonl:1: unknown key\(s\) \['synonym'\]; allowed:"):
        _load_jsonl("agents", json.dumps({"id": "a", "synonym": ["b"]}), "x.jsonl")


def test_term_claimed_twice_is_rejected():
    a = _load_jsonl("agents", json.dumps({"id": "a", "synonyms": ["zed"]}) + "\n"
                    + json.dumps({"id": "b", "synonyms": ["Zed"]}), "x.jsonl")
    with pytest.raises(VocabularyError, match="term 'Zed' names both 'a' and 'b'"):
        Vocabulary([], a, [])


def test_dangling_parent_is_rejected():
    h = _load_jsonl("histotypes", json.dumps({"id": "x", "parent": "nowhere"}), "h.jsonl")
    with pytest.raises(VocabularyError, match="'x' has unknown parent 'nowhere'"):
        Vocabulary(h, [], [])
