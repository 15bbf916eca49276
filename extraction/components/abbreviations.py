"""Arms named by an abbreviation or a label the text defines: ``gemcitabine plus docetaxel (GD)``,
``gemcitabine alone (arm A: …)``.

In the spirit of scispacy's abbreviation detector (Schwartz & Hearst, 2003, "A simple algorithm for
identifying abbreviation definitions in biomedical text"): a short form in parentheses is defined by the
text just before it. Here the long form is the arm description back to the previous arm delimiter
(``to``, ``or``, ``versus``, ``;``), and what it defines is the set of agents named there. Every later
occurrence of the short form becomes an ``AGENT`` span whose ``kb_id_`` is the ``+``-joined agents.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from evidence.vocabulary import VOCAB
from extraction.components.mentions import read_mentions, write_spans
from extraction.components.tokenizer import doc_text
from extraction.gates import may_match
from extraction.unlisted import unlisted_agent_mentions

#: ``(GD)``, ``(arm A: …)`` and a short form followed by its arm's size: ``(HT; n = 70)``, ``(HT, n=70)``
_SHORT = re.compile(r"\((?P<short>(?:[Aa]rm|[Gg]roup|[Cc]ohort)\s+[A-Z0-9]{1,2}|[A-Z](?:[A-Za-z0-9-]{0,7}[A-Z0-9])?)"
                    r"\s*(?:\)|:|[;,]\s*[Nn]\s*=)")
#: Short forms that are statistics or study words, never an arm.
STOP = frozenset({"HR", "HRs", "OR", "ORs", "RR", "CI", "IQR", "NR", "NE", "NA", "ITT", "AE", "AEs", "SD", "PR",
                  "CR", "PD", "SAE", "SAEs", "TRAE", "TRAEs", "QOL", "QoL", "ECOG", "RECIST", "IV", "PO", "SC"})
#: (a blank line ends a title or heading: a short form just after it is defined by the text after it)
_DELIM = re.compile(r"(?:\b(?:to|or|versus|vs\.?|v\.?|either|with)\s+(?=[A-Za-z])|[;(]|(?<![vs])\.\s+(?=[A-Z])|"
                    r"\n\s*\n)")


def _closing(text: str, start: int, end: int) -> int:
    """Offset of the ``)`` closing a parenthesis opened just before ``start``, or -1 if none before ``end``."""
    depth = 1
    for i in range(start, end):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def long_form_window(text: str, open_paren: int, limit: int = 300) -> int:
    """Start of the arm description that ends at ``open_paren`` (after the last arm delimiter)."""
    lo = max(0, open_paren - limit)
    start = lo
    for m in _DELIM.finditer(text, lo, open_paren):
        close = _closing(text, m.end(), open_paren) if m.group() == "(" else -1
        if close != -1 and re.search(r"\d", text[m.end():close]):
            continue  # a dose note inside the description (``16 mg/m(2) weekly``, ``(reduced to 32 mg)``)
        start = m.end()
    return start


def find_definitions(text: str, agent_spans: list[tuple[int, int, str]],
                     blockers: list[int] | None = None) -> dict[str, str]:
    """Short form → ``+``-joined agents, from agent spans ``(start_char, end_char, id)``.

    ``blockers`` are offsets of histotype/endpoint mentions: one between the last agent and the
    parenthesis means the parenthesis names something else (a trial: ``X versus placebo for desmoid
    tumors (SARC-D09)``).

    >>> t = "assigned to gemcitabine plus docetaxel (GD) or to ifosfamide 1 g/m2 for 14 days (HDI)."
    >>> spans = [(12, 23, "gemcitabine"), (29, 38, "docetaxel"), (50, 60, "ifosfamide")]
    >>> find_definitions(t, spans)
    {'GD': 'docetaxel+gemcitabine', 'HDI': 'ifosfamide'}
    """
    out: dict[str, str] = {}
    schedules: dict[str, str] = {}
    for m in _SHORT.finditer(text):
        short = m.group("short")
        if short in out or short in STOP or VOCAB.normalize_histotype(short) or VOCAB.normalize_endpoint(short):
            continue
        if VOCAB.normalize_agent(short) or re.fullmatch(r"\d+|[A-Z]\d+", short):
            continue
        if len(short) == 1 and not _initial_of_agent(text, agent_spans, short, m.start()):
            continue  # one letter: only the initial of the agent written right before it, ``doxorubicin (D)``
        begin = long_form_window(text, m.start())
        agents = [cid for s, e, cid in agent_spans if s >= begin and e <= m.start()]
        if not agents:
            continue
        last = max(e for s, e, _ in agent_spans if s >= begin and e <= m.start())
        if len(agents) > 1 and len(short) >= 2 and short.isalpha() and short.isupper():
            # ``X and pegylated liposomal doxorubicin (PLD)``: the shortest run of words before the bracket
            # whose letters spell the short form is its long form (Schwartz & Hearst 2003), when it holds an agent
            fit = _shortest_long_form(text, begin, m.start(), short)
            inner = [cid for s, e, cid in agent_spans if s >= fit and e <= m.start()] if fit is not None else []
            if inner:
                agents = inner
        # a trial name such as SARC-S07 is no arm; a code right after the agents it abbreviates
        # (``drug-antibody conjugate (AB-C1)``) is
        if re.search(r"\d", short) and len(short) >= 4 and not short.lower().startswith(("arm", "group")) \
                and text[last:m.start()].strip():
            continue
        if any(last <= b < m.start() for b in blockers or ()):
            continue
        out[short] = VOCAB.join_agents(agents)
        schedule = _SCHEDULE.search(text, begin, m.start())
        if schedule:
            schedules[short] = "~" + re.sub(r"\s+", " ", schedule.group().lower())
    _tell_schedules_apart(out, schedules)
    out.update(split_definitions(text, agent_spans, out))
    return out


def _initial_of_agent(text: str, agent_spans: list[tuple[int, int, str]], letter: str, open_paren: int) -> bool:
    """True when ``letter`` is the initial of an agent ending right before the parenthesis at ``open_paren``."""
    return any(not text[e:open_paren].strip() and text[s:s + 1].upper() == letter for s, e, _c in agent_spans)


#: How often a regimen is given, the one thing that tells apart arms of the same agents
_SCHEDULE = re.compile(r"\b(?:weekly|biweekly|(?:2|3|two|three)-weekly|every\s+(?:\d|two|three|four)\s+weeks|"
                       r"q\s?[1-4]\s?w(?:ks?)?|daily|twice\s+daily|monthly)\b", re.I)


def _tell_schedules_apart(defs: dict[str, str], schedules: dict[str, str]) -> None:
    """Labels of the same agents given on different schedules (``X weekly (arm A) … X every 3 weeks (arm B)``)
    are different arms: their schedule joins their agents as a ``~`` qualifier (never shown in a name)."""
    by_agents: dict[str, list[str]] = {}
    for short, joined in defs.items():
        by_agents.setdefault(joined, []).append(short)
    for joined, shorts in by_agents.items():
        if len(shorts) > 1 and all(s in schedules for s in shorts) \
                and len({schedules[s] for s in shorts}) == len(shorts):
            for s in shorts:
                defs[s] = joined + "+" + schedules[s]


#: A regimen's short form written before its expansion: ``ABC (agent-a/agent-b/agent-c)``
_EXPANSION = re.compile(r"(?<![\w-])(?P<short>[A-Z][A-Za-z0-9]{1,7})\s*\((?P<long>[^()]{3,120})\)")
_EXPANSION_GLUE = re.compile(r"(?:[\s/+,\-\u2010-\u2014\d]|\band\b|\bplus\b)*", re.I)


def find_expansions(text: str, agent_spans: list[tuple[int, int, str]]) -> dict[str, str]:
    """Short form → ``+``-joined agents, for a short form followed by its expansion in parentheses that
    names nothing but two or more agents (the reverse order of :func:`find_definitions`).

    >>> t = "patients given ABC (alpha-x/betamab/gammacin) based regimens"
    >>> find_expansions(t, [(20, 27, "alpha-x"), (28, 35, "betamab"), (36, 44, "gammacin")])
    {'ABC': 'alpha-x+betamab+gammacin'}
    """
    out: dict[str, str] = {}
    if "(" not in text:
        return out
    for m in _EXPANSION.finditer(text):
        short = m.group("short")
        if short in out or short in STOP or VOCAB.normalize_agent(short):
            continue
        lo, hi = m.start("long"), m.end("long")
        inside = [(s, e, cid) for s, e, cid in agent_spans if s >= lo and e <= hi]
        if len({cid for _s, _e, cid in inside}) < 2:
            continue
        rest, pos = [], lo
        for s, e, _cid in inside:
            rest.append(text[pos:s])
            pos = e
        rest.append(text[pos:hi])
        if _EXPANSION_GLUE.fullmatch("".join(rest)):
            out[short] = VOCAB.join_agents(cid for _s, _e, cid in inside)
    return out


#: ``Group 1 (n = 40) consisted of patients treated with X``: a label defined by what its patients received
_LABEL_DEFINITION = re.compile(
    r"(?<![\w-])(?P<short>(?:[Aa]rm|[Gg]roup|[Cc]ohort|[Rr]egimen)\s+[A-Z0-9]{1,2})(?![\w-])\s*(?:\([^()]{0,30}\)\s*)?,?\s*"
    r"(?:consisted\s+of|comprised|included|received|(?:was|were)\s+(?:given|treated\s+with))\s")
# (the last branch: a run-on sentence end, "10 mg.Group B", as in extraction.sentences)
_DEFINITION_END = re.compile(r";|\.\s+[A-Z]|\.$|(?<=[A-Za-z]{2}|[A-Za-z0-9%][)\]])\.(?=[A-Z][a-z]{2})")


#: words that name one lettered or numbered arm interchangeably
_LABEL_WORDS = frozenset({"arm", "group", "regimen", "treatment", "cohort"})
_ANY_LABEL_WORD = "arm|group|regimen|treatment|cohort"
#: ``treatment A (doxorubicin 80 mg/m2), treatment B (X plus doxorubicin)``: a label and, in its bracket, what it gave
_LABEL_BRACKET = re.compile(r"(?<![\w-])(?P<short>(?:[Aa]rm|[Gg]roup|[Cc]ohort|[Rr]egimen|[Tt]reatment)\s+[A-Z0-9])"
                            r"\s*\((?P<body>[^()]{3,160})\)")


def find_label_definitions(text: str, agent_spans: list[tuple[int, int, str]]) -> dict[str, str]:
    """Label → ``+``-joined agents, for ``Group 1 … received X`` (the label before what defines it): the
    agents named from the verb to the end of the sentence or clause, with those of a label defined before
    it that the definition names (``regimen B consisted of regimen A alternating with Y``).

    >>> t = "Group 1 (n = 40) received alphamab. Group 2 (n = 38) received betacin plus alphamab."
    >>> find_label_definitions(t, [(26, 34, "alphamab"), (62, 69, "betacin"), (75, 83, "alphamab")])
    {'Group 1': 'alphamab', 'Group 2': 'alphamab+betacin'}
    """
    out: dict[str, str] = {}
    if not may_match(_LABEL_DEFINITION, text):
        return out
    for m in _LABEL_DEFINITION.finditer(text):
        short = m.group("short")
        key = short[0].upper() + short[1:]
        if key in out:
            continue
        stop = _DEFINITION_END.search(text, m.end())
        end = stop.start() if stop else len(text)
        agents = [cid for s, e, cid in agent_spans if s >= m.end() and e <= end]
        for earlier, joined in out.items():  # (``Regimen A`` and ``regimen A`` are one label)
            word, ident = earlier.split()
            if re.search(rf"(?<![\w-])(?i:{word})\s+{re.escape(ident)}(?![\w-])", text[m.end():end]):
                agents.extend(joined.split("+"))
        if agents:
            out[key] = VOCAB.join_agents(agents)
    if "(" in text and may_match(_LABEL_BRACKET, text):
        for m in _LABEL_BRACKET.finditer(text):
            short = m.group("short")
            key = short[0].upper() + short[1:]
            agents = [cid for s, e, cid in agent_spans if s >= m.start("body") and e <= m.end("body")]
            if agents and key not in out:
                out[key] = VOCAB.join_agents(agents)
    return out


#: A label word, perhaps with its own short form in brackets: ``arm A``, ``regimen 2``, ``treatment [trt] 1``
_LABEL = (r"(?P<word{i}>[Aa]rm|[Gg]roup|[Rr]egimen|[Ss]chedule|[Tt]reatment|[Tt]rt)\s*"
          r"(?:\[(?P<alias{i}>[A-Za-z]{{2,6}})\]\s*)?(?P<id{i}>[A-Z]|\d)")
#: ``to receive X, Y and Z by either a high-dose intermittent method (trt 1) or a moderate-dose continuous
#: method (trt 2)``: one regimen, its arms told apart by how it is given, each alternative labelled
_SHARED_REGIMEN = re.compile(
    r"\beither\s+(?P<d1>[^()\d;.]{3,80}?)\s*\(" + _LABEL.format(i=1) + r"\)\s*,?\s*or\s+"
    r"(?P<d2>[^()\d;.]{3,80}?)\s*\(" + _LABEL.format(i=2) + r"\)")
_ARTICLE = re.compile(r"^(?:by\s+)?(?:an?|the)\s+", re.I)


def shared_regimen_labels(text: str, agent_spans: list[tuple[int, int, str]]) -> dict[str, str]:
    """Label → the shared regimen's agents plus a ``~`` qualifier of how each alternative gives it, for
    ``<agents> … either <way 1> (label 1) or <way 2> (label 2)``: the agents are named in the 200
    characters before ``either`` and none between the alternatives. A label written with its own short
    form (``treatment [trt] 1``) is keyed by both spellings (``treatment 1``, ``trt 1``).

    >>> t = "randomized to alphamab and betacin by either a weekly method (regimen 1) or a monthly method (regimen 2)."
    >>> shared_regimen_labels(t, [(14, 22, "alphamab"), (27, 34, "betacin")])
    {'regimen 1': 'alphamab+betacin+~weekly method', 'regimen 2': 'alphamab+betacin+~monthly method'}
    """
    out: dict[str, str] = {}
    if "either" not in text:
        return out
    for m in _SHARED_REGIMEN.finditer(text):
        if m.group("id1") == m.group("id2"):
            continue
        sentence_start = max(text.rfind(". ", 0, m.start()), m.start() - 200)
        agents = [cid for s, e, cid in agent_spans if sentence_start <= s and e <= m.start()]
        if not agents or any(m.start() <= s < m.end() for s, _e, _c in agent_spans):
            continue
        joined = VOCAB.join_agents(agents)
        for i in ("1", "2"):
            way = _ARTICLE.sub("", re.sub(r"\s+", " ", m.group("d" + i).strip().lower()))
            words = {m.group("word" + i)} | ({m.group("alias" + i)} if m.group("alias" + i) else set())
            for w in sorted(words):
                out[f"{w.lower()} {m.group('id' + i)}"] = joined + "+~" + way
    return out


#: ``irinotecan and temozolomide (IRN/TMZ)``: a combination's short form made of its agents' short forms
_SLASHED = re.compile(r"\((?P<short>[A-Z][A-Za-z0-9]{1,7}(?:/[A-Z][A-Za-z0-9]{1,7})+)\)")


def split_definitions(text: str, agent_spans: list[tuple[int, int, str]], known: dict[str, str]) -> dict[str, str]:
    """Short forms of the parts of a slashed short form (``IRN/TMZ`` after ``irinotecan and temozolomide``),
    each fitting the initials of the agent in its place, and the slashed form for their combination.

    >>> t = "irinotecan and temozolomide (IRN/TMZ); IRN alone."
    >>> sorted(split_definitions(t, [(0, 10, "irinotecan"), (15, 27, "temozolomide")], {}).items())
    [('IRN', 'irinotecan'), ('IRN/TMZ', 'irinotecan+temozolomide')]
    """
    out: dict[str, str] = {}
    for m in _SLASHED.finditer(text):
        parts = m.group("short").split("/")
        begin = long_form_window(text, m.start())
        named = [(s, e, cid) for s, e, cid in agent_spans if s >= begin and e <= m.start()]
        if len(named) != len(parts) or m.group("short") in known:
            continue
        if not all(_initials_fit(p, text[s:e]) for p, (s, e, _c) in zip(parts, named, strict=True)):
            continue
        out[m.group("short")] = VOCAB.join_agents([c for _s, _e, c in named])
        for p, (_s, _e, cid) in zip(parts, named, strict=True):
            if p not in known and p not in STOP and not VOCAB.normalize_agent(p):
                out[p] = cid
    return out


_WORD_START = re.compile(r"(?<![\w-])[A-Za-z0-9]")


def _shortest_long_form(text: str, begin: int, end: int, short: str) -> int | None:
    """Start of the shortest run of whole words in ``text[begin:end]``, ending at ``end``, that the short form's
    letters fit (:func:`_initials_fit`), or None."""
    starts = [m.start() for m in _WORD_START.finditer(text, begin, end)]
    for a in reversed(starts):
        if _initials_fit(short, text[a:end].strip()):
            return a
    return None


def _initials_fit(short: str, long: str) -> bool:
    """Schwartz & Hearst's test: the short form's letters appear in order in the long form, the first one
    starting it (``SS`` in ``synovial sarcoma``, ``FS`` in ``fibrosarcoma``)."""
    letters = [c.lower() for c in short if c.isalnum()]
    low = long.lower()
    if not letters or not low or letters[0] != low[0]:
        return False
    pos = 1
    for c in letters[1:]:
        pos = low.find(c, pos) + 1
        if pos == 0:
            return False
    return True


#: Short forms of ``STOP`` that a text may still define as an endpoint's (``response rate (RR)``)
_ENDPOINT_SHORT = frozenset({"RR"})


def find_histotype_definitions(text: str, histotype_spans: list[tuple[int, int, str]],
                               allowed: frozenset[str] = frozenset()) -> dict[str, tuple[int, str]]:
    """Short form → (where its definition ends, histotype id) for a histotype the text abbreviates
    itself (``synovial sarcoma (SS)``): a short form the vocabulary leaves out as ambiguous names that
    histotype in this document only, after its definition. The same grammar defines an endpoint's short
    form (``response rate (RR)``), given endpoint spans; ``allowed``: short forms of ``STOP`` it may define.

    >>> find_histotype_definitions("synovial sarcoma (SS) and SS.", [(0, 16, "synovial_sarcoma")])
    {'SS': (21, 'synovial_sarcoma')}
    """
    out: dict[str, tuple[int, str]] = {}
    ends = {e: (s, kb) for s, e, kb in histotype_spans}
    for m in _SHORT.finditer(text):
        end = m.start()
        while end > 0 and text[end - 1] == " ":
            end -= 1
        hit = ends.get(end)  # most brackets follow no histotype: that test first
        if hit is None or "|" in hit[1]:
            continue
        short = m.group("short")
        if short in out or (short in STOP and short not in allowed) or not short.isupper() or len(short) > 6:
            continue
        if VOCAB.normalize_histotype(short) or VOCAB.normalize_endpoint(short) or VOCAB.normalize_agent(short):
            continue
        if not _initials_fit(short, text[hit[0]:end]):
            continue
        out[short] = (m.end(), hit[1])
    return out


class AbbreviationDetector:
    """Add ``AGENT`` spans for arm abbreviations and labels defined in the document."""

    def __init__(self, name: str, span_key: str) -> None:
        self.name = name
        self.span_key = span_key

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        mentions = read_mentions(doc, self.span_key)
        # agents outside the vocabulary first (extraction.unlisted), so that their arms can be abbreviated too
        unlisted = unlisted_agent_mentions(text, mentions, doc._.sentences or ())
        if unlisted:
            spans = list(doc.spans[self.span_key]) if self.span_key in doc.spans else []
            extra = [sp for a, b, _lab, ids in unlisted
                     for sp in [doc.char_span(a, b, label="AGENT", kb_id=ids[0], alignment_mode="expand")] if sp]
            spans = filter_spans(extra + spans)
            write_spans(doc, self.span_key, spans)
            mentions = read_mentions(doc, self.span_key)
        if "(" not in text:  # (every definition but a label's is a short form in brackets)
            labels = find_label_definitions(text, [(s, e, kb) for s, e, label, kb in mentions if label == "AGENT"])
            if labels:
                self._write_definitions(doc, text, labels)
            return doc
        hist = find_histotype_definitions(text, [(s, e, kb) for s, e, label, kb in mentions if label == "HISTOTYPE"])
        ends = find_histotype_definitions(text, [(s, e, kb) for s, e, label, kb in mentions if label == "ENDPOINT"],
                                          _ENDPOINT_SHORT)
        if hist or ends:
            spans = list(doc.spans[self.span_key]) if self.span_key in doc.spans else []
            extra = [sp for found, lab in ((hist, "HISTOTYPE"), (ends, "ENDPOINT"))
                     for short, (after, kb) in found.items()
                     for m in re.finditer(rf"(?<![\w-]){re.escape(short)}(?![\w-])", text) if m.start() >= after
                     for sp in [doc.char_span(m.start(), m.end(), label=lab, kb_id=kb)] if sp is not None]
            if extra:
                write_spans(doc, self.span_key, filter_spans(extra + spans))
                mentions = read_mentions(doc, self.span_key)
        agents = [(s, e, kb) for s, e, label, kb in mentions if label == "AGENT"]
        blockers = [s for s, _e, label, _kb in mentions if label in ("HISTOTYPE", "ENDPOINT")]
        defs = find_expansions(text, agents)
        if defs:  # a regimen's short form is one of its agents' names for the definitions below
            agents = sorted(agents + [(m.start(), m.end(), cid) for short, joined in defs.items()
                                      for m in re.finditer(rf"(?<![\w-]){re.escape(short)}(?![\w-])", text)
                                      for cid in joined.split("+")])
        defs = {**shared_regimen_labels(text, agents), **find_label_definitions(text, agents), **defs,
                **find_definitions(text, agents, blockers)}
        if defs:
            self._write_definitions(doc, text, defs)
        return doc

    def _write_definitions(self, doc: Doc, text: str, defs: dict[str, str]) -> None:
        """Every occurrence of each defined short form or label, as an AGENT span of its agents."""
        # the group's spans (as written above when unlisted agents were added): read only when needed
        spans = list(doc.spans[self.span_key]) if self.span_key in doc.spans else []
        new = []
        for short, joined in defs.items():
            label = re.escape(short)
            if re.match(r"(?:[Aa]rm|[Gg]roup|[Cc]ohort|[Rr]egimen|[Ss]chedule|[Tt]reatment|[Tt]rt)\s", short):
                # ``Arm A`` and ``arm A`` are one label; so are ``treatment A`` and ``group A`` (a text that
                # defines lettered arms calls them by any of these words)
                word = label.split("\\ ")[0]
                word = _ANY_LABEL_WORD if word.lower() in _LABEL_WORDS else word
                label = ("(?i:" + word + r")\s+(?:\[[A-Za-z]{2,6}\]\s*)?" + re.escape(short.split()[-1]))
            for m in re.finditer(rf"(?<![\w-]){label}(?![\w-])", text):
                sp = doc.char_span(m.start(), m.end(), label="AGENT", kb_id=joined, alignment_mode="expand")
                if sp is not None:
                    new.append(sp)
        keep = [s for s in spans if not any(s.start < n.end and n.start < s.end for n in new)]
        write_spans(doc, self.span_key, filter_spans(new + keep))


@Language.factory("sarcoma_abbreviations", default_config={"span_key": "sarcoma"},
                  assigns=["doc.spans", "doc._.mentions"])
def make_abbreviation_detector(nlp: Language, name: str, span_key: str) -> AbbreviationDetector:
    """Factory of :class:`AbbreviationDetector`."""
    return AbbreviationDetector(name, span_key)


def span_ids(span: Span) -> list[str]:
    """The canonical ids a span stands for (an arm abbreviation may stand for several agents)."""
    return [p for p in re.split(r"[|+]", span.kb_id_) if p]
