"""GRADE certainty of a pooled estimate: a proposal per domain from the data, for reviewers to confirm or override.

GRADE (Guyatt et al., BMJ 2008;336:924; GRADE Handbook, Schünemann et al. 2013) rates the certainty of a body of
evidence as high, moderate, low or very low. Randomised evidence starts high, observational evidence low; each of
five domains can rate it down by one level (serious) or two (very serious). The product proposes each domain from
what the numbers show, and says why; a reviewer confirms or overrides with a reason (:mod:`evidence.grading`).

Rules used for the proposals (each a documented convention, never a hidden constant):

* **Risk of bias** — the share of the pooled weight from studies judged at *high* risk (RoB 2 overall), and at
  *some concerns*: very serious when high-risk studies carry ≥ 50% of the weight; serious when they carry ≥ 25%,
  or high + half of some-concerns ≥ 50% (GRADE Handbook §5.2.1: downgrade when most of the information is from
  studies at high or unclear risk). Not assessed when no study has a judgement.
* **Inconsistency** — I² (Higgins & Thompson 2002) with the prediction interval: serious when I² ≥ 50% and the
  prediction interval (where defined) includes the null while the pooled CI does not, or I² ≥ 50% without a PI;
  very serious when I² ≥ 75% and the PI spans both sides of the null widely (crosses both thresholds). One study:
  not applicable.
* **Indirectness** — cannot be read from the numbers: proposed not serious, the reviewer decides (a pool that
  rolled subtypes up into a parent histotype is proposed serious: the populations differ from the question's).
* **Imprecision** — the CI against the decision thresholds (default: the null and a relative effect of 0.75 /
  1.25 on ratio measures, GRADE Handbook §5.2.3): serious when the CI crosses one threshold, very serious when it
  crosses both the threshold of appreciable benefit and that of harm. Also serious when the optimal information
  size is not met: the number of events a single adequately powered trial would need to detect the benefit
  threshold (Schoenfeld 1983: d = 4 (z₁₋α/₂ + z₁₋β)² / ln(HR)², α 0.05, power 0.8) compared with the events
  pooled, or, when events are unknown, the participants (an upper bound of the events).
* **Publication bias** — not assessable below 10 studies (Cochrane Handbook §13.3.5.4): "not assessed (k < 10)",
  no downgrade but a footnote; at k ≥ 10 serious when Egger's test gives p < 0.10.

>>> p = propose_certainty(QuestionEvidence(k=3, measure="HR", estimate=0.71, ci_low=0.55, ci_high=0.92, i2=10.0,
...                                        n_total=900, randomized=True))
>>> p.level, [d.judgement for d in p.domains]
('moderate', ['not assessed', 'not serious', 'not serious', 'serious', 'not assessed'])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy import stats

LEVELS = ("very low", "low", "moderate", "high")
DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
JUDGEMENTS = ("not serious", "serious", "very serious", "not assessed")
DOWNGRADE = {"not serious": 0, "serious": 1, "very serious": 2, "not assessed": 0}
ROB_LEVELS = ("low", "some concerns", "high")
RATIO_MEASURES = ("HR", "OR", "RR")


@dataclass(frozen=True)
class StudyBias:
    """One pooled study's weight (percent) and its RoB 2 overall judgement (None: not assessed)."""

    weight: float
    judgement: str | None


@dataclass(frozen=True)
class QuestionEvidence:
    """What the certainty proposal reads of one pooled question (effects on the reporting scale)."""

    k: int
    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    i2: float = math.nan
    pi_low: float = math.nan
    pi_high: float = math.nan
    n_total: int | None = None
    events_total: int | None = None
    randomized: bool = True
    studies: tuple[StudyBias, ...] = ()
    egger_p: float = math.nan
    rollup: bool = False
    benefit: float = 0.75  # a relative effect a committee would call an appreciable benefit
    harm: float = 1.25  # and appreciable harm


@dataclass(frozen=True)
class Domain:
    """One GRADE domain: the judgement, how many levels it rates down, and why."""

    name: str
    judgement: str
    reason: str

    @property
    def downgrade(self) -> int:
        return DOWNGRADE[self.judgement]


@dataclass(frozen=True)
class CertaintyProposal:
    """The five domains and the level they lead to."""

    start: str
    domains: tuple[Domain, ...] = field(default_factory=tuple)

    @property
    def level(self) -> str:
        return level_after(self.start, sum(d.downgrade for d in self.domains))

    def domain(self, name: str) -> Domain:
        return next(d for d in self.domains if d.name == name)

    def footnotes(self) -> list[str]:
        """One footnote per domain that rates down or was not assessed."""
        return [f"{d.name.replace('_', ' ').capitalize()}: {d.judgement} — {d.reason}"
                for d in self.domains if d.judgement != "not serious"]


def level_after(start: str, downgrades: int) -> str:
    """The certainty level ``downgrades`` levels below ``start`` (never below very low)."""
    return LEVELS[max(0, LEVELS.index(start) - downgrades)]


def _risk_of_bias(q: QuestionEvidence) -> Domain:
    judged = [s for s in q.studies if s.judgement in ROB_LEVELS]
    if not judged:
        return Domain("risk_of_bias", "not assessed", "no study has a risk-of-bias judgement yet")
    total = sum(s.weight for s in q.studies if math.isfinite(s.weight)) or 1.0
    high = sum(s.weight for s in judged if s.judgement == "high") / total
    some = sum(s.weight for s in judged if s.judgement == "some concerns") / total
    share = f"{100 * high:.0f}% of the weight at high risk, {100 * some:.0f}% with some concerns"
    missing = len(q.studies) - len(judged)
    if missing:
        share += f"; {missing} of {len(q.studies)} studies not assessed"
    if high >= 0.5:
        return Domain("risk_of_bias", "very serious", share)
    if high >= 0.25 or high + some / 2 >= 0.5:
        return Domain("risk_of_bias", "serious", share)
    return Domain("risk_of_bias", "not serious", share)


