"""ClinicalTrials.gov API v2 reader: study JSON to a Document and, directly, to evidence records.

Input is one study object or ``{"studies": [...]}`` (the ``/api/v2/studies`` page shape). Results
are already structured, so no NLP is needed: :func:`records_from_study` maps each efficacy outcome
measure (:func:`~extraction.ingest.ctgov_fields.endpoint_of`) to records — medians and rates per
arm group, HR/OR/RR per statistical analysis (``arm="contrast"``).

The Document text is a rendering of the study header and of *every* outcome measure, one line per
measurement and per analysis; each record's ``evidence_text`` is exactly its line, and
``char_start``/``char_end`` (the line) and ``value_start``/``value_end`` (the number as the registry
wrote it) point into that text. Each outcome measure is a section labelled with its title.

Mapping rules (see :mod:`~extraction.ingest.ctgov_fields` for the parsers):

* groups are matched to ``armGroups`` by title; EXPERIMENTAL → ``intervention``, comparator types
  (active, placebo, no intervention, sham) → ``comparator``; a study without comparator arm has
  ``single`` groups; an unmatched group or an OTHER arm gives no record (a warning);
* medians need ``paramType`` MEDIAN and a time unit; rates come from percentages (÷100), proportions,
  or — for response endpoints only — counts of participants over the group's denominator; a rate of
  a time-to-event endpoint needs a landmark time (outcome title, else a short time frame);
* an outcome with several categories, or several classes that are not histotypes, gives no record;
* a value the registry marks as not estimable (``NA``, ``99999``) gives no record, silently; an
  unparseable string gives no record and a warning (logged, and in ``Document.meta["warnings"]``).

Records are validated through :func:`evidence.schema.validate_record`; one that fails is dropped with
a warning. ``Document.meta["records"]`` carries the study's records, so callers need not render twice.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evidence.errors import RecordError
from evidence.schema import validate_record
from evidence.vocabulary import normalize_histotype
from extraction.ingest import ctgov_fields as f
from extraction.ingest.ctgov_study import EXTRACTOR, Study, denoms, get, items, text
from extraction.ingest.document import Document, IngestError
from extraction.ingest.limits import check_document, check_file, limits_from

#: Digits of the longest integer read from JSON (a float holds about 308; no registry count needs 19)
MAX_INT_DIGITS = 18


class _HostileJSON(ValueError):
    """A JSON value no study holds (a huge integer, a lone surrogate, a NUL character)."""


def _parse_int(s: str) -> int:
    digits = len(s.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _HostileJSON(f"an integer of {digits} digits, beyond the range of a number")
    return int(s)


def _check_strings(obj: Any) -> None:
    """Refuse strings that are not text: lone surrogates (``"\\ud800"``) and NUL characters."""
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
        elif isinstance(o, str):
            if "\x00" in o:
                raise _HostileJSON("a string holds a NUL character, which is not text")
            try:
                o.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise _HostileJSON(f"a string holds a lone surrogate (U+{ord(o[exc.start]):04X}), "
                                   "which is not text") from None

__all__ = ["EXTRACTOR", "document_from_study", "load_studies", "read_ctgov", "records_from_study"]

logger = logging.getLogger(__name__)
_PARAM_WORD = {"MEDIAN": "median ", "MEAN": "mean ", "GEOMETRIC_MEAN": "geometric mean ",
               "LEAST_SQUARES_MEAN": "least-squares mean ", "GEOMETRIC_LEAST_SQUARES_MEAN": "geometric mean "}
_PERCENT = re.compile(r"percent|%", re.IGNORECASE)
_PARTICIPANTS = re.compile(r"\b(?:participants?|patients?|subjects?)\b", re.IGNORECASE)
_SHORT_TIMEFRAME = re.compile(r"^\s*(?:at\s+)?(?:(?:week|month|year|day)\s*\d+|\d+\s*(?:weeks?|months?|years?|days?))"
                              r"\s*$", re.IGNORECASE)


class _Text:
    """Appends lines and remembers where each one starts."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0

    def line(self, line: str) -> tuple[int, int]:
        start = self.pos
        self.parts.append(line + "\n")
        self.pos += len(line) + 1
        return start, start + len(line)


