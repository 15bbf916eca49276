"""meta.bayes_pool: against an independent R quadrature (tests/reference/make_reference_bayes.R:
integrate()/uniroot() over the marginal posterior of τ, Röver 2020 eq. 8) to 1e-6, and against a
brute-force 2-D grid over (μ, τ) of the unnormalised joint posterior (no analytic step at all)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from meta import bayes_pool
from tests.metafor_reference import assert_close, load_reference

CASES = load_reference("bayes_reference.json")["cases"]
FIELDS = {"estimate": "mu_median", "ci_low": "mu_lo", "ci_high": "mu_hi", "tau_median": "tau_median",
          "tau_ci_low": "tau_lo", "tau_ci_high": "tau_hi", "pi_low": "pred_lo", "pi_high": "pred_hi"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_bayes_pool_matches_r_quadrature(name: str) -> None:
    c = CASES[name]
    r = bayes_pool(np.atleast_1d(c["yi"]), np.atleast_1d(c["vi"]), tau_prior=c["tau_prior"],
                   tau_scale=c["tau_scale"], level=c["level"], mu_prior_mean=c.get("mu_prior_mean", 0.0),
                   mu_prior_sd=c.get("mu_prior_sd"))  # fmt: skip
    for ours, theirs in FIELDS.items():
        assert_close(getattr(r, ours), c[theirs], f"{name} {ours}")
    assert r.ci_low < r.estimate < r.ci_high and r.pi_low < r.ci_low and r.ci_high < r.pi_high
    assert f"k = {r.k}" in str(r)


def _grid_posterior(y: np.ndarray, v: np.ndarray, scale: float) -> dict[str, float]:
    """Joint posterior on a fine (μ, τ) grid, flat prior on μ, half-normal(scale) on τ."""
    mu = np.linspace(-3.0, 3.0, 2001)
    tau = np.linspace(0.0, 8 * scale, 1201)[1:] - 0.5 * 8 * scale / 1200  # midpoints
    M, T = np.meshgrid(mu, tau, indexing="ij")
    logp = stats.halfnorm.logpdf(T, scale=scale)
    for yi, vi in zip(y, v, strict=True):
        logp = logp + stats.norm.logpdf(yi, M, np.sqrt(vi + T**2))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    pm, pt = p.sum(axis=1), p.sum(axis=0)
    cm, ct = np.cumsum(pm), np.cumsum(pt)
    return {"estimate": float(np.interp(0.5, cm, mu)), "tau_median": float(np.interp(0.5, ct, tau)),
            "mean": float((pm * mu).sum()), "ci_low": float(np.interp(0.025, cm, mu)),
            "ci_high": float(np.interp(0.975, cm, mu))}  # fmt: skip


@pytest.mark.parametrize("name", ["edge_k2", "bcg_k3", "sarcoma_like_k4"])
def test_bayes_pool_matches_brute_force_grid(name: str) -> None:
    c = CASES[name]
    y, v = np.asarray(c["yi"]), np.asarray(c["vi"])
    g = _grid_posterior(y, v, 0.5)
    r = bayes_pool(y, v)
    for f, val in g.items():
        assert getattr(r, f) == pytest.approx(val, abs=4e-3), f  # the grid's own resolution


def test_prior_matters_with_few_studies_and_input_checks() -> None:
    c = CASES["edge_k2"]
    narrow = bayes_pool(c["yi"], c["vi"], tau_scale=0.1)
    wide = bayes_pool(c["yi"], c["vi"], tau_scale=1.0)
    assert narrow.ci_high - narrow.ci_low < wide.ci_high - wide.ci_low
    assert math.isfinite(bayes_pool([0.3], [0.04]).pi_high)  # k = 1 is defined with a proper prior on τ
    with pytest.raises(ValueError, match="Invalid tau_prior 'flat'"):
        bayes_pool(c["yi"], c["vi"], tau_prior="flat")
    with pytest.raises(ValueError, match="Invalid tau_scale"):
        bayes_pool(c["yi"], c["vi"], tau_scale=0)
    with pytest.raises(ValueError, match="sampling variances must be > 0"):
        bayes_pool([0.1, 0.2], [0.1, 0.0])
    assert bayes_pool(c["yi"], c["vi"]).exp()[0] == pytest.approx(math.exp(bayes_pool(c["yi"], c["vi"]).estimate))
