"""A ClinicalTrials.gov v2 study's protocol: study-level record fields and arms with their roles.

Registry JSON is read through tolerant accessors (:func:`get`, :func:`items`, :func:`text`) so a
field of an unexpected type reads as missing instead of raising.
"""

from __future__ import annotations

import re
from typing import Any

from evidence.vocabulary import fold, normalize_agents
from extraction.ingest import ctgov_fields as f

EXTRACTOR = "ctgov-v2/0.1"


def get(obj: Any, *keys: str) -> Any:
    """Nested dict lookup that tolerates missing keys and wrong types (returns {} at a dead end)."""
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return {} if obj is None else obj


def items(obj: Any) -> list[dict[str, Any]]:
    """The dict elements of ``obj`` when it is a list, else []."""
    return [x for x in obj if isinstance(x, dict)] if isinstance(obj, list) else []


def text(obj: Any) -> str:
    """``obj`` as a one-line string with whitespace folded ("" for None, dicts and lists)."""
    return "" if obj is None or isinstance(obj, dict | list) else " ".join(str(obj).split())


class Study:
    """Study-level fields and the arms, each with its role and canonical agents."""

    def __init__(self, study: dict[str, Any], source_file: str):
        proto = get(study, "protocolSection")
        ident = get(proto, "identificationModule")
        self.nct_id = text(ident.get("nctId") if isinstance(ident, dict) else None)
        if not re.fullmatch(r"NCT\d{8}", self.nct_id):
            raise ValueError("no protocolSection.identificationModule.nctId")
        self.title = text(ident.get("briefTitle")) or text(ident.get("officialTitle"))
        self.official = text(ident.get("officialTitle"))
        status = get(proto, "statusModule")
        self.year = None
        for key in ("resultsFirstPostDateStruct", "completionDateStruct", "primaryCompletionDateStruct"):
            m = re.match(r"\s*((?:19|20)\d{2})", text(get(status, key, "date")))
            if m:
                self.year = int(m.group(1))
                break
        design = get(proto, "designModule")
        allocation = text(get(design, "designInfo", "allocation"))
        phases = design.get("phases") if isinstance(design, dict) else None
        self.conditions = [text(c) for c in strings(get(proto, "conditionsModule", "conditions")) if text(c)]
        keywords = [text(k) for k in strings(get(proto, "conditionsModule", "keywords")) if text(k)]
        context = " ".join([self.title, self.official, *self.conditions, *keywords])
        self.base: dict[str, Any] = {
            "source_id": self.nct_id, "source_file": source_file, "source_title": self.title,
            "year": self.year, "trial": text(ident.get("acronym")), "phase": f.phase_of(strings(phases)),
            "randomized": {"RANDOMIZED": True, "NON_RANDOMIZED": False, "NA": False}.get(allocation),
            "setting": f.setting_of(context), "line": f.line_of(context),
            "histotypes": f.histotypes_of(self.conditions),
            "extractor": EXTRACTOR, "confidence": 1.0, "status": "extracted",
        }
        arms_mod = get(proto, "armsInterventionsModule")
        interventions = items(get(arms_mod, "interventions"))
        self.arms: list[dict[str, Any]] = []
        for arm in items(get(arms_mod, "armGroups")):
            agents, known = f.arm_agents(arm, interventions)
            self.arms.append({"label": text(arm.get("label")), "type": text(arm.get("type")),
                              "agents": agents, "known": known,
                              "names": "; ".join(text(n) for n in strings(arm.get("interventionNames")))})
        has_comparator = any(f.is_comparator_type(a["type"]) for a in self.arms)
        for a in self.arms:
            a["role"] = ("single" if not has_comparator else "comparator" if f.is_comparator_type(a["type"])
                         else "intervention" if a["type"] == "EXPERIMENTAL" else None)

    def arm_of(self, title: str, description: str) -> dict[str, Any] | None:
        """The arm group an outcome group stands for (by title, then description, then agents)."""
        t = fold(title)
        for test in (lambda a: fold(a["label"]) == t,
                     lambda a: bool(t) and (fold(a["label"]) in t or t in fold(a["label"])),
                     lambda a: bool(a["label"]) and fold(a["label"]) in fold(description),
                     lambda a: bool(a["agents"]) and normalize_agents(title) == a["agents"]):
            hits = [a for a in self.arms if fold(a["label"]) and test(a)]
            if len(hits) == 1:
                return hits[0]
        return self.arms[0] if len(self.arms) == 1 else None


def strings(obj: Any) -> list[str]:
    """The elements of ``obj`` as strings when it is a list, else []."""
    return [str(x) for x in obj] if isinstance(obj, list) else []


def denoms(obj: Any) -> dict[str, int]:
    """groupId → number of participants, from an outcome's (or class's) ``denoms``."""
    out: dict[str, int] = {}
    for d in items(obj):
        if not re.search(r"participant|patient|subject", text(d.get("units")) or "participants", re.I):
            continue
        for c in items(d.get("counts")):
            v, _ = f.parse_number(c.get("value"))
            if v is not None and v >= 1 and v == int(v):
                out[text(c.get("groupId"))] = int(v)
    return out
