"""Risk of bias and GRADE certainty judgements: entered by signed-in reviewers, audited, latest one counts.

* **Risk of bias** (RoB 2, Sterne et al., BMJ 2019;366:l4898): per study (its trial identity) and outcome
  (endpoint), a judgement for each of the five domains — ``randomisation``, ``deviations``, ``missing_data``,
  ``measurement``, ``selection`` — as ``low``, ``some concerns`` or ``high``, each with a reason. The overall
  judgement follows the RoB 2 algorithm: low when every domain is low; high when any domain is high, or when
  several (three or more) domains have some concerns; otherwise some concerns.
* **Certainty** (GRADE): per pooled question and domain, a reviewer confirms the product's proposal
  (:func:`meta.certainty.propose_certainty`) or overrides it, with a reason.

Both tables are append-only (migration 0006 refuses UPDATE and DELETE); a changed mind is a new row and the
latest row per key counts. Every judgement is also written to the audit log (``action`` ``rob`` or
``certainty``, ``field`` the domain, ``old``/``new`` the judgements), under the signed-in reviewer's account name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import insert, select

from evidence.errors import EvidenceError
from evidence.store import Store, now
from evidence.tables import audit_log, certainty_judgements, rob_judgements

ROB_DOMAINS = ("randomisation", "deviations", "missing_data", "measurement", "selection")
ROB_LABELS = {
    "randomisation": "bias arising from the randomisation process",
    "deviations": "bias due to deviations from intended interventions",
    "missing_data": "bias due to missing outcome data",
    "measurement": "bias in measurement of the outcome",
    "selection": "bias in selection of the reported result",
}
ROB_JUDGEMENTS = ("low", "some concerns", "high")
CERTAINTY_DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
CERTAINTY_JUDGEMENTS = ("not serious", "serious", "very serious", "not assessed")


class JudgementError(EvidenceError, ValueError):
    """A judgement that cannot be stored (unknown domain or level, no reason, no account)."""


@dataclass(frozen=True)
class RobJudgement:
    """The latest judgement of one RoB 2 domain for one study and outcome."""

    study: str
    endpoint: str
    domain: str
    judgement: str
    reason: str
    reviewer: str
    at: datetime


def overall_rob(judgements: dict[str, str]) -> str | None:
    """RoB 2's overall judgement from the domain judgements (None until every domain is judged).

    >>> overall_rob(dict.fromkeys(ROB_DOMAINS, "low"))
    'low'
    >>> overall_rob({**dict.fromkeys(ROB_DOMAINS, "low"), "missing_data": "some concerns"})
    'some concerns'
    >>> overall_rob({**dict.fromkeys(ROB_DOMAINS, "some concerns"), "selection": "low"})
    'high'
    """
    if any(judgements.get(d) not in ROB_JUDGEMENTS for d in ROB_DOMAINS):
        return None
    levels = [judgements[d] for d in ROB_DOMAINS]
    if "high" in levels or levels.count("some concerns") >= 3:
        return "high"
    return "some concerns" if "some concerns" in levels else "low"


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise JudgementError(f"{what} {value!r}: must be one of {', '.join(allowed)}")


class Judgements:
    """RoB and certainty judgements in one store (``reviewer`` must be a signed-in account name)."""

    def __init__(self, store: Store):
        self.store = store

    def set_rob(self, study: str, endpoint: str, domain: str, judgement: str, reason: str, *, reviewer: str) -> None:
        """Record one RoB 2 domain judgement (audited)."""
        _check(domain, ROB_DOMAINS, "RoB domain")
        _check(judgement, ROB_JUDGEMENTS, "RoB judgement")
        if not reason.strip():
            raise JudgementError("a risk-of-bias judgement needs a reason (what in the report supports it)")
        if not reviewer:
            raise JudgementError("sign in as a reviewer to enter risk of bias")
        old = self.rob(study, endpoint).get(domain)
        at = now()
        with self.store.engine.begin() as c:
            c.execute(insert(rob_judgements).values(study=study, endpoint=endpoint, domain=domain,
                                                    judgement=judgement, reason=reason, reviewer=reviewer, at=at))
            c.execute(insert(audit_log).values(at=at, reviewer=reviewer, record_id=None, action="rob",
                                               field=domain, old=old.judgement if old else None, new=judgement,
                                               reason=f"{study} / {endpoint}: {reason}"))

    def rob(self, study: str, endpoint: str) -> dict[str, RobJudgement]:
        """The latest judgement per domain of one study and outcome."""
        q = (select(rob_judgements).where(rob_judgements.c.study == study)
             .where(rob_judgements.c.endpoint == endpoint).order_by(rob_judgements.c.id))
        with self.store.engine.connect() as c:
            rows = c.execute(q).mappings().all()
        out: dict[str, RobJudgement] = {}
        for r in rows:
            out[r["domain"]] = RobJudgement(r["study"], r["endpoint"], r["domain"], r["judgement"], r["reason"],
                                            r["reviewer"], r["at"])
        return out

    def rob_overall(self, study: str, endpoint: str) -> str | None:
        """The RoB 2 overall judgement of a study for an outcome (None until all five domains are judged)."""
        return overall_rob({d: j.judgement for d, j in self.rob(study, endpoint).items()})

    def rob_frame(self) -> pd.DataFrame:
        """Every study × outcome's latest domain judgements and overall (for export and the SoF table)."""
        with self.store.engine.connect() as c:
            rows = c.execute(select(rob_judgements).order_by(rob_judgements.c.id)).mappings().all()
        latest: dict[tuple[str, str, str], Any] = {}
        for r in rows:
            latest[(r["study"], r["endpoint"], r["domain"])] = r
        table: dict[tuple[str, str], dict[str, Any]] = {}
        for (study, endpoint, domain), r in latest.items():
            row = table.setdefault((study, endpoint), {"study": study, "endpoint": endpoint})
            row[domain] = r["judgement"]
            row[f"{domain}_reason"] = r["reason"]
        for row in table.values():
            row["overall"] = overall_rob({d: row.get(d) for d in ROB_DOMAINS})
        cols = ["study", "endpoint", *[x for d in ROB_DOMAINS for x in (d, f"{d}_reason")], "overall"]
        return pd.DataFrame(list(table.values()), columns=cols)

    def set_certainty(self, question: str, domain: str, judgement: str, reason: str, *, reviewer: str) -> None:
        """Confirm or override one GRADE domain of a pooled question (audited)."""
        _check(domain, CERTAINTY_DOMAINS, "GRADE domain")
        _check(judgement, CERTAINTY_JUDGEMENTS, "GRADE judgement")
        if not reason.strip():
            raise JudgementError("a certainty judgement needs a reason")
        if not reviewer:
            raise JudgementError("sign in as a reviewer to judge certainty")
        old = self.certainty(question).get(domain)
        at = now()
        with self.store.engine.begin() as c:
            c.execute(insert(certainty_judgements).values(question=question, domain=domain, judgement=judgement,
                                                          reason=reason, reviewer=reviewer, at=at))
            c.execute(insert(audit_log).values(at=at, reviewer=reviewer, record_id=None, action="certainty",
                                               field=domain, old=old[0] if old else None, new=judgement,
                                               reason=f"{question}: {reason}"))

    def certainty(self, question: str) -> dict[str, tuple[str, str]]:
        """A question's reviewer judgements: ``{domain: (judgement, reason)}`` (latest per domain)."""
        q = (select(certainty_judgements).where(certainty_judgements.c.question == question)
             .order_by(certainty_judgements.c.id))
        with self.store.engine.connect() as c:
            rows = c.execute(q).mappings().all()
        return {r["domain"]: (r["judgement"], r["reason"]) for r in rows}
