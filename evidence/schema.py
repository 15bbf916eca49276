"""The evidence record: one statistic from one source (DESIGN.md, "Evidence record").

Field names are fixed: they are the JSON keys, the CSV columns and the table columns.

Validation has two tiers:

* **Errors** (``RecordError``, one line naming the field and the value): a structurally impossible
  record — unknown endpoint/measure/arm/status, a ratio ≤ 0, ci_low > ci_high, a rate outside
  [0, 1], a p outside (0, 1], a value outside its own CI (unless the record already carries the
  ``value_outside_ci`` flag, i.e. a curator acknowledged that the source prints it that way).
* **Flags** (kept on the record for curation, never dropped): an unknown histotype or agent, an HR
  far from the log-midpoint of its CI, a p that disagrees with the CI.

>>> r = validate_record({"source_id": "PMID:1", "endpoint": "OS", "measure": "HR", "arm": "contrast",
...                      "value": 0.77, "ci_low": 0.62, "ci_high": 0.95})
>>> r.unit, r.ci_level, r.status
('ratio', 0.95, 'extracted')
"""

from __future__ import annotations

import functools
import hashlib
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evidence.errors import RecordError

#: DM and LR are cumulative incidences (the share of patients with distant metastasis / local recurrence), the
#: outcomes prognostic studies report as rates ("27% vs 23% developed metastases"); their ratios are MFS/LRFS.
ENDPOINTS = ("OS", "PFS", "ORR", "DFS", "RFS", "MFS", "LRFS", "EFS", "DCR", "CBR", "TTP", "DM", "LR")
MEASURES = ("HR", "OR", "RR", "median", "rate")
RATIO_MEASURES = ("HR", "OR", "RR")
ARMS = ("intervention", "comparator", "contrast", "single")
STATUSES = ("extracted", "accepted", "edited", "rejected")
PHASES = ("1", "2", "3", "1/2", "2/3", "")
SETTINGS = ("advanced", "adjuvant", "neoadjuvant", "localized", "")
LINES = ("first", "second_plus", "")
TIME_UNITS = ("months", "weeks", "days", "years")
P_RELATIONS = ("=", "<", "<=", ">", ">=")
DESIGNS = ("rct", "single_arm", "nonrandomized", "observational", "pooled_analysis", "meta_analysis", "")
#: Designs whose numbers are syntheses of other studies: shown beside pooled estimates, never pooled as trials.
SYNTHESIS_DESIGNS = ("pooled_analysis", "meta_analysis")
QUESTIONS = ("treatment", "prognostic")

#: Every field, in the order of DESIGN.md (CSV column order).
FIELDS: tuple[str, ...] = (
    "record_id", "source_id", "source_file", "source_title", "year", "trial", "phase", "randomized",
    "setting", "line", "histotypes", "intervention", "comparator", "arm", "endpoint", "measure",
    "value", "unit", "ci_low", "ci_high", "ci_level", "p_value", "p_relation", "n",
    "timepoint_months", "evidence_text", "char_start", "char_end", "value_start", "value_end", "page",
    "flags", "extractor", "confidence", "status", "reviewer", "note", "updated_at",
    # round 2 (DESIGN.md): study design, registry ids, subgroups, events, sidedness, prognostic factors
    "design", "registry_ids", "subgroup", "subgroup_label", "events", "p_sided", "question", "factor",
    "factor_level", "factor_reference", "adjusted", "covariates",
)
LIST_FIELDS = ("histotypes", "flags", "registry_ids", "covariates")
_FIELD_SET = frozenset(FIELDS)
#: Fields a curator may change (the rest identify where the value came from).
CURATABLE_FIELDS = (
    "trial", "phase", "randomized", "setting", "line", "histotypes", "intervention", "comparator",
    "arm", "endpoint", "measure", "value", "unit", "ci_low", "ci_high", "ci_level", "p_value",
    "p_relation", "n", "timepoint_months",
    "design", "registry_ids", "subgroup", "subgroup_label", "events", "p_sided", "question", "factor",
    "factor_level", "factor_reference", "adjusted", "covariates",
)


#: A float that is not NaN or infinite (checked by pydantic itself, which is faster than a validator).
Finite = Annotated[float, Field(allow_inf_nan=False)]


