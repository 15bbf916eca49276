"""meta.effect_sizes against metafor escalc (tests/reference/metafor_pool.json).

Tolerance: |ours − metafor| <= 1e-10 × max(1, |metafor|) (both are closed-form arithmetic).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from meta import effect_sizes as es

ES = json.loads((Path(__file__).parent / "reference" / "metafor_pool.json").read_text())["escalc"]
TOL = 1e-10


def assert_close(ours: np.ndarray, ref: list[float]) -> None:
    r = np.asarray(ref, dtype=float)
    assert ours.shape == r.shape
    assert np.all(np.abs(ours - r) <= TOL * np.maximum(1.0, np.abs(r))), np.max(np.abs(ours - r))


COUNTS = {"OR": es.log_or_from_counts, "RR": es.log_rr_from_counts, "RD": es.rd_from_counts}


@pytest.mark.parametrize("name", [n for n in ES if n.split("_")[0] in COUNTS])
def test_two_by_two_matches_escalc(name: str) -> None:
    ref = ES[name]
    yi, vi = COUNTS[name.split("_")[0]](ref["ai"], ref["n1i"], ref["ci"], ref["n2i"])
    assert_close(yi, ref["yi"])
    assert_close(vi, ref["vi"])


PROPS = {"PLO": es.prop_logit, "PFT": es.prop_ft, "PAS": es.prop_arcsine, "PR": es.prop_raw}


@pytest.mark.parametrize("measure", list(PROPS))
def test_proportions_match_escalc(measure: str) -> None:
    ref = ES[measure]
    yi, vi = PROPS[measure](ref["xi"], ref["ni"])
    assert_close(yi, ref["yi"])
    assert_close(vi, ref["vi"])


@pytest.mark.parametrize("name", ["HR_from_ci_95", "HR_from_ci_90"])
def test_hr_from_ci(name: str) -> None:
    ref = ES[name]
    yi, vi = es.log_hr_from_ci(ref["hr"], ref["ci_low"], ref["ci_high"], level=ref["level"])
    assert_close(yi, ref["yi"])
    assert_close(vi, ref["vi"])
    yi2, vi2 = es.log_ratio_from_ci(ref["hr"], ref["ci_low"], ref["ci_high"], level=ref["level"], name="OR")
    assert_close(yi2, ref["yi"])
    assert_close(vi2, ref["vi"])


def test_hr_from_p() -> None:
    ref = ES["HR_from_p"]
    yi, vi = es.log_hr_from_p(ref["hr"], ref["p"])
    assert_close(yi, ref["yi"])
    assert_close(vi, ref["vi"])


def test_pft_back_transform_harmonic_mean() -> None:
    ref = ES["PFT_backtransform"]
    p = es.back_transform_pft(ref["x"], es.harmonic_mean(ref["ni"]))
    assert_close(p, ref["p"])


def test_pft_back_transform_clamps_to_unit_interval() -> None:
    assert es.back_transform_pft([-0.1, 2.0], 30.0).tolist() == [0.0, 1.0]


def test_var_from_ci_symmetric() -> None:
    v = es.var_from_ci([1.0, -0.5], [3.0, 0.5], level=0.95)
    z = 1.959963984540054
    assert np.allclose(v, [(2 / (2 * z)) ** 2, (1 / (2 * z)) ** 2], rtol=1e-12)


def test_continuity_correction_only_for_zero_cell_studies() -> None:
    yi, vi = es.log_or_from_counts([0, 2], [10, 10], [3, 3], [10, 10])
    assert yi[0] == pytest.approx(np.log((0.5 * 7.5) / (10.5 * 3.5)))
    assert yi[1] == pytest.approx(np.log((2 * 7) / (8 * 3)))
    assert vi[1] == pytest.approx(1 / 2 + 1 / 8 + 1 / 3 + 1 / 7)


def test_logit_back_transform() -> None:
    assert es.back_transform_logit([0.0, np.log(3.0)]).tolist() == pytest.approx([0.5, 0.75])
