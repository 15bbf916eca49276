"""Controlled vocabularies (histotypes, agents, endpoints) and the normaliser over them.

The vocabularies are JSONL data files in ``evidence/vocab/``; each entry carries its synonyms,
abbreviations, codes and brand names. Loading rejects unknown keys with a message that lists the
allowed ones (as medspaCy does for its rules), duplicate ids, a term claimed by two entries, and a
parent that does not exist.

Matching rules of the normaliser:

* synonyms, brands, codes and labels match case-insensitively, ignoring hyphens, spaces, dots and
  apostrophes (``STI-571`` = ``sti 571`` = ``STI571``), British/American spelling (tumour/tumor,
  haem/hem) and a plural ``s``;
* abbreviations match only as written, case-sensitively (``LMS``, ``MFH``, ``GIST``): in lower case
  they are ordinary words too often (``ds``, ``rt``).

>>> normalize_histotype("MFH"), normalize_agent("Yondelis"), normalize_endpoint("progression free survival")
('undifferentiated_pleomorphic_sarcoma', 'trabectedin', 'PFS')
>>> normalize_agents("doxorubicin + placebo")
'doxorubicin'
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any

from evidence.errors import VocabularyError

_KEYS = {
    "histotypes": {"id", "parent", "label", "synonyms", "abbreviations", "codes"},
    "agents": {"id", "class", "synonyms", "brands", "codes", "abbreviations"},
    "endpoints": {"id", "label", "synonyms", "abbreviations"},
}
# Terms (other than abbreviations) that normalise to an entry.
_TERM_FIELDS = ("label", "synonyms", "brands", "codes")

CONTROL_AGENTS = ("placebo", "best_supportive_care", "observation")
_TRIAL_KEYS = {"name", "aliases", "registry_ids", "histotypes", "agents"}
# registry id as printed → canonical form (DESIGN.md: ``NCT…``, ``EudraCT …``, ``ISRCTN…``, ``jRCT…``)
_REGISTRY_FORMS = (
    (re.compile(r"^NCT\s*-?\s*(\d{8})$", re.I), "NCT{}"),
    (re.compile(r"^(?:EudraCT\s*(?:no\.?|number)?\s*:?\s*)?(\d{4}-\d{6}-\d{2})$", re.I), "EudraCT {}"),
    (re.compile(r"^ISRCTN\s*-?\s*(\d{8})$", re.I), "ISRCTN{}"),
    (re.compile(r"^jRCT\s*-?\s*([a-z]?\d{9,10})$", re.I), "jRCT{}"),
)


def fold(text: str) -> str:
    """Fold a term for case- and punctuation-insensitive matching.

    >>> fold("Gastro-intestinal stromal Tumour"), fold("STI 571"), fold("Ewing's sarcoma")
    ('gastrointestinalstromaltumor', 'sti571', 'ewingsarcoma')
    """
    t = text.casefold().replace("’", "'")
    t = t.replace("tumour", "tumor").replace("haem", "hem").replace("'s ", " ")
    return re.sub(r"[\s\-‐-―'.,/()_]+", "", t)


@functools.lru_cache(maxsize=4096)
def _join_agent_set(agents: frozenset[str]) -> str:
    """:meth:`Vocabulary.join_agents` of a set (arms repeat: cached)."""
    ids = sorted(a for a in agents if a and not a.startswith("~"))  # ``~400 mg``: a dose that tells arms apart
    if len(ids) > 1 and "placebo" in ids:
        ids.remove("placebo")
    return "+".join(ids)


@dataclass(frozen=True)
class Entry:
    """One vocabulary entry."""

    id: str
    kind: str
    label: str
    parent: str | None = None
    synonyms: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def terms(self) -> Iterator[str]:
        """Every spelling that names this entry (abbreviations included)."""
        yield self.id.replace("_", " ")
        yield self.label
        yield from self.synonyms
        yield from self.brands
        yield from self.codes
        yield from self.abbreviations


def _load_jsonl(kind: str, text: str, source: str) -> list[Entry]:
    entries = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VocabularyError(f"{source}:{lineno}: not JSON ({exc.msg})") from None
        unknown = set(row) - _KEYS[kind]
        if unknown:
            raise VocabularyError(f"{source}:{lineno}: unknown key(s) {sorted(unknown)}; "
                                  f"allowed: {sorted(_KEYS[kind])}")
        if not row.get("id"):
            raise VocabularyError(f"{source}:{lineno}: entry has no 'id'")
        extra = {k: row[k] for k in ("class",) if k in row}
        entries.append(Entry(
            id=row["id"], kind=kind, label=row.get("label") or row["id"].replace("_", " "),
            parent=row.get("parent"), synonyms=tuple(row.get("synonyms", ())),
            abbreviations=tuple(row.get("abbreviations", ())), codes=tuple(row.get("codes", ())),
            brands=tuple(row.get("brands", ())), extra=extra))
    return entries


def normalize_registry_id(text: str | None) -> str | None:
    """Canonical registry id (``nct 00753688`` → ``NCT00753688``, ``2009-014907-29`` → ``EudraCT
    2009-014907-29``), or None when ``text`` is not one.

    >>> normalize_registry_id("EudraCT no 2009-014907-29"), normalize_registry_id("jRCTs031180003")
    ('EudraCT 2009-014907-29', 'jRCTs031180003')
    """
    t = " ".join((text or "").split())
    for rx, form in _REGISTRY_FORMS:
        m = rx.match(t)
        if m:
            return form.format(m.group(1))
    return None


@dataclass(frozen=True)
class Trial:
    """A named sarcoma trial of ``trials.jsonl``: its name, aliases, registry ids, population and agents."""

    name: str
    aliases: tuple[str, ...] = ()
    registry_ids: tuple[str, ...] = ()
    histotypes: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()


def _trial_key(name: str) -> str:
    """A trial name folded for identity: case, spaces, hyphens and the words trial/study dropped."""
    return fold(re.sub(r"\b(?:trial|study)\b", " ", name, flags=re.I))


def load_trials(text: str, source: str = "trials.jsonl") -> list[Trial]:
    """Parse ``trials.jsonl`` (unknown keys, a missing name and a malformed registry id are errors)."""
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VocabularyError(f"{source}:{lineno}: not JSON ({exc.msg})") from None
        unknown = set(row) - _TRIAL_KEYS
        if unknown:
            raise VocabularyError(f"{source}:{lineno}: unknown key(s) {sorted(unknown)}; "
                                  f"allowed: {sorted(_TRIAL_KEYS)}")
        if not row.get("name"):
            raise VocabularyError(f"{source}:{lineno}: trial has no 'name'")
        ids = []
        for rid in row.get("registry_ids", ()):
            canon = normalize_registry_id(rid)
            if canon is None:
                raise VocabularyError(f"{source}:{lineno}: {rid!r} is not a registry id (NCT, EudraCT, ISRCTN, jRCT)")
            ids.append(canon)
        out.append(Trial(row["name"], tuple(row.get("aliases", ())), tuple(ids), tuple(row.get("histotypes", ())),
                         tuple(row.get("agents", ()))))
    return out


class Vocabulary:
    """The three vocabularies with their look-up tables (and the named trials, loaded on first use)."""

    def __init__(self, histotypes: list[Entry], agents: list[Entry], endpoints: list[Entry]):
        self.histotypes = {e.id: e for e in histotypes}
        self.agents = {e.id: e for e in agents}
        self.endpoints = {e.id: e for e in endpoints}
        for kind, entries, table in (("histotypes", histotypes, self.histotypes),
                                     ("agents", agents, self.agents),
                                     ("endpoints", endpoints, self.endpoints)):
            if len(table) != len(entries):
                seen: set[str] = set()
                dup = next(e.id for e in entries if e.id in seen or seen.add(e.id))  # type: ignore[func-returns-value]
                raise VocabularyError(f"{kind}: duplicate id {dup!r}")
        for e in histotypes:
            if e.parent is not None and e.parent not in self.histotypes:
                raise VocabularyError(f"histotypes: {e.id!r} has unknown parent {e.parent!r}")
        self._folded = {k: self._index(t, k) for k, t in
                        (("histotypes", self.histotypes), ("agents", self.agents),
                         ("endpoints", self.endpoints))}
        self._abbrev = {k: {a: e.id for e in t.values() for a in e.abbreviations}
                        for k, t in (("histotypes", self.histotypes), ("agents", self.agents),
                                     ("endpoints", self.endpoints))}

    @staticmethod
    def _index(table: dict[str, Entry], kind: str) -> dict[str, str]:
        index: dict[str, str] = {}
        for e in table.values():
            for term in (e.id.replace("_", " "), e.label, *e.synonyms, *e.brands, *e.codes):
                key = fold(term)
                if index.get(key, e.id) != e.id:
                    raise VocabularyError(f"{kind}: term {term!r} names both {index[key]!r} and {e.id!r}")
                index[key] = e.id
        return index

    @classmethod
    def load(cls) -> Vocabulary:
        """Load the bundled data files."""
        base = resources.files("evidence") / "vocab"
        parts = {}
        for kind in ("histotypes", "agents", "endpoints"):
            path = base / f"{kind}.jsonl"
            parts[kind] = _load_jsonl(kind, path.read_text(encoding="utf-8"), f"{kind}.jsonl")
        return cls(**parts)

    @cached_property
    def trials(self) -> list[Trial]:
        """The named trials of ``evidence/vocab/trials.jsonl`` (agents and histotypes checked)."""
        text = (resources.files("evidence") / "vocab" / "trials.jsonl").read_text(encoding="utf-8")
        trials = load_trials(text)
        for t in trials:
            for a in t.agents:
                if a not in self.agents:
                    raise VocabularyError(f"trials.jsonl: {t.name!r} has unknown agent {a!r}")
            for h in t.histotypes:
                if h not in self.histotypes:
                    raise VocabularyError(f"trials.jsonl: {t.name!r} has unknown histotype {h!r}")
        return trials

    @cached_property
    def _trial_index(self) -> dict[str, Trial]:
        index: dict[str, Trial] = {}
        for t in self.trials:
            for key in (t.name, *t.aliases, *t.registry_ids):
                k = _trial_key(key)
                if index.get(k, t) is not t:
                    raise VocabularyError(f"trials.jsonl: {key!r} names both {index[k].name!r} and {t.name!r}")
                index[k] = t
        return index

    def trial(self, text: str | None) -> Trial | None:
        """The named trial a name, alias or registry id refers to (``EORTC 62072`` → PALETTE), or None."""
        if not text or not text.strip():
            return None
        rid = normalize_registry_id(text)
        return self._trial_index.get(_trial_key(rid or text))

    # -- look-ups ---------------------------------------------------------------------------------
    def _lookup(self, kind: str, text: str | None) -> str | None:
        if not text or not text.strip():
            return None
        text = text.strip()
        hit = self._abbrev[kind].get(text)
        if hit:
            return hit
        folded = self._folded[kind]
        key = fold(text)
        if key in folded:
            return folded[key]
        if key.endswith("s") and key[:-1] in folded:
            return folded[key[:-1]]
        return None

    def normalize_histotype(self, text: str | None) -> str | None:
        """Canonical histotype id for free text, or None."""
        return self._lookup("histotypes", text)

    def normalize_agent(self, text: str | None) -> str | None:
        """Canonical agent id (lower-case INN, or a control/procedure term) for free text, or None."""
        return self._lookup("agents", text)

    def normalize_endpoint(self, text: str | None) -> str | None:
        """Canonical endpoint code for free text, or None."""
        return self._lookup("endpoints", text)

    def is_histotype(self, hid: str) -> bool:
        return hid in self.histotypes

    def is_agent(self, aid: str) -> bool:
        return aid in self.agents

    def parent(self, hid: str) -> str | None:
        """The histotype's parent id (None at the root or for an unknown id)."""
        e = self.histotypes.get(hid)
        return e.parent if e else None

    def ancestors(self, hid: str) -> list[str]:
        """Parents up to the root, nearest first."""
        out, cur = [], self.parent(hid)
        while cur and cur not in out:
            out.append(cur)
            cur = self.parent(cur)
        return out

    @cached_property
    def parents(self) -> dict[str, str]:
        """child → parent for every histotype that has one (for ``meta.pool_table(rollup=True)``)."""
        return {e.id: e.parent for e in self.histotypes.values() if e.parent}

    def join_agents(self, agents: Iterable[str]) -> str:
        """Canonical ``+``-joined arm: sorted, de-duplicated, placebo dropped beside an active agent."""
        return _join_agent_set(agents if isinstance(agents, frozenset) else frozenset(agents))

    def normalize_agents(self, text: str | None) -> str | None:
        """Normalise an arm written as free text (``"Doxorubicin + placebo"``) to canonical form.

        Returns None when any part is unknown (the caller keeps the text and flags ``unknown_agent``).
        """
        if not text or not text.strip():
            return None
        parts = re.split(r"\s*(?:\+|/|,|\band\b|\bplus\b|\bwith\b)\s*", text.strip())
        ids = []
        for p in parts:
            if not p:
                continue
            hit = self.normalize_agent(p)
            if hit is None:
                return None
            ids.append(hit)
        return self.join_agents(ids) or None


VOCAB = Vocabulary.load()
normalize_histotype = VOCAB.normalize_histotype
normalize_agent = VOCAB.normalize_agent
normalize_endpoint = VOCAB.normalize_endpoint
normalize_agents = VOCAB.normalize_agents