class EvidenceRecord(BaseModel):
    """One statistic from one source, with where it came from and its curation state."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_assignment=True)

    record_id: str = ""
    source_id: str
    source_file: str | None = None
    source_title: str | None = None
    year: int | None = None
    trial: str | None = None
    phase: Literal["1", "2", "3", "1/2", "2/3", ""] | None = None
    randomized: bool | None = None
    setting: Literal["advanced", "adjuvant", "neoadjuvant", "localized", ""] | None = None
    line: Literal["first", "second_plus", ""] | None = None
    histotypes: list[str] = []
    intervention: str | None = None
    comparator: str | None = None
    arm: Literal["intervention", "comparator", "contrast", "single"]
    endpoint: Literal["OS", "PFS", "ORR", "DFS", "RFS", "MFS", "LRFS", "EFS", "DCR", "CBR", "TTP", "DM", "LR"]
    measure: Literal["HR", "OR", "RR", "median", "rate"]
    value: Finite
    unit: str = ""
    ci_low: Finite | None = None
    ci_high: Finite | None = None
    ci_level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    p_value: Finite | None = None
    p_relation: Literal["=", "<", "<=", ">", ">="] | None = None
    n: Annotated[int, Field(ge=1)] | None = None
    timepoint_months: Finite | None = None
    evidence_text: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    value_start: int | None = None
    value_end: int | None = None
    page: int | None = None
    flags: list[str] = []
    extractor: str | None = None
    confidence: Finite | None = None
    status: Literal["extracted", "accepted", "edited", "rejected"] = "extracted"
    reviewer: str | None = None
    note: str | None = None
    updated_at: datetime | None = None
    # round 2
    design: Literal["rct", "single_arm", "nonrandomized", "observational", "pooled_analysis", "meta_analysis",
                    ""] | None = None
    registry_ids: list[str] = []
    subgroup: str | None = None
    subgroup_label: str | None = None
    events: Annotated[int, Field(ge=0)] | None = None
    p_sided: Annotated[int, Field(ge=1, le=2)] = 2  # 1 = one-sided p, 2 = two-sided
    question: Literal["treatment", "prognostic"] = "treatment"
    factor: str | None = None
    factor_level: str | None = None
    factor_reference: str | None = None
    adjusted: bool | None = None
    covariates: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _empty_is_null(cls, data: Any) -> Any:
        # An empty string and a null are one thing (CSV cannot tell them apart): store null.
        if isinstance(data, dict) and "" in data.values():
            data = {k: (None if v == "" and k not in ("record_id", "unit") else v) for k, v in data.items()}
        return data

    @field_validator("updated_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            v = v.replace(tzinfo=UTC)  # naive times are taken as UTC, the store's zone
        return v

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict in FIELDS order (lists copied, datetimes kept)."""
        d = self.model_dump()
        return {f: d[f] for f in FIELDS}


def make_record_id(source_id: str, char_start: int | None, endpoint: str, measure: str, arm: str,
                   timepoint_months: float | None, value_start: int | None = None,
                   intervention: str | None = None) -> str:
    """A stable id that does not depend on the value, so a curated edit keeps it.

    DESIGN.md hashes source_id, char_start, endpoint, measure, arm and timepoint; we add the offset of
    the number (``value_start``: a position, not the value) and the intervention, because one sentence
    can hold several HRs of one endpoint (histotype subgroups) and a three-arm trial repeats the
    control arm's median once per contrast.

    >>> make_record_id("PMID:1", 10, "OS", "HR", "contrast", None) == make_record_id(
    ...     "PMID:1", 10, "OS", "HR", "contrast", None)
    True
    """
    tp = "" if timepoint_months is None else f"{float(timepoint_months):g}"
    parts = [source_id, "" if char_start is None else str(char_start), endpoint.upper(), measure, arm, tp,
             "" if value_start is None else str(value_start), intervention or ""]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:16]


def _default_unit(measure: str) -> str:
    return "ratio" if measure in RATIO_MEASURES else "proportion" if measure == "rate" else "months"