def _disp_label(dispersion: str, level: float | None) -> str:
    return f"{level * 100:g}% CI" if level else (dispersion.lower() or "range")


class _Renderer:
    """Renders one study line by line, collecting sections, records and warnings on the way."""

    def __init__(self, study: dict[str, Any], source_file: str):
        self.s = Study(study, source_file)
        self.study = study
        self.t = _Text()
        self.sections: list[tuple[str, int, int]] = []
        self.records: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.s.nct_id}: {message}")

    def run(self) -> None:
        s, t = self.s, self.t
        t.line(s.title)
        if s.official and s.official != s.title:
            t.line(s.official)
        design = [f"ClinicalTrials.gov {s.nct_id}"]
        if s.base["phase"]:
            design.append(f"phase {s.base['phase']}")
        if s.base["randomized"] is not None:
            design.append("randomised" if s.base["randomized"] else "not randomised")
        t.line(", ".join(design))
        if s.conditions:
            t.line("Conditions: " + "; ".join(s.conditions))
        for a in s.arms:
            t.line(f"Arm {a['label']} ({a['type'] or 'type not given'}): {a['names'] or a['agents'] or 'none'}")
        for om in items(get(self.study, "resultsSection", "outcomeMeasuresModule", "outcomeMeasures")):
            self.outcome(om)

    def outcome(self, om: dict[str, Any]) -> None:
        t = self.t
        title = text(om.get("title")) or "Untitled outcome"
        t.line("")
        start = t.pos
        t.line(f"{title} [{text(om.get('type')) or 'OUTCOME'}]")
        if text(om.get("timeFrame")):
            t.line(f"Time frame: {text(om.get('timeFrame'))}")
        endpoint = f.endpoint_of(title)
        groups = {text(g.get("id")): g for g in items(om.get("groups"))}
        arms = {gid: self.s.arm_of(text(g.get("title")), text(g.get("description"))) for gid, g in groups.items()}
        classes = items(om.get("classes"))
        skipped = False
        for cls in classes:
            ctitle = text(cls.get("title"))
            hist = normalize_histotype(ctitle) if ctitle else None
            cats = items(cls.get("categories"))
            usable = (len(classes) == 1 or hist is not None) and len(cats) == 1
            skipped = skipped or not usable
            ctx = {"om": om, "title": title, "groups": groups, "arms": arms, "hist": hist,
                   "denoms": denoms(cls.get("denoms")) or denoms(om.get("denoms")),
                   "endpoint": endpoint if usable else None}
            for cat in cats:
                label = " ".join(x for x in (title, f"[{ctitle}]" if ctitle else "",
                                             f"[{text(cat.get('title'))}]" if text(cat.get("title")) else "") if x)
                for m in items(cat.get("measurements")):
                    self.measurement(ctx, label, m)
        if endpoint and skipped:
            self.warn(f"outcome {title!r}: several classes or categories, arm values not mapped to records")
        for a in items(om.get("analyses")):
            self.analysis(om, title, a, groups, arms, denoms(om.get("denoms")), endpoint)
        self.sections.append((title, start, t.pos - 1))

    def measurement(self, ctx: dict[str, Any], label: str, m: dict[str, Any]) -> None:
        om = ctx["om"]
        gid = text(m.get("groupId"))
        raw, lo_raw, hi_raw = text(m.get("value")), text(m.get("lowerLimit")), text(m.get("upperLimit"))
        unit, param, disp = text(om.get("unitOfMeasure")), text(om.get("paramType")), text(om.get("dispersionType"))
        level = f.ci_level(disp)
        n = ctx["denoms"].get(gid)
        prefix = f"{label}: {_PARAM_WORD.get(param, '')}"
        line = prefix + (raw or "NA") + (f" {unit}" if unit else "")
        if lo_raw or hi_raw:
            line += f" ({_disp_label(disp, level)} {lo_raw or 'NA'}–{hi_raw or 'NA'})"
        elif text(m.get("spread")):
            line += f" ({_disp_label(disp, level)} {text(m.get('spread'))})"
        line += f" in {text(ctx['groups'].get(gid, {}).get('title')) or gid}" + (f" (n={n})" if n else "")
        start, end = self.t.line(line)
        endpoint, arm = ctx["endpoint"], ctx["arms"].get(gid)
        if endpoint is None:
            return
        if arm is None or arm["role"] is None:
            self.warn(f"outcome {ctx['title']!r}: group {gid} matches no experimental or comparator arm")
            return
        value, ok = f.parse_number(raw)
        if value is None:
            if not ok:
                self.warn(f"outcome {ctx['title']!r}: unparseable value {raw!r} skipped")
            return
        fields = self.arm_measure(om, ctx["title"], endpoint, value, lo_raw if level else "",
                                  hi_raw if level else "", level, n)
        if fields is None:
            return
        rec = {**self.s.base, **fields, "endpoint": endpoint, "n": n, "evidence_text": line,
               "char_start": start, "char_end": end, "value_start": start + len(prefix),
               "value_end": start + len(prefix) + len(raw)}
        if ctx["hist"]:
            rec["histotypes"] = [ctx["hist"]]
        self.emit_arm(rec, arm)

    def arm_measure(self, om: dict[str, Any], title: str, endpoint: str, value: float, lo_raw: str,
                    hi_raw: str, level: float | None, n: int | None) -> dict[str, Any] | None:
        """measure/value/unit/CI/timepoint of an arm value, or None (with a warning) when unmapped."""
        unit, param = text(om.get("unitOfMeasure")), text(om.get("paramType"))
        (lo, ok_lo), (hi, ok_hi) = f.parse_number(lo_raw), f.parse_number(hi_raw)
        flags = [] if ok_lo and ok_hi else ["unparsed_ci"]
        if level and (lo is None) != (hi is None):
            flags.append("ci_bound_not_estimable")
        tte = endpoint not in f.RESPONSE_ENDPOINTS
        common = {"ci_level": level or 0.95, "flags": flags}
        if param == "MEDIAN" and f.time_unit(unit) and tte:
            return {**common, "measure": "median", "value": value, "unit": f.time_unit(unit),
                    "ci_low": lo, "ci_high": hi, "timepoint_months": None}
        if _PERCENT.search(unit):
            scale = 100.0
        elif re.search(r"proportion|probability", unit, re.IGNORECASE):
            scale = 1.0
        elif not tte and param in ("COUNT_OF_PARTICIPANTS", "NUMBER") and _PARTICIPANTS.search(unit or "participants"):
            if not n:
                self.warn(f"outcome {title!r}: a count of participants without denominator skipped")
                return None
            scale, lo, hi = float(n), None, None
        else:
            self.warn(f"outcome {title!r}: {param or 'value'} in {unit or 'no unit'!r} is neither median nor rate")
            return None
        tp = f.timepoint_months(title)
        timeframe = text(om.get("timeFrame"))
        if tp is None and tte and _SHORT_TIMEFRAME.match(timeframe):
            tp = f.timepoint_months(timeframe)
        if tp is None and tte:
            self.warn(f"outcome {title!r}: a {endpoint} rate without landmark time skipped")
            return None
        rate = round(value / scale, 12)
        if not 0 <= rate <= 1:
            self.warn(f"outcome {title!r}: rate {rate:g} outside [0, 1] skipped")
            return None
        lo, hi = (None if x is None else round(x / scale, 12) for x in (lo, hi))
        if not all(x is None or 0 <= x <= 1 for x in (lo, hi)):
            lo, hi = None, None
            flags.append("unparsed_ci")
        return {**common, "measure": "rate", "value": rate, "unit": "proportion", "ci_low": lo,
                "ci_high": hi, "timepoint_months": tp}

    def emit_arm(self, rec: dict[str, Any], arm: dict[str, Any]) -> None:
        """One record per arm value; a control arm's value once per experimental arm."""
        comps = [a for a in self.s.arms if a["role"] == "comparator"]
        exps = [a for a in self.s.arms if a["role"] == "intervention"]
        unknown = [] if arm["known"] else ["unknown_agent"]
        if arm["role"] == "single":
            self.emit({**rec, "arm": "single", "intervention": arm["agents"], "comparator": "",
                       "flags": rec["flags"] + unknown})
        elif arm["role"] == "intervention":
            extra = ["multiple_comparators"] if len({c["agents"] for c in comps}) > 1 else []
            extra += [] if all(c["known"] for c in comps[:1]) else ["unknown_agent"]
            self.emit({**rec, "arm": "intervention", "intervention": arm["agents"],
                       "comparator": comps[0]["agents"] if comps else "", "flags": rec["flags"] + unknown + extra})
        else:
            for exp in {e["agents"]: e for e in exps}.values() or [None]:
                extra = [] if exp is None or exp["known"] else ["unknown_agent"]
                self.emit({**rec, "arm": "comparator", "intervention": exp["agents"] if exp else "",
                           "comparator": arm["agents"], "flags": rec["flags"] + unknown + extra})

    def analysis(self, om: dict[str, Any], title: str, a: dict[str, Any], groups: dict[str, Any],
                 arms: dict[str, Any], denoms: dict[str, int], endpoint: str | None) -> None:
        gids = [text(g) for g in a.get("groupIds") or [] if text(g)] if isinstance(a.get("groupIds"), list) else []
        names = " vs ".join(text(groups.get(g, {}).get("title")) or g for g in gids)
        ptype, raw = text(a.get("paramType")), text(a.get("paramValue"))
        pct, lo_raw, hi_raw = text(a.get("ciPctValue")), text(a.get("ciLowerLimit")), text(a.get("ciUpperLimit"))
        p_raw, method = text(a.get("pValue")), text(a.get("statisticalMethod"))
        n = sum(denoms[g] for g in gids) if gids and all(g in denoms for g in gids) else None
        prefix = f"{title}: {ptype or 'analysis'} ({names})" + (": " if raw else "")
        line = prefix + raw
        if lo_raw or hi_raw:
            line += f" ({pct + '% ' if pct else ''}CI {lo_raw or 'NA'}–{hi_raw or 'NA'})"
        if p_raw:
            line += ", p" + ("" if p_raw[:1] in "<>=≤≥" else "=") + p_raw
        line += (f" ({method})" if method else "") + (f" (n={n})" if n else "")
        start, end = self.t.line(line)
        measure = f.ratio_measure(ptype)
        if endpoint is None or measure is None or not raw:
            return
        pair = [arms.get(g) for g in gids]
        if len(pair) != 2 or None in pair:
            self.warn(f"outcome {title!r}: {measure} analysis of groups {gids} not mapped to two arms")
            return
        value, ok = f.parse_number(raw)
        if value is None:
            if not ok:
                self.warn(f"outcome {title!r}: unparseable {measure} {raw!r} skipped")
            return
        flags: list[str] = []
        ig, cg = pair if pair[1]["role"] != "intervention" else pair[::-1]
        if (ig["role"], cg["role"]) != ("intervention", "comparator"):
            flags.append("arm_roles_ambiguous")
        (lo, ok_lo), (hi, ok_hi), (level, _) = f.parse_number(lo_raw), f.parse_number(hi_raw), f.parse_number(pct)
        flags += [] if ok_lo and ok_hi else ["unparsed_ci"]
        if text(a.get("ciNumSides")) == "ONE_SIDED":
            flags.append("one_sided_ci")
        p, rel = f.parse_p(p_raw)
        if p_raw and p is None and p_raw.lower() not in f.NOT_ESTIMABLE:
            flags.append("unparsed_p_value")
        flags += [u for u in ("unknown_agent",) if not (ig["known"] and cg["known"])]
        self.emit({**self.s.base, "arm": "contrast", "endpoint": endpoint, "measure": measure, "value": value,
                   "unit": "ratio", "ci_low": lo, "ci_high": hi,
                   "ci_level": level / 100 if level and 0 < level < 100 else 0.95, "p_value": p,
                   "p_relation": rel, "n": n, "timepoint_months": None, "intervention": ig["agents"],
                   "comparator": cg["agents"], "evidence_text": line, "char_start": start, "char_end": end,
                   "value_start": start + len(prefix), "value_end": start + len(prefix) + len(raw),
                   "flags": flags})

    def emit(self, rec: dict[str, Any]) -> None:
        lo, hi, v = rec.get("ci_low"), rec.get("ci_high"), rec["value"]
        flags = list(dict.fromkeys(rec["flags"]))
        if lo is not None and hi is not None and lo <= hi and not lo <= v <= hi:
            flags.append("value_outside_ci")
        try:
            self.records.append(validate_record({**rec, "page": None, "flags": flags}).to_dict())
        except RecordError as exc:
            self.warn(f"record dropped ({exc})")


