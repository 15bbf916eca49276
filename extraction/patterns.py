"""Loading the JSONL pattern files of ``extraction/patterns/`` (one rule per line).

Each rule is a plain dict, like medspaCy's context rules: a ``label``, a human-readable ``literal``
beside its spaCy token ``pattern``, an optional canonical ``id`` (``|``-joined when one phrase names
several, ``L-sarcoma`` → ``leiomyosarcoma|liposarcoma``) and an optional ``comment``. Loading rejects
unknown keys and unknown labels with a message listing the allowed ones.

>>> rule = validate_rule({"label": "ENDPOINT", "id": "OS", "literal": "alive",
...                       "pattern": [{"LOWER": "alive"}]}, "x.jsonl:1")
>>> rule.label, rule.id
('ENDPOINT', 'OS')
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ALLOWED_KEYS = ("label", "id", "literal", "pattern", "comment")
LABELS = ("HISTOTYPE", "AGENT", "ENDPOINT", "NON_ENDPOINT", "DESIGN", "TRIAL", "REGISTRY", "PHASE",
          "RANDOMIZED", "SINGLE_ARM", "SETTING", "LINE", "COMBINATION", "STUDY_GROUP")
DEFAULT_FILES = ("endpoints.jsonl", "distractors.jsonl", "histotypes.jsonl", "agents.jsonl", "trial.jsonl")


class PatternError(ValueError):
    """A pattern file line that is not a valid rule (the message names the file and line)."""


@dataclass(frozen=True)
class Rule:
    """One pattern rule."""

    label: str
    literal: str
    pattern: tuple[dict[str, Any], ...]
    id: str = ""


def validate_rule(row: Any, where: str) -> Rule:
    """Check one decoded JSON line and return it as a :class:`Rule`."""
    if not isinstance(row, dict):
        raise PatternError(f"{where}: a rule is a JSON object")
    unknown = sorted(set(row) - set(ALLOWED_KEYS))
    if unknown:
        raise PatternError(f"{where}: unknown key(s) {unknown}; allowed keys: {', '.join(ALLOWED_KEYS)}")
    for key in ("label", "literal", "pattern"):
        if key not in row:
            raise PatternError(f"{where}: missing key {key!r}; a rule needs label, literal and pattern")
    if row["label"] not in LABELS:
        raise PatternError(f"{where}: unknown label {row['label']!r}; allowed labels: {', '.join(LABELS)}")
    pat = row["pattern"]
    if not isinstance(pat, list) or not pat or not all(isinstance(t, dict) for t in pat):
        raise PatternError(f"{where}: 'pattern' must be a non-empty list of token dicts")
    if not isinstance(row["literal"], str) or not row["literal"].strip():
        raise PatternError(f"{where}: 'literal' must be the rule written out as text")
    return Rule(label=row["label"], literal=row["literal"], pattern=tuple(pat), id=str(row.get("id") or ""))


def parse_rules(lines: Iterable[str], source: str) -> list[Rule]:
    """Rules from JSONL lines (blank lines skipped)."""
    rules = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PatternError(f"{source}:{lineno}: not JSON ({exc.msg})") from None
        rules.append(validate_rule(row, f"{source}:{lineno}"))
    return rules


def load_rules(files: Iterable[str] = DEFAULT_FILES) -> list[Rule]:
    """Load the bundled pattern files (names relative to ``extraction/patterns``)."""
    base = Path(__file__).with_name("patterns")
    rules: list[Rule] = []
    for name in files:
        text = (base / name).read_text(encoding="utf-8")
        rules.extend(parse_rules(text.splitlines(), name))
    return rules