def _check_consistency(r: EvidenceRecord) -> list[str]:
    """Hard errors as (field, value, reason) messages; empty when the record is consistent."""
    errs = []
    if r.measure in RATIO_MEASURES:
        for name in ("value", "ci_low", "ci_high"):
            v = getattr(r, name)
            if v is not None and v <= 0:
                errs.append(f"{name}={v!r}: a {r.measure} must be > 0")
        if r.unit not in ("ratio", ""):
            errs.append(f"unit={r.unit!r}: a {r.measure} has unit 'ratio'")
    if r.measure == "rate":
        for name in ("value", "ci_low", "ci_high"):
            v = getattr(r, name)
            if v is not None and not 0 <= v <= 1:
                errs.append(f"{name}={v!r}: a rate is a proportion in [0, 1] (34% → 0.34)")
        if r.unit not in ("proportion", ""):
            errs.append(f"unit={r.unit!r}: a rate has unit 'proportion'")
    if r.measure == "median":
        if r.value < 0:
            errs.append(f"value={r.value!r}: a median time cannot be negative")
        if r.unit not in TIME_UNITS:
            errs.append(f"unit={r.unit!r}: a median needs a time unit, one of {', '.join(TIME_UNITS)}")
    if r.measure in RATIO_MEASURES and r.arm != "contrast":
        errs.append(f"arm={r.arm!r}: a {r.measure} is a between-arm statistic, arm must be 'contrast'")
    if r.measure not in RATIO_MEASURES and r.arm == "contrast":
        errs.append(f"arm='contrast': a {r.measure} belongs to one arm")
    if r.ci_low is not None and r.ci_high is not None and r.ci_low > r.ci_high:
        errs.append(f"ci_low={r.ci_low!r} > ci_high={r.ci_high!r}")
    elif (r.ci_low is not None and r.ci_high is not None and not r.ci_low <= r.value <= r.ci_high
          and "value_outside_ci" not in r.flags):
        errs.append(f"value={r.value!r} lies outside its CI [{r.ci_low!r}, {r.ci_high!r}]"
                    " (add flag 'value_outside_ci' if the source prints it so)")
    if r.p_value is not None and not 0 < r.p_value <= 1:
        errs.append(f"p_value={r.p_value!r}: a p value lies in (0, 1]")
    if r.p_value is not None and r.p_relation is None:
        errs.append("p_relation is empty while p_value is set: say '=', '<' or '>'")
    if r.events is not None and r.n is not None and r.events > r.n:
        errs.append(f"events={r.events} > n={r.n}: more patients with the event than patients")
    if r.question == "prognostic":
        if not r.factor:
            errs.append("factor is empty: a prognostic record names its factor (e.g. 'margin', 'grade')")
        if r.intervention or r.comparator:
            errs.append("intervention/comparator set on a prognostic record: a prognostic record compares "
                        "factor levels (factor_level vs factor_reference), not treatments")
    elif r.factor or r.factor_level or r.factor_reference:
        errs.append(f"factor={r.factor!r} on a treatment record: set question='prognostic' for a prognostic factor")
    if r.subgroup_label and not r.subgroup:
        errs.append(f"subgroup_label={r.subgroup_label!r} without subgroup: say what narrows the population "
                    "(e.g. subgroup='histotype')")
    if r.timepoint_months is not None and r.timepoint_months <= 0:
        errs.append(f"timepoint_months={r.timepoint_months!r}: must be > 0")
    for a, b in (("char_start", "char_end"), ("value_start", "value_end")):
        lo, hi = getattr(r, a), getattr(r, b)
        if lo is not None and hi is not None and lo > hi:
            errs.append(f"{a}={lo} > {b}={hi}")
    return errs


@functools.cache
def _vocabulary() -> Any:
    from evidence.vocabulary import VOCAB  # on first use: the vocabulary loads data files

    return VOCAB


def soft_flags(r: EvidenceRecord) -> list[str]:
    """Consistency warnings that do not make a record invalid (kept for curation)."""
    vocab = _vocabulary()
    flags: list[str] = []
    histotypes, agents = vocab.histotypes, vocab.agents
    for h in r.histotypes:
        if h not in histotypes:
            flags.append("unknown_histotype")
            break
    for v in (r.intervention, r.comparator):
        if v and not all(a in agents for a in v.split("+")):
            flags.append("unknown_agent")
            break
    if (r.measure in RATIO_MEASURES and r.ci_low and r.ci_high and r.value > 0
            and r.ci_low > 0 and r.ci_high > 0):
        mid = math.exp((math.log(r.ci_low) + math.log(r.ci_high)) / 2)
        # rounding to two decimals moves the midpoint by a few percent at most
        if abs(math.log(r.value / mid)) > 0.1:
            flags.append("hr_not_log_midpoint")
        if r.p_value is not None and r.ci_level == 0.95:
            excludes_one = r.ci_high < 1 or r.ci_low > 1
            significant = r.p_value < 0.05 or (r.p_relation in ("<", "<=") and r.p_value <= 0.05)
            # allow the boundary band where rounding of p or of the CI bounds decides
            borderline = 0.04 <= r.p_value <= 0.06 or min(abs(r.ci_low - 1), abs(r.ci_high - 1)) < 0.015
            if excludes_one != significant and not borderline:
                flags.append("p_disagrees_with_ci")
    return flags