def _render(study: Any, source_file: str) -> tuple[Document, list[dict[str, Any]]]:
    r = _Renderer(study, source_file)
    r.run()
    for w in r.warnings:
        logger.warning(w)
    s = r.s
    doc = Document(source_id=s.nct_id, source_file=source_file, title=s.title, year=s.year,
                   text="".join(r.t.parts), sections=tuple(r.sections), nct_id=s.nct_id,
                   meta={"format": "ctgov", "conditions": s.conditions, "phase": s.base["phase"],
                         "randomized": s.base["randomized"], "records": r.records, "warnings": r.warnings})
    return doc, r.records


def document_from_study(study: dict[str, Any], source_file: str) -> Document:
    """Render one v2 study as a :class:`Document` (records in ``meta["records"]``).

    Raises
    ------
    IngestError
        When the study has no NCT id.
    """
    try:
        return _render(study, source_file)[0]
    except ValueError as exc:
        raise IngestError(source_file, str(exc)) from None


def records_from_study(study: dict[str, Any], source_file: str) -> list[dict[str, Any]]:
    """Evidence records (plain dicts in DESIGN.md field order) of one v2 study's results.

    Offsets point into ``document_from_study(study, source_file).text``. A study without
    ``resultsSection`` gives ``[]``.

    Raises
    ------
    IngestError
        When the study has no NCT id.
    """
    return document_from_study(study, source_file).meta["records"]


