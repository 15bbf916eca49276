"""meta.few_study_model: the few-study defaults (Cochrane Handbook, IntHout et al. 2014), and that
pool() run with them gives what the label says."""

from __future__ import annotations

import math

import pytest

from meta import few_study_model, pool
from tests.metafor_reference import load_reference

BCG = load_reference("metafor_pool.json")["datasets"]["bcg"]


def test_k1_is_not_pooled() -> None:
    m = few_study_model(1)
    assert (m.pooled, m.model) == (False, "none") and "k = 1" in m.label


def test_k2_common_effect_labelled_no_random_effects_pool() -> None:
    m = few_study_model(2)
    assert (m.pooled, m.model, m.method) == (False, "FE", "FE")
    assert "k = 2" in m.label and "common-effect" in m.label
    res = pool(BCG["yi"][:2], BCG["vi"][:2], method=m.method, test=m.test, pi=m.pi)
    assert math.isnan(res.pi_low) and res.tau2 == 0.0
    assert few_study_model(2, bayes=True).model == "bayes"


@pytest.mark.parametrize("k", [3, 4])
def test_k3_4_reml_hksj_adhoc_or_bayes(k: int) -> None:
    m = few_study_model(k)
    assert (m.model, m.method, m.test, m.pi) == ("RE", "REML", "adhoc", "t")
    assert f"k = {k}" in m.label
    assert few_study_model(k, bayes=True).model == "bayes"
    res = pool(BCG["yi"][:k], BCG["vi"][:k], method=m.method, test=m.test, pi=m.pi)
    z = pool(BCG["yi"][:k], BCG["vi"][:k])
    assert res.ci_high - res.ci_low >= z.ci_high - z.ci_low  # never narrower than z


@pytest.mark.parametrize("k", [5, 13, 200])
def test_k5_plus_reml_hksj_t_pi(k: int) -> None:
    m = few_study_model(k)
    assert (m.model, m.method, m.test, m.pi) == ("RE", "REML", "adhoc", "t")
    assert "HKSJ" in m.label and f"k = {k}" in m.label
    assert few_study_model(k, bayes=True).model == "RE"  # the frequentist default stays


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_invalid_k(bad: object) -> None:
    with pytest.raises(ValueError, match="Invalid k"):
        few_study_model(bad)  # type: ignore[arg-type]