def _null(measure: str) -> float:
    return 1.0 if measure in RATIO_MEASURES else 0.0


def _crosses(lo: float, hi: float, x: float) -> bool:
    return lo < x < hi


def _inconsistency(q: QuestionEvidence) -> Domain:
    if q.k < 2 or not math.isfinite(q.i2):
        return Domain("inconsistency", "not serious", "one study: inconsistency cannot be assessed")
    null = _null(q.measure)
    pi = math.isfinite(q.pi_low) and math.isfinite(q.pi_high)
    text = f"I² = {q.i2:.0f}%"
    if pi:
        text += f", prediction interval {q.pi_low:.2f} to {q.pi_high:.2f}"
    if q.i2 >= 75 and pi and q.pi_low < q.benefit and q.pi_high > q.harm:
        return Domain("inconsistency", "very serious", text + ": the studies' true effects range from appreciable "
                                                              "benefit to appreciable harm")
    if q.i2 >= 50 and (not pi or (_crosses(q.pi_low, q.pi_high, null) and not _crosses(q.ci_low, q.ci_high, null))):
        return Domain("inconsistency", "serious", text + (": substantial heterogeneity; the prediction interval "
                                                          "includes no effect" if pi else ": substantial "
                                                          "heterogeneity (no prediction interval at this k)"))
    return Domain("inconsistency", "not serious", text)


def _indirectness(q: QuestionEvidence) -> Domain:
    if q.rollup:
        return Domain("indirectness", "serious", "subtypes pooled into their parent histotype: the populations are "
                                                 "not exactly the question's")
    return Domain("indirectness", "not serious", "population, interventions and outcome as the question asks "
                                                 "(a reviewer judgement)")


def optimal_information_size(benefit: float = 0.75, alpha: float = 0.05, power: float = 0.8) -> int:
    """Events one trial needs to detect a ratio of ``benefit`` (Schoenfeld 1983; 1:1 allocation).

    >>> optimal_information_size(0.75)
    380
    """
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.ceil(4 * z * z / math.log(benefit) ** 2)


def _imprecision(q: QuestionEvidence) -> Domain:
    lo, hi = q.ci_low, q.ci_high
    ci = f"CI {lo:.2f} to {hi:.2f}"
    if q.measure not in RATIO_MEASURES:
        if _crosses(lo, hi, _null(q.measure)):
            return Domain("imprecision", "serious", ci + " includes no effect")
        return Domain("imprecision", "not serious", ci)
    if lo < q.benefit and hi > q.harm:
        return Domain("imprecision", "very serious", f"{ci} includes appreciable benefit ({q.benefit:g}) and "
                                                     f"appreciable harm ({q.harm:g})")
    if _crosses(lo, hi, 1.0) or _crosses(lo, hi, q.benefit) or _crosses(lo, hi, q.harm):
        crossed = [f"{t:g}" for t in (q.benefit, 1.0, q.harm) if _crosses(lo, hi, t)]
        return Domain("imprecision", "serious", f"{ci} crosses {' and '.join(crossed)}")
    ois = optimal_information_size(q.benefit)
    have = q.events_total if q.events_total is not None else q.n_total
    if have is not None and have < ois:
        what = "events" if q.events_total is not None else "participants (at most as many events)"
        return Domain("imprecision", "serious", f"{ci}; {have} {what} < the optimal information size of {ois} "
                                                f"events (Schoenfeld, HR {q.benefit:g}, power 0.8)")
    return Domain("imprecision", "not serious", ci)


def _publication_bias(q: QuestionEvidence) -> Domain:
    if q.k < 10:
        return Domain("publication_bias", "not assessed", f"k = {q.k} < 10: small-study tests are not informative "
                                                          "(Cochrane Handbook 13.3.5.4)")
    if math.isfinite(q.egger_p) and q.egger_p < 0.10:
        return Domain("publication_bias", "serious", f"Egger's test p = {q.egger_p:.3f} < 0.10: funnel asymmetry")
    return Domain("publication_bias", "not serious", "no funnel asymmetry detected"
                  + (f" (Egger p = {q.egger_p:.2f})" if math.isfinite(q.egger_p) else ""))


def propose_certainty(q: QuestionEvidence) -> CertaintyProposal:
    """The product's proposal for each GRADE domain and the level it leads to."""
    start = "high" if q.randomized else "low"
    return CertaintyProposal(start, (_risk_of_bias(q), _inconsistency(q), _indirectness(q), _imprecision(q),
                                     _publication_bias(q)))


def apply_overrides(p: CertaintyProposal, overrides: dict[str, tuple[str, str]]) -> CertaintyProposal:
    """The proposal with reviewers' judgements ``{domain: (judgement, reason)}`` in place of the product's."""
    domains: list[Domain] = []
    for d in p.domains:
        if d.name in overrides:
            judgement, reason = overrides[d.name]
            if judgement not in JUDGEMENTS:
                raise ValueError(f"judgement {judgement!r}; must be one of {', '.join(JUDGEMENTS)}")
            domains.append(Domain(d.name, judgement, f"{reason} (reviewer; proposed: {d.judgement})"))
        else:
            domains.append(d)
    return CertaintyProposal(p.start, tuple(domains))


def weights_with_rob(weights: Sequence[float], judgements: Sequence[str | None]) -> tuple[StudyBias, ...]:
    """Pair pooled weights (percent) with RoB overall judgements, in study order."""
    return tuple(StudyBias(float(w), j) for w, j in zip(weights, judgements, strict=True))