#: The model declares its fields in FIELDS order, so a validated record's ``__dict__`` is a record dict.
_DICT_IN_FIELD_ORDER = tuple(EvidenceRecord.model_fields) == FIELDS


def _validated(data: dict[str, Any] | EvidenceRecord, row: str | None,
               add_flags: bool) -> tuple[EvidenceRecord, dict[str, Any]]:
    """The validated model and the fields :func:`validate_record` fills in (``record_id``, ``flags``)."""
    if isinstance(data, EvidenceRecord):
        data = data.model_dump()
    data = dict(data)
    for key in LIST_FIELDS:
        if key in data and data[key] is None:
            del data[key]
    where = f"{row}: " if row else ""
    if not _FIELD_SET.issuperset(data):
        unknown = sorted(set(data) - _FIELD_SET)
        raise RecordError(f"{where}unknown field {unknown[0]!r}; allowed fields: {', '.join(FIELDS)}")
    if data.get("measure") and not data.get("unit"):
        data["unit"] = _default_unit(str(data["measure"]))
    if data.get("ci_level") is None:
        data.pop("ci_level", None)
    for key in ("status", "record_id", "p_sided", "question"):
        if data.get(key) is None:
            data.pop(key, None)
    try:
        rec = EvidenceRecord.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        field = ".".join(str(p) for p in e["loc"]) or "record"
        value = e.get("input")
        msg = e["msg"]
        if e["type"] == "literal_error":
            msg = "must be one of " + msg.split("Input should be ", 1)[-1].replace("'", "")
        elif field == "ci_level":
            msg += " (the level is a proportion in (0, 1), e.g. 0.95)"
        raise RecordError(f"{where}{field}={value!r}: {msg}") from None
    errs = _check_consistency(rec)
    if errs:
        raise RecordError(where + errs[0])
    updates: dict[str, Any] = {}
    if not rec.record_id:
        updates["record_id"] = make_record_id(rec.source_id, rec.char_start, rec.endpoint, rec.measure,
                                              rec.arm, rec.timepoint_months, rec.value_start,
                                              rec.intervention)
    if add_flags:
        new = [f for f in soft_flags(rec) if f not in rec.flags]
        if new:
            updates["flags"] = [*rec.flags, *new]
    return rec, updates


def validate_record(data: dict[str, Any] | EvidenceRecord, *, row: str | None = None,
                    add_flags: bool = True) -> EvidenceRecord:
    """Validate a dict into an :class:`EvidenceRecord`, filling the id, unit and flags.

    Raises :class:`RecordError` with one line naming the field and the value on the first problem
    (``row`` prefixes the message, e.g. ``"row 7"``).
    """
    rec, updates = _validated(data, row, add_flags)
    return rec.model_copy(update=updates) if updates else rec


def validate_record_dict(data: dict[str, Any] | EvidenceRecord, *, row: str | None = None,
                         add_flags: bool = True) -> dict[str, Any]:
    """``validate_record(data, ...).to_dict()``, without building a second model (the bulk path).

    >>> d = validate_record_dict({"source_id": "PMID:1", "endpoint": "OS", "measure": "HR",
    ...                           "arm": "contrast", "value": 0.77})
    >>> d == validate_record(d).to_dict(), list(d) == list(FIELDS)
    (True, True)
    """
    rec, updates = _validated(data, row, add_flags)
    values = rec.__dict__  # pydantic keeps the validated field values here, in field order
    out = dict(values) if _DICT_IN_FIELD_ORDER else {f: values[f] for f in FIELDS}
    for key in LIST_FIELDS:
        out[key] = list(out[key])
    out.update(updates)
    return out


def is_valid(data: dict[str, Any]) -> bool:
    """True when :func:`validate_record` accepts ``data``."""
    try:
        validate_record(data)
    except RecordError:
        return False
    return True
