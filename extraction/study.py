"""Study-level facts a document states about itself: design, registry ids, named trial, citation.

The grammars are data (``extraction/patterns/study.jsonl``: ``field``, ``value``, a human ``literal`` and
a ``regex``), read once; every function here is pure over the document text.

* **design**: the first design whose cue the title shows, else the first in file order whose cue the
  abstract's own methods show (a meta-analysis of randomised trials says "randomised" too, so the
  synthesis designs are listed first); a conclusion that *plans* a trial is not the study's design;
* **registry ids**: every NCT, EudraCT, ISRCTN and jRCT id anywhere in the document, canonical and in
  order of first mention;
* **trial name**: a name, alias or registry id of ``evidence/vocab/trials.jsonl`` (``EORTC 62072`` →
  ``PALETTE``);
* **citation**: PMID, DOI and year printed in a citation or ``Source:`` line.

>>> study_facts("Drug A in LMS: a meta-analysis\\n\\nWe pooled 8 randomised trials (NCT01234567).")["design"]
'meta_analysis'
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

from evidence.vocabulary import VOCAB, normalize_registry_id
from extraction.gates import may_match, quick
from extraction.patterns import PatternError

_FIELDS = ("design", "registry", "citation")
_KEYS = {"field", "value", "literal", "regex", "comment"}
# a sentence that plans or proposes a study is about another trial, not this one
_PLANNED = quick(re.compile(r"\b(?:is|are|will\s+be|should\s+be|being)\s+(?:planned|warranted|needed|underway|ongoing|"
                      r"conducted|initiated)\b|\bfuture\s+(?:\w+\s+){0,2}(?:trials|studies)\b|\bfurther\s+"
                      r"(?:\w+\s+){0,2}(?:trials|studies)\b|\bto\s+be\s+confirmed\b|\bneed\s+to\s+be\s+confirmed\b",
                      re.I))
_CONCLUSION = re.compile(r"(?:^|\n)\s*(?:conclusions?|interpretation|discussion)\s*[:.\n]", re.I)


@functools.lru_cache(maxsize=1)
def _rules() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    text = (resources.files("extraction") / "patterns" / "study.jsonl").read_text(encoding="utf-8")
    out: dict[str, list[tuple[str, re.Pattern[str]]]] = {f: [] for f in _FIELDS}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        where = f"study.jsonl:{lineno}"
        if set(row) - _KEYS:
            raise PatternError(f"{where}: unknown key(s) {sorted(set(row) - _KEYS)}; "
                               f"allowed keys: {', '.join(sorted(_KEYS))}")
        if row.get("field") not in _FIELDS:
            raise PatternError(f"{where}: unknown field {row.get('field')!r}; allowed fields: {', '.join(_FIELDS)}")
        weak = str(row.get("comment", "")).startswith("weak")
        out[row["field"]].append((row["value"] + ("~" if weak else ""),
                                  re.compile(row["regex"], re.I if row["field"] != "citation" else 0)))
    return out


def planned_study(sentence: str) -> bool:
    """True for a sentence about a study still to come (``a phase III trial comparing X with Y is planned``)."""
    return bool(_PLANNED.search(sentence))


def _own_text(text: str) -> str:
    """The text without its conclusion section and without sentences that plan another study."""
    m = _CONCLUSION.search(text)
    body = text[:m.start()] if m and m.start() > len(text) // 3 else text
    return " ".join(s for s in re.split(r"(?<=[.!?])\s+", body) if not _PLANNED.search(s))


def design_of(title: str, text: str) -> str:
    """The study's design (``rct``, ``single_arm``, ``nonrandomized``, ``observational``,
    ``pooled_analysis``, ``meta_analysis``) or ``""`` when the text does not say."""
    rules = _rules()["design"]
    for value, rx in rules:  # the title's own words first (a weak cue never decides from the title)
        if not value.endswith("~") and rx.search(title):
            return value
    own = _own_text(text)
    for value, rx in rules:
        if rx.search(own):
            return value.rstrip("~")
    return ""


def registry_ids(text: str) -> list[str]:
    """Every registry id the text prints (NCT, EudraCT, ISRCTN, jRCT), canonical, first mention first."""
    found: list[tuple[int, str]] = []
    for _value, rx in _rules()["registry"]:
        if not may_match(rx, text):
            continue
        for m in rx.finditer(text):
            canon = normalize_registry_id(m.group(m.lastindex or 0))
            if canon:
                found.append((m.start(), canon))
    out: list[str] = []
    for _pos, rid in sorted(found):
        if rid not in out:
            out.append(rid)
    return out


def citation(text: str) -> dict[str, Any]:
    """``pmid``, ``doi`` and ``year`` from a citation or ``Source:`` line (absent keys: not stated)."""
    out: dict[str, Any] = {}
    for value, rx in _rules()["citation"]:
        m = rx.search(text) if may_match(rx, text) else None
        if m:
            out[value] = int(m.group(1)) if value == "year" else m.group(1)
    return out


def named_trial(text: str, ids: list[str], stated: str = "") -> str:
    """The trial's name: a registry id or name of the trials vocabulary, else what the text stated."""
    for rid in ids:
        t = VOCAB.trial(rid)
        if t:
            return t.name
    t = VOCAB.trial(stated) if stated else None
    return t.name if t else stated


def study_facts(text: str, title: str = "", stated_trial: str = "") -> dict[str, Any]:
    """Design, registry ids, trial name and citation of one document."""
    head = text[:6000]
    title = title or next((ln for ln in text.splitlines() if ln.strip()), "")
    ids = registry_ids(text)
    design = design_of(title, head)
    return {"design": design, "registry_ids": ids, "trial": named_trial(text, ids, stated_trial),
            **{f"cite_{k}": v for k, v in citation(head).items()}}
