"""Few-study defaults: which model to pool k studies with, and the warning for small-study tests.

Sarcoma cells typically hold 2 to 5 trials, where the usual random-effects defaults mislead: a
DerSimonian–Laird or REML z interval is far too narrow (IntHout, Ioannidis & Borm 2014, BMC Med Res
Methodol 14:25), τ² is barely estimable, and small-study tests have no power (Cochrane Handbook
v6.4, §13.3.5.4: not below 10 studies). :func:`few_study_model` states the default per k, and the
pooling plan, the CLI and the dashboard call it so that all three give one answer:

- k = 1: nothing to pool (the study itself).
- k = 2: no random-effects pool by default: the forest plot and a labelled common-effect estimate
  (``method="FE"``); with ``bayes=True`` the Bayesian half-normal(0.5) pool (:func:`meta.bayes_pool`).
- k = 3–4: REML with HKSJ and its ad hoc floor (``test="adhoc"``; Röver, Knapp & Friede 2015,
  BMC Med Res Methodol 15:99), or the Bayesian pool with ``bayes=True``; the t(k − 2) PI.
- k >= 5: REML + HKSJ (ad hoc floor applied, and noted, only when Q(τ̂²) < k − 1) + t(k − 2) PI
  (IntHout et al. 2014; Higgins, Thompson & Spiegelhalter 2009).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

__all__ = [
    "MIN_STUDIES_SMALL_STUDY_TESTS",
    "FewStudiesWarning",
    "FewStudyModel",
    "few_study_model",
    "warn_few_studies",
]

#: Cochrane Handbook v6.4 §13.3.5.4: tests for funnel-plot asymmetry only with at least 10 studies.
MIN_STUDIES_SMALL_STUDY_TESTS = 10


class FewStudiesWarning(UserWarning):
    """A method was run on fewer studies than it needs to mean anything (the number is still returned)."""


def warn_few_studies(what: str, k: int, stacklevel: int = 3) -> None:
    """Warn (:class:`FewStudiesWarning`) when a small-study test runs on k < 10 studies."""
    if k < MIN_STUDIES_SMALL_STUDY_TESTS:
        warnings.warn(
            f"{what} on k = {k} studies: funnel-plot asymmetry tests need at least "
            f"{MIN_STUDIES_SMALL_STUDY_TESTS} (Cochrane Handbook §13.3.5.4); the result has little power "
            "and should not be reported as a test of bias",
            FewStudiesWarning, stacklevel=stacklevel,
        )  # fmt: skip


@dataclass(frozen=True)
class FewStudyModel:
    """The default analysis for a cell of k studies.

    Attributes
    ----------
    k : int
    pooled : bool
        False when no pooled random-effects estimate is shown by default (k <= 2).
    model : {"none", "FE", "RE", "bayes"}
        "none" (k = 1), "FE" the labelled common-effect estimate, "RE" ``pool(method, test, pi)``,
        "bayes" :func:`meta.bayes_pool` with a half-normal(0.5) prior on τ.
    method, test, pi : str
        Arguments for :func:`meta.pool` (empty for "none" and "bayes").
    label : str
        What to print beside the estimate (always carries k).
    reason : str
        The rule and its source, in one sentence.
    """

    k: int
    pooled: bool
    model: str
    method: str
    test: str
    pi: str
    label: str
    reason: str


def few_study_model(k: int, *, bayes: bool = False) -> FewStudyModel:
    """The few-study default for ``k`` studies (see the module docstring and README "Few studies").

    Parameters
    ----------
    k : int
        Number of studies in the cell (>= 1).
    bayes : bool
        The user asked for the Bayesian half-normal(0.5) pool (k = 2–4; for k >= 5 the frequentist
        default stays, and the Bayesian pool can be shown beside it).

    Examples
    --------
    >>> few_study_model(2).model, few_study_model(2).pooled
    ('FE', False)
    >>> m = few_study_model(4); (m.method, m.test, m.pi)
    ('REML', 'adhoc', 't')
    >>> few_study_model(3, bayes=True).model
    'bayes'
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"Invalid k {k!r}; must be an integer >= 1")
    if k == 1:
        return FewStudyModel(1, False, "none", "", "", "", "single study (k = 1): not pooled",
                             "one study: nothing to pool")
    if bayes and k <= 4:
        return FewStudyModel(
            k, True, "bayes", "", "", "",
            f"Bayesian random effects, half-normal(0.5) prior on tau (k = {k})",
            "few studies: τ is weakly identified, so a weakly informative prior is used "
            "(Friede et al. 2017, Res Synth Methods 8:79; Röver et al. 2021, Res Synth Methods 12:448)",
        )  # fmt: skip
    if k == 2:
        return FewStudyModel(
            2, False, "FE", "FE", "z", "t", "common-effect estimate (k = 2; no random-effects pool)",
            "k = 2: τ² cannot be estimated and HKSJ/t intervals are uninformative, so the forest plot and a "
            "labelled common-effect estimate are shown (Cochrane Handbook §10.10.4.1; IntHout et al. 2014)",
        )  # fmt: skip
    if k <= 4:
        return FewStudyModel(
            k, True, "RE", "REML", "adhoc", "t", f"random effects, REML + HKSJ (ad hoc floor), t PI (k = {k})",
            "k = 3–4: the z interval is far too narrow; HKSJ with the ad hoc floor keeps coverage "
            "(IntHout et al. 2014; Röver, Knapp & Friede 2015)",
        )  # fmt: skip
    return FewStudyModel(
        k, True, "RE", "REML", "adhoc", "t", f"random effects, REML + HKSJ, t PI (k = {k})",
        "k >= 5: REML with the Hartung–Knapp–Sidik–Jonkman CI (floored at the z-based width when "
        "Q(τ̂²) < k − 1, and noted) and the t(k − 2) prediction interval (IntHout et al. 2014; Higgins et al. 2009)",
    )  # fmt: skip
