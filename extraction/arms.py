"""Trial arms: parse arm definitions and map arm mentions to arms (pure functions over mentions).

A *mention* is ``(start, end, label, ids)`` with character offsets into one string. Arm definitions are
read from the agents named in a title or a randomisation sentence and the words between them:

* ``X versus Y``, ``X vs Y``, ``X or Y``, ``comparison of X with Y``, ``between X and Y`` → two arms;
* ``X plus Y``, ``X-Y``, ``X combined with Y``, ``Y added to X`` → one arm of two agents;
* ``X with or without Y`` / ``X alone or with Y`` → ``X+Y`` and ``X``;
* ``X alone or combined with Y or Z`` → ``X+Y``, ``X+Z``, ``X``; ``X plus either Y or Z`` → ``X+Y``, ``X+Z``.

Roles: an arm holding placebo, best supportive care or observation, or one that is a subset of another
arm (``X`` beside ``X+Y``), is the comparator; otherwise the first arm named is the intervention.

>>> ms = [(0, 11, "AGENT", ("gemcitabine",)), (17, 26, "AGENT", ("docetaxel",)),
...       (34, 45, "AGENT", ("gemcitabine",))]
>>> [sorted(a) for a in parse_arms("Gemcitabine plus docetaxel versus gemcitabine alone", ms)]
[['docetaxel', 'gemcitabine'], ['gemcitabine']]
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence

Mention = tuple[int, int, str, tuple[str, ...]]
CONTROLS = frozenset({"placebo", "best_supportive_care", "observation"})
GENERIC = frozenset({"chemotherapy", "surgery"})
_BACKGROUND = "best_supportive_care"

_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"})
_JOIN_GAP = re.compile(r"(?:plus|\+|-|/|with|combined with|in combination with|and|or placebo)")
_SEP = re.compile(r"\b(?:versus|vs|v|or|compared\s+(?:with|to)|than|against)\b|\bto\b|,\s*or\b")
_JOIN = re.compile(r"\b(?:plus|combined\s+with|combination\s+with|in\s+combination|added\s+to|with|"
                   r"together\s+with|and)\b|[+/]|^\s*-\s*$|-based|-containing")
_WITH_OR_WITHOUT = re.compile(r"±|\+/-|\bwith\s+or\s+without\b|\balone\s+or\s+(?:with|in\s+combination\s+with|"
                              r"combined\s+with|plus)\b|\bor\s+without\b")
_EITHER = re.compile(r"\b(?:plus|with|and)\s+either\b")
#: ``X on day 1 or Y on days 1 and 8, together with Z``: after a comma, the agents every arm receives
_BACKBONE = re.compile(r",\s*(?:together|along|in\s+combination|combined)\s+with\s*$")
_TEMPORAL = re.compile(r"\b(?:after|following|before|prior\s+to|previous|progress\w*\s+on|failure\s+of|"
                       r"pretreated\s+with|(?:previously\s+)?untreated\s+with|refractory\s+to|resistant\s+to|intolerant\s+(?:of|to)|naive|"
                       r"of\s+surgery)\b", re.I)
_DESCRIBES_BEFORE = re.compile(r"\b(?:analog(?:ue)?s?|derivatives?|congeners?|prodrugs?|relatives?)\s+of\s+$", re.I)
_DESCRIBES_AFTER = re.compile(r"\s*-?\s*(?:analog(?:ue)?s?|derivatives?|congeners?|prodrugs?)\b", re.I)
_COMPARE = re.compile(r"compar\w*\s+(?:of\s+|the\s+\w+\s+(?:\w+\s+)?of\s+)?$|\bbetween\s+$", re.I)


def _connector(text: str, compare_ctx: bool) -> str:
    """Classify the text between two agent mentions: ``sep``, ``join``, ``wow`` (with or without),
    ``either`` or ``break`` (too far apart to belong to one definition)."""
    t = text.strip().lower().translate(_DASHES)
    if len(t) > 160:
        return "break"
    if _WITH_OR_WITHOUT.search(t):
        return "wow"
    if _EITHER.search(t):
        return "either"
    if _BACKBONE.search(t):
        return "backbone"
    if t.endswith("(") or (t in ("", "(", "[") and not compare_ctx):
        return "join"
    if re.search(r"\b(?:plus|combined\s+with|combination\s+with|added\s+to|together\s+with)\b|[+]", t):
        return "join"
    if re.search(r"\b(?:followed\s+by|then)\b", t) and not _SEP.search(t):
        return "join"  # ``X combined with Y followed by X maintenance``: the phases of one regimen
    if _SEP.search(t):
        return "sep"
    if compare_ctx and re.search(r"\b(?:with|and)\b", t):
        return "sep"
    if re.search(r"\d", t) and not re.search(r"\b(?:with|plus)\b", t):
        return "sep"
    if re.fullmatch(r"[-/]|-?based|-?containing", t) or re.search(r"\bwith\b", t):
        return "join"
    if re.search(r"\band\b", t):
        return "and"
    return "comma" if t == "," else "sep"


#: ``Addition of X to Y``: X added to the backbone Y (two arms: X+Y and Y)
_ADDITION_OF = re.compile(r"\b(?:addition|adding)\s+(?:of\s+)?$", re.I)


def _addition_arms(text: str, kept: Sequence[Mention]) -> list[frozenset[str]]:
    """``Addition of X and Y to A, B, and C``: the arms X+Y+A+B+C and A+B+C, when the agents before ``to``
    and those after it are each one list (joined by commas, ``and``, ``plus``); else none."""
    if len(kept) < 2 or not _ADDITION_OF.search(text[max(0, kept[0][0] - 30):kept[0][0]]):
        return []
    gaps = [text[a[1]:b[0]].strip().lower() for a, b in itertools.pairwise(kept)]
    cut = next((i for i, g in enumerate(gaps) if re.fullmatch(r"(?:\([^()]*\)\s*)?to(?:\s+(?:the|standard))*", g)),
               None)
    if cut is None:
        return []
    for i, g in enumerate(gaps):
        if i != cut and not re.fullmatch(r",?\s*(?:and|plus|with|\+|/)?|,", g):
            if i < cut:
                return []
            gaps = gaps[:i]  # the backbone's list ends at the first other word
            kept = kept[:i + 1]
            break
    added = frozenset().union(*(m[3] for m in kept[:cut + 1]))
    backbone = frozenset().union(*(m[3] for m in kept[cut + 1:]))
    if not backbone or added <= backbone:
        return []
    return [added | backbone, backbone]


def parse_arms(text: str, mentions: Sequence[Mention]) -> list[frozenset[str]]:
    """Arms (sets of agent ids, in the order named) defined by the agent mentions of ``text``."""
    agents = [m for m in mentions if m[2] == "AGENT"]
    kept = []
    prior = -1  # index of the last agent dropped as a previous treatment
    for i, m in enumerate(agents):
        before = text[agents[i - 1][1] if i else max(0, m[0] - 60):m[0]]
        if _DESCRIBES_BEFORE.search(before) or _DESCRIBES_AFTER.match(text, m[1]):
            continue
        temporal = list(_TEMPORAL.finditer(before))
        if temporal and not re.search(r"\b(?:versus|vs|or|to)\b", before[temporal[-1].end():]):
            prior = i
            continue
        if prior == i - 1 >= 0 and _connector(before, False) in ("join", "and"):
            prior = i  # ``after six cycles of X plus Y``, ``after failure of X and Y``: Y is previous too
            continue
        kept.append(m)
    if not kept:
        return []
    added = _addition_arms(text, kept)
    if added:
        return added
    compare_ctx = bool(_COMPARE.search(text[max(0, kept[0][0] - 40):kept[0][0]]))
    kinds = [_connector(text[a[1]:b[0]], compare_ctx) for a, b in itertools.pairwise(kept)]
    for i, k in enumerate(kinds):  # ``X, Y, and Z``: a list closed by ``and`` is one regimen's agents
        if k == "comma":
            nxt = next((k2 for k2 in kinds[i + 1:] if k2 != "comma"), None)
            kinds[i] = "join" if nxt == "and" else "sep"
    has_sep = any(k in ("sep", "wow", "either") for k in kinds)
    arms: list[set[str]] = [set(kept[0][3])]
    base: set[str] | None = None
    wow_base: set[str] | None = None
    backbone: set[str] | None = None
    prev_end = kept[0][1]
    loose: set[int] = set()  # arms of generic words only, set off by no comparison word
    for k, m in zip(kinds, kept[1:], strict=False):
        ids = set(m[3])
        if k == "break":
            break
        if k == "backbone":
            if len(arms) < 2:  # no choice before it: one regimen's agents
                k = "join"
            elif backbone is None:
                backbone = set()
        if backbone is not None:  # the backbone runs to the end of the definition or the next ``or``
            if k in ("wow", "either") or (k == "sep" and _SEP.search(text[prev_end:m[0]].lower())):
                break
            backbone |= ids
            prev_end = m[1]
            continue
        if k == "and":
            k = "join" if has_sep else "sep"
        if k == "join":
            arms[-1] |= ids
        elif k == "wow":
            wow_base = set(arms[-1])
            arms[-1] = wow_base | ids
        elif k == "either":
            base = set(arms[-1])
            arms[-1] = base | ids
        else:
            if ids <= GENERIC and not compare_ctx and not _SEP.search(text[prev_end:m[0]].lower()):
                loose.add(len(arms))  # ``X and Y as first-line chemotherapy``: a description, not an arm
            arms.append((base | ids) if base is not None else (wow_base | ids) if wow_base else ids)
        prev_end = m[1]
    if loose and any(a - GENERIC for a in arms):
        arms = [a for i, a in enumerate(arms) if i not in loose or a - GENERIC]
    if wow_base is not None:
        arms.append(wow_base)
    if backbone and len(arms) >= 2:
        arms = [a | backbone for a in arms]
    if len(arms) == 2 and kinds and kinds[0] == "sep" and len(kept) > 2 and set(kept[1][3]) <= CONTROLS:
        # ``X or placebo plus Y``: the backbone written once after the control is both arms'
        backbone = arms[1] - CONTROLS
        if backbone and not arms[0] & backbone:
            arms[0] = arms[0] | backbone
    if len(arms) >= 2 and all(_BACKGROUND in a for a in arms) and any("placebo" in a for a in arms):
        # ``best supportive care plus either X or placebo``: care every arm gets beside a placebo is the
        # background of a placebo-controlled trial, not a backbone (the arms are X and placebo)
        arms = [(a - {_BACKGROUND}) or a for a in arms]
    out: list[frozenset[str]] = []
    if sum(1 for a in arms if a - GENERIC) >= 2:
        arms = [a for a in arms if a - GENERIC]
    for a in arms:
        specific = a - GENERIC
        fa = frozenset(specific or a)
        if fa not in out:
            out.append(fa)
    return out


def comparator_index(arms: Sequence[frozenset[str]]) -> int | None:
    """Index of the control arm: controls first, then an arm that is a subset of another, else the last."""
    if len(arms) < 2:
        return None
    for i, a in enumerate(arms):
        if a & CONTROLS:
            return i
    for i, a in enumerate(arms):
        if any(a < b for j, b in enumerate(arms) if j != i):
            return i
    return len(arms) - 1 if len(arms) == 2 else None


def map_mention(ids: frozenset[str], arms: Sequence[frozenset[str]], *, combination: bool = False,
                comparator: int | None = None) -> int | None:
    """The arm a mention names, or None when it names none (or several)."""
    return _map_mention(frozenset(ids), tuple(arms), combination, comparator)


@functools.lru_cache(maxsize=4096)
def _map_mention(ids: frozenset[str], arms: tuple[frozenset[str], ...], combination: bool,
                 comparator: int | None) -> int | None:
    if not arms:
        return None
    if combination:
        sizes = [len(a - CONTROLS) for a in arms]
        best = [i for i, s in enumerate(sizes) if s == max(sizes)]
        return best[0] if len(best) == 1 and max(sizes) > 1 else None
    if len(ids) > 1:
        ids = frozenset(ids - GENERIC) or ids
    elif ids <= GENERIC:
        return None

    def strip(s: frozenset[str]) -> frozenset[str]:
        return s - {"placebo"} if len(s) > 1 else s

    for f in (lambda s: s, strip):
        hits = [i for i, a in enumerate(arms) if f(a) == f(ids)]
        if len(hits) == 1:
            return hits[0]
    cont = [i for i, a in enumerate(arms) if ids <= a]
    if len(cont) == 1:
        return cont[0]
    if ids <= CONTROLS and comparator is not None and not any(ids <= a for a in arms):
        return comparator
    return None


def group_mentions(text: str, mentions: Sequence[Mention],
                   arms: Sequence[frozenset[str]] = ()) -> list[tuple[int, int, frozenset[str], bool]]:
    """Join adjacent agent mentions into arm mentions ``(start, end, ids, is_combination_word)``.

    ``X plus Y`` and ``X-Y`` join; ``X and Y`` joins only when ``X+Y`` is itself one of ``arms``.
    """
    out: list[tuple[int, int, frozenset[str], bool]] = []
    for m in mentions:
        if m[2] == "COMBINATION":
            out.append((m[0], m[1], frozenset(), True))
            continue
        if m[2] != "AGENT":
            continue
        ids = frozenset(m[3])
        if out and not out[-1][3]:
            gap = text[out[-1][1]:m[0]].strip().lower().translate(_DASHES)
            joined = out[-1][2] | ids
            if (_JOIN_GAP.fullmatch(gap)
                    and (gap != "and" or joined in arms)) or (gap == "" and joined != ids):
                out[-1] = (out[-1][0], m[1], joined, False)
                continue
        out.append((m[0], m[1], ids, False))
    return out
