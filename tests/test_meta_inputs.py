"""Bad input to meta/ raises a ValueError whose message names the problem and the index."""

from __future__ import annotations

import re

import numpy as np
import pytest

from meta import effect_sizes as es
from meta import pool, pool_many, pool_table


@pytest.mark.parametrize(
    ("yi", "vi", "message"),
    [
        ([0.1, 0.2, 0.3, 0.4], [0.1, 0.1, 0.1, -0.2], "vi[3] = -0.2: sampling variances must be > 0"),
        ([0.1, 0.2], [0.1, 0.0], "vi[1] = 0: sampling variances must be > 0"),
        ([0.1, float("nan")], [0.1, 0.1], "yi[1] = nan: values must be finite (no NaN or inf)"),
        ([0.1, 0.2], [0.1, float("inf")], "vi[1] = inf: values must be finite (no NaN or inf)"),
        ([0.1, 0.2, 0.3], [0.1, 0.1], "Inputs must have equal lengths; got len(yi) = 3, len(vi) = 2"),
        ([], [], "k = 0: at least one study is needed (yi and vi are empty)"),
        ([[0.1, 0.2]], [[0.1, 0.2]], "yi must be 1-D; got an array of shape (1, 2)"),
        (["a"], [0.1], "yi must be numeric"),
    ],
)
def test_pool_rejects_bad_data(yi: list, vi: list, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        pool(yi, vi)


def test_invalid_method_and_test() -> None:
    msg = "Invalid method 'XX'; must be one of FE, DL, REML, ML, PM, HE, SJ, HS, EB"
    with pytest.raises(ValueError, match=re.escape(msg)):
        pool([0.1, 0.2], [0.1, 0.1], method="XX")
    with pytest.raises(ValueError, match=re.escape("Invalid test 't'; must be one of z, knha, adhoc")):
        pool([0.1, 0.2], [0.1, 0.1], test="t")
    with pytest.raises(ValueError, match=re.escape("Invalid method 'reml'")):
        pool([0.1, 0.2], [0.1, 0.1], method="reml")
    with pytest.raises(ValueError, match=re.escape("Invalid pi 'normal'; must be one of t, z")):
        pool([0.1, 0.2], [0.1, 0.1], pi="normal")


@pytest.mark.parametrize("level", [95, 0, 1.0, "high"])
def test_invalid_level(level: object) -> None:
    with pytest.raises(ValueError, match="Invalid level"):
        pool([0.1, 0.2], [0.1, 0.1], level=level)  # type: ignore[arg-type]


def test_pool_many_rejects_bad_cells() -> None:
    Y, V = np.zeros((2, 3)), np.ones((2, 3))
    M = np.array([[True, True, True], [False, False, False]])
    with pytest.raises(ValueError, match=re.escape("cell 1 has k = 0")):
        pool_many(Y, V, M)
    V[0, 2] = -1.0
    M[1, 0] = True
    with pytest.raises(ValueError, match=re.escape("V[0, 2] = -1: sampling variances must be > 0")):
        pool_many(Y, V, M)
    with pytest.raises(ValueError, match="must be 2-D of equal shape"):
        pool_many(Y, V[:, :2], M)


def test_pool_many_ignores_padding_values() -> None:
    Y = np.array([[0.1, 0.3, np.nan]])
    V = np.array([[0.01, 0.02, -5.0]])
    M = np.array([[True, True, False]])
    r = pool_many(Y, V, M, method="DL")
    assert r.k.tolist() == [2] and np.isfinite(r.estimate).all()


@pytest.mark.parametrize(
    ("hr", "lo", "hi", "message"),
    [
        ([0.7, -0.1], [0.5, 0.05], [0.9, 0.2], "hr[1] = -0.1: a hr and its CI bounds must be > 0"),
        ([0.7, 0.0], [0.5, 0.05], [0.9, 0.2], "hr[1] = 0: a hr and its CI bounds must be > 0"),
        ([0.7], [0.0], [0.9], "ci_low[0] = 0: a hr and its CI bounds must be > 0"),
        ([0.7], [0.9], [0.5], "ci_low[0] = 0.9 >= ci_high[0] = 0.5: a CI needs ci_low < ci_high"),
        ([0.7, 0.4], [0.5, 0.5], [0.9, 0.9], "hr[1] = 0.4 lies outside its CI [0.5, 0.9]"),
        ([1.2], [0.5], [0.9], "hr[0] = 1.2 lies outside its CI [0.5, 0.9]"),
        ([0.7, 0.8], [0.5], [0.9], "Inputs must have equal lengths"),
    ],
)
def test_hr_from_ci_rejects(hr: list, lo: list, hi: list, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        es.log_hr_from_ci(hr, lo, hi)


def test_hr_from_ci_level() -> None:
    with pytest.raises(ValueError, match="Invalid level"):
        es.log_hr_from_ci([0.7], [0.5], [0.9], level=95)


def test_hr_from_p_rejects() -> None:
    with pytest.raises(ValueError, match=re.escape("p_value[0] = 0: a two-sided p value must lie in (0, 1)")):
        es.log_hr_from_p([0.7], [0.0])
    with pytest.raises(ValueError, match=re.escape("hr[0] = 1: the variance cannot be derived")):
        es.log_hr_from_p([1.0], [0.5])
    with pytest.raises(ValueError, match=re.escape("hr[0] = -1: a hazard ratio must be > 0")):
        es.log_hr_from_p([-1.0], [0.5])


def test_counts_rejected() -> None:
    with pytest.raises(ValueError, match=re.escape("ai[0] = 12, n1i[0] = 10: need 0 <= events <= n and n > 0")):
        es.log_or_from_counts([12], [10], [1], [10])
    with pytest.raises(ValueError, match=re.escape("ci[0] = -1: counts must be >= 0")):
        es.log_rr_from_counts([1], [10], [-1], [10])
    with pytest.raises(ValueError, match=re.escape("xi[1] = 6, ni[1] = 5: need 0 <= xi <= ni and ni > 0")):
        es.prop_logit([1, 6], [5, 5])
    with pytest.raises(ValueError, match=re.escape("ci_low[0] = 2 >= ci_high[0] = 1")):
        es.var_from_ci([2.0], [1.0])


def test_pool_table_rejects_bad_arguments() -> None:
    rec = {"record_id": "a", "measure": "HR", "value": 0.7, "ci_low": 0.5, "ci_high": 0.9}
    with pytest.raises(ValueError, match=re.escape("Invalid method 'XX'")):
        pool_table([rec], method="XX")
    with pytest.raises(ValueError, match=re.escape("Invalid grouping key 'colour'")):
        pool_table([rec], by=("colour",))
    with pytest.raises(ValueError, match="rollup=True needs 'histotype' in by and a parents mapping"):
        pool_table([rec], rollup=True)
    with pytest.raises(ValueError, match=re.escape("records lack the required field 'value'")):
        pool_table([{"record_id": "a", "measure": "HR"}])
