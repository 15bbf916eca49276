"""Where a curated value stands in its bundled text: printed numbers, sentences, endpoint names.

The bundled corpus (``texts/``) and its curated table (``curated.csv``) must agree: each curated record
points at its number (``value_start``/``value_end``) and at its sentence (``char_start``/``char_end``).
These helpers read numbers as abstracts print them (``0·77``, ``0.77``, ``34%``, ``P < .001``) and find
sentence bounds; ``build_curated.py`` uses them to place records and ``tests/test_corpus_provenance.py``
to check them, so both apply one rule.

>>> printed_value("0·77"), printed_value("34%", "rate"), printed_value("46.3", "rate")
(0.77, 0.34, 0.463)
>>> problems({"measure": "HR", "endpoint": "OS", "value": 0.77, "ci_low": 0.62, "ci_high": 0.95},
...          "Overall survival favoured the drug (HR 0·77, 95% CI 0·62–0·95).", (31, 35), (0, 62))
[]
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

#: A number as printed at the start of an anchor: digits, an optional decimal part (point or middle dot),
#: an optional percent sign.
NUMBER_RE = re.compile(r"\d+(?:[.·]\d+)?%?|[.·]\d+%?")
#: Words after which a full stop does not end a sentence.
_ABBREV = ("vs", "al", "e.g", "i.e", "approx", "Dr", "no", "No", "Fig", "ref", "cf")
#: What stands right before a CI bound ("95% CI 0.62–", "CI, ", "0.62 to "): a value there is misplaced.
_CI_BOUND_BEFORE = re.compile(r"(?:\bCI\]?[,:]?\s*|\d\s*[–-]\s*|\d\s+to\s+)$")
_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])|\n+")


def printed_value(token: str, measure: str = "") -> float:
    """The value a printed number stands for (rates as proportions: ``34%`` and ``34`` → 0.34)."""
    t = token.replace("·", ".")
    pct = t.endswith("%")
    x = float(t.rstrip("%"))
    if measure == "rate" and (pct or x > 1 or "." not in t):
        x = x / 100
    elif pct:
        x = x / 100
    return round(x, 6)


def number_forms(x: float, measure: str = "") -> set[str]:
    """The ways a value can be printed (2–3 decimals, point or middle dot; rates as percents too)."""
    vals = [x * 100, x] if measure == "rate" else [x]
    out: set[str] = set()
    for v in vals:
        for f in (f"{v:g}", f"{v:.1f}", f"{v:.2f}", f"{v:.3f}", f"{v:.0f}" if v == round(v) else f"{v:g}"):
            out |= {f, f.replace(".", "·")}
            if f.startswith("0."):
                out |= {f[1:], f[1:].replace(".", "·")}  # "P < .001" style
    return out


def sentence_bounds(text: str, pos: int) -> tuple[int, int]:
    """(start, end) of the sentence holding offset ``pos``: full stops after abbreviations and numbers'
    decimal points do not end one; a line break always does."""
    start = 0
    for m in _SENT_END.finditer(text, 0, pos):
        if not _after_abbreviation(text, m.start()):
            start = m.end()
    end = len(text)
    for m in _SENT_END.finditer(text, pos):
        if not _after_abbreviation(text, m.start()):
            end = m.start()
            break
    return start, end


def _after_abbreviation(text: str, i: int) -> bool:
    word = re.search(r"([A-Za-z.]+)\.$", text[max(0, i - 8):i])
    return bool(word and word.group(1) in _ABBREV)


@functools.cache
def endpoint_terms() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per endpoint id: (words matched case-insensitively, abbreviations matched as written)."""
    text = (resources.files("evidence") / "vocab" / "endpoints.jsonl").read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        if line.strip():
            e = json.loads(line)
            out[e["id"]] = (tuple(t.lower() for t in [e["label"], *e["synonyms"]]), tuple(e["abbreviations"]))
    return out


def names_endpoint(sentence: str, endpoint: str) -> bool:
    """Whether the sentence names the endpoint (a synonym in any case, or its abbreviation as a word)."""
    words, abbrevs = endpoint_terms()[endpoint]
    low = sentence.lower().replace("‐", "-")
    return any(w in low for w in words) or any(re.search(rf"\b{re.escape(a)}\b", sentence) for a in abbrevs)


def problems(rec: dict[str, Any], text: str, value_span: tuple[int, int], sentence_span: tuple[int, int]) -> list[str]:
    """Why a record does not sit where it says in ``text`` (empty when it does)."""
    vs, ve = value_span
    cs, ce = sentence_span
    out = []
    token = text[vs:ve]
    if not NUMBER_RE.fullmatch(token):
        return [f"value span {token!r} is not a printed number"]
    if abs(printed_value(token, rec["measure"]) - float(rec["value"])) > 1e-6:
        out.append(f"value span {token!r} does not print value {rec['value']}")
    if _CI_BOUND_BEFORE.search(text[max(0, vs - 14):vs]):
        out.append(f"value span {token!r} is a CI bound, not the estimate")
    if not cs <= vs < ve <= ce:
        out.append("value span lies outside its sentence")
    sentence = text[cs:ce]
    for key in ("ci_low", "ci_high"):
        v = rec.get(key)
        forms = number_forms(float(v), rec["measure"]) if v is not None and v == v else set()
        if forms and not any(_stands_in(f, sentence) for f in forms):
            out.append(f"{key}={v} not printed in its sentence")
    if not names_endpoint(sentence, rec["endpoint"]):
        out.append(f"sentence does not name endpoint {rec['endpoint']}: {sentence[:80]!r}")
    return out


def _stands_in(form: str, sentence: str) -> bool:
    return re.search(r"(?<![\d.·])" + re.escape(form) + r"(?![\d]|[.·]\d)", sentence) is not None
