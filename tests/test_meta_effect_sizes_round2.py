"""meta.effect_sizes round 2 (issue 14): HR from a one-sided p, arbitrary SEs refused, log-rank O − E
and V; references by hand in R (tests/reference/make_reference_pool_round2.R)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from meta import effect_sizes as es
from tests.metafor_reference import assert_close, load_reference

REF = load_reference("metafor_pool_round2.json")["effect_sizes"]


def test_hr_from_one_sided_p_and_logrank_match_r() -> None:
    one = REF["HR_from_p_one_sided"]
    yi, vi = es.log_hr_from_p(one["hr"], one["p"], p_sided=one["p_sided"])
    assert_close(yi, one["yi"], "yi")
    assert_close(vi, one["vi"], "vi one-sided")
    two = es.log_hr_from_p(one["hr"], one["p"])[1]
    assert (two < vi).all()  # a one-sided p read as two-sided overstates z, so understates the SE
    lr = REF["logrank"]
    yi, vi = es.log_hr_from_logrank(lr["o_minus_e"], lr["v"])
    assert_close(yi, lr["yi"], "logrank yi")
    assert_close(vi, lr["vi"], "logrank vi")


def test_hr_from_p_refuses_arbitrary_se() -> None:
    """HR 0.99 at p = 0.95: rounding alone (HR 0.985–0.995) moves the SE between 0.08 and 0.24."""
    with pytest.raises(ValueError, match=r"hr\[1\] = 0.99, p_value\[1\] = 0.95: the SE derived from them is arbitrary"):
        es.log_hr_from_p([0.72, 0.99], [0.017, 0.95])
    assert es.se_uncertainty_from_p([0.99], [0.95])[0] > 0.5
    lo = abs(np.log(0.985)) / stats.norm.isf(0.95 / 2)
    hi = abs(np.log(0.995)) / stats.norm.isf(0.95 / 2)
    assert lo > 2.5 * hi  # the spread the refusal is about
    es.log_hr_from_p([0.99], [0.95], max_uncertainty=1.0)  # widening the bound is a deliberate choice


def test_hr_from_p_sided_validation() -> None:
    with pytest.raises(ValueError, match=r"p_sided\[0\] = 3: must be 1"):
        es.log_hr_from_p([0.7], [0.02], p_sided=3)
    with pytest.raises(ValueError, match=r"one-sided and >= 0\.5"):
        es.log_hr_from_p([0.7], [0.6], p_sided=1)
    with pytest.raises(ValueError, match="log-rank variance V must be > 0"):
        es.log_hr_from_logrank([1.0], [0.0])
    _, vi = es.log_hr_from_p([0.7, 0.7], [0.02, 0.01], p_sided=[2, 1])
    assert vi[0] == pytest.approx(vi[1])
