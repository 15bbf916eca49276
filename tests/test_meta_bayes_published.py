"""meta.bayes_pool against the published output of the bayesmeta R package (Röver 2020, J Stat Softw
93(6), and the package vignette): the eight-schools example (half-Cauchy(25) prior on τ, N(0, 50²) on μ)
and the Crins et al. (2014) paediatric transplant example (half-normal(0.5) on τ, N(0, 4²) on μ).

bayesmeta integrates the marginal posterior of τ exactly (R's integrate()), so every τ figure must
agree to the printed digits. Its μ and predictive figures come from its DIRECT mixture approximation
(a finite grid in τ chosen to a Kullback–Leibler divergence of delta = 0.01 per step, Röver 2020 Sec.
3.4); ours are exact quadrature (checked to 1e-6 against an independent R integration in
tests/test_meta_bayes.py), so those must agree within a small share of the posterior SD (0.005 SD:
bayesmeta's approximation error on these examples is 0.0005–0.0025 SD).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from meta import bayes_pool
from meta.bayes import _posterior

PUBLISHED = json.loads((Path(__file__).parent / "reference" / "bayesmeta_published.json").read_text())["examples"]


def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    ex = PUBLISHED[name]
    if "yi" in ex:
        return np.asarray(ex["yi"], float), np.asarray(ex["sei"], float) ** 2
    a, c = np.asarray(ex["events_treated"], float), np.asarray(ex["events_control"], float)
    b, d = np.asarray(ex["n_treated"], float) - a, np.asarray(ex["n_control"], float) - c
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)  # metafor escalc(): add 1/2 to such a study's cells
    a, b, c, d = (x + 0.5 * zero for x in (a, b, c, d))
    return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d


def _fit(name: str, interval: str):
    ex = PUBLISHED[name]
    yi, vi = _data(name)
    return bayes_pool(yi, vi, tau_prior=ex["tau_prior"], tau_scale=ex["tau_scale"], mu_prior_mean=ex["mu_prior_mean"],
                      mu_prior_sd=ex["mu_prior_sd"], interval=interval)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_tau_posterior_matches_bayesmeta_to_the_printed_digits(name: str) -> None:
    pub = PUBLISHED[name]["tau"]
    r = _fit(name, "shortest")
    assert r.tau_median == pytest.approx(pub["median"], abs=1e-6)
    assert r.tau_mean == pytest.approx(pub["mean"], abs=1e-6)
    assert r.tau_sd == pytest.approx(pub["sd"], abs=1e-6)
    tol = pub.get("interval_abs_tol", 1e-6)  # see the example's "interval_note"
    assert (r.tau_ci_low, r.tau_ci_high) == pytest.approx(tuple(pub["shortest"]), abs=tol)
    if "central" in pub:
        c = _fit(name, "central")
        assert (c.tau_ci_low, c.tau_ci_high) == pytest.approx(tuple(pub["central"]), abs=1e-6)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_mu_and_predictive_match_bayesmeta_within_its_mixture_approximation(name: str) -> None:
    ex = PUBLISHED[name]
    r = _fit(name, "shortest")
    tol = 0.005 * ex["mu"]["sd"]
    assert r.estimate == pytest.approx(ex["mu"]["median"], abs=tol)
    assert r.mean == pytest.approx(ex["mu"]["mean"], abs=tol)
    assert r.sd == pytest.approx(ex["mu"]["sd"], abs=tol)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(ex["mu"]["shortest"]), abs=tol)
    theta = ex["theta"]
    sd_theta = theta.get("sd", (r.pi_high - r.pi_low) / 3.92)
    tol_theta = 0.005 * sd_theta + (0.5 * 10 ** -theta["printed_digits"] if "printed_digits" in theta else 0.0)
    assert (r.pi_low, r.pi_high) == pytest.approx(tuple(theta["shortest"]), abs=tol_theta)
    assert "normal(0, sd" in str(r) and "shortest intervals" in str(r)


def test_shortest_interval_is_shorter_than_central_with_equal_density_at_its_ends() -> None:
    yi, vi = _data("crins")
    s, c = _fit("crins", "shortest"), _fit("crins", "central")
    assert s.ci_high - s.ci_low <= c.ci_high - c.ci_low + 1e-9
    post = _posterior(yi[None, :], vi[None, :], "halfnormal", 0.5, 0.0, 1 / 4**2)
    pdf = lambda x: float((post.p * stats.norm.pdf(x, post.mu, np.sqrt(post.s2))).sum())  # noqa: E731
    assert pdf(s.ci_low) == pytest.approx(pdf(s.ci_high), rel=1e-4)  # highest-density interval of μ
    assert pdf(c.ci_low) != pytest.approx(pdf(c.ci_high), rel=1e-2)  # the central one is not
    assert s.tau_ci_low == 0.0 < c.tau_ci_low  # the τ posterior is highest near 0: the interval starts there
    assert s.tau_ci_high - s.tau_ci_low < c.tau_ci_high - c.tau_ci_low
    # central and shortest agree on the point summaries
    assert (s.estimate, s.tau_median, s.mean) == (c.estimate, c.tau_median, c.mean)


def test_a_normal_prior_on_mu_pulls_towards_its_mean_and_bad_priors_are_refused() -> None:
    yi, vi = _data("crins")
    flat = bayes_pool(yi, vi)
    vague = bayes_pool(yi, vi, mu_prior_sd=4)
    tight = bayes_pool(yi, vi, mu_prior_sd=0.2)
    assert flat.estimate < vague.estimate < tight.estimate < 0  # pulled towards the prior mean 0
    assert abs(vague.estimate - flat.estimate) < 0.05 * flat.sd  # sd 4 is vague on the log-OR scale
    assert "flat prior on mu" in str(flat)
    with pytest.raises(ValueError, match="Invalid mu prior"):
        bayes_pool(yi, vi, mu_prior_sd=0)
    with pytest.raises(ValueError, match="Invalid interval 'hpd'"):
        bayes_pool(yi, vi, interval="hpd")