def load_studies(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The study objects of a v2 JSON file (one study, or a ``{"studies": [...]}`` page).

    Raises
    ------
    IngestError
        For unreadable or invalid JSON, or JSON that holds no v2 study.
    """
    try:
        raw = Path(path).read_bytes()
        check_file(path, len(raw), limits_from())
        data = json.loads(raw, parse_int=_parse_int)
        _check_strings(data)
    except _HostileJSON as exc:
        raise IngestError(path, f"not usable JSON ({exc})") from None
    except OSError as exc:
        raise IngestError(path, f"cannot read file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise IngestError(path, "not valid JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise IngestError(path, f"not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:
        raise IngestError(path, f"not valid JSON ({exc})") from None
    studies = data.get("studies") if isinstance(data, dict) and "studies" in data else [data]
    studies = studies if isinstance(studies, list) else []
    if not studies or not all(isinstance(s, dict) and isinstance(s.get("protocolSection"), dict) for s in studies):
        raise IngestError(path, "not a ClinicalTrials.gov v2 study (no protocolSection)")
    return studies


def read_ctgov(path: str | os.PathLike[str]) -> Iterator[Document]:
    """Yield one :class:`Document` per study of a ClinicalTrials.gov v2 JSON file.

    Raises
    ------
    IngestError
        See :func:`load_studies`; and for a study without an NCT id or with an unexpected structure.
    """
    limits = limits_from()
    for i, study in enumerate(load_studies(path), start=1):
        try:
            doc = _render(study, os.fspath(path))[0]
        except (ValueError, TypeError, AttributeError, KeyError, ArithmeticError, RecursionError) as exc:
            raise IngestError(path, f"study {i}: {exc}") from None
        check_document(path, len(doc.text), limits)
        yield doc
