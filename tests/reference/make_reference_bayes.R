#!/usr/bin/env Rscript
# Regenerates tests/reference/bayes_reference.json: posterior quantities of the normal-normal
# random-effects model (flat prior on mu, half-normal / half-Cauchy prior on tau), computed
# independently of meta/bayes.py by R's adaptive integrate() and uniroot(), following Roever (2020,
# J Stat Softw 93(6), eq. 8: the marginal posterior of tau with mu integrated out).
# The bayesmeta package itself is not installable here (not in Debian); this is its method by hand.
#   cd tests/reference && Rscript make_reference_bayes.R
suppressMessages({ library(metafor); library(jsonlite) })
tol <- 1e-12

one <- function(yi, vi, prior = "halfnormal", scale = 0.5, level = 0.95, mu_mean = 0, mu_sd = NA) {
  # a normal prior N(mu_mean, mu_sd^2) on mu is one more observation of fixed variance (p0 = 0: flat)
  p0 <- if (is.na(mu_sd)) 0 else 1 / mu_sd^2
  lprior <- if (prior == "halfnormal") function(t) dnorm(t, 0, scale, log = TRUE) + log(2)
            else function(t) dcauchy(t, 0, scale, log = TRUE) + log(2)
  lpost <- function(t) sapply(t, function(x) {
    w <- 1 / (vi + x^2); sw <- sum(w) + p0; m <- (sum(w * yi) + p0 * mu_mean) / sw
    0.5 * sum(log(w)) - 0.5 * log(sw) - 0.5 * (sum(w * (yi - m)^2) + p0 * (mu_mean - m)^2) + lprior(x) })
  upper <- if (prior == "halfnormal") 40 * scale else Inf
  top <- optimize(lpost, c(0, 20 * scale), maximum = TRUE, tol = 1e-10)
  f <- function(t) exp(lpost(t) - top$objective)
  I <- function(g, a, b) integrate(g, a, b, rel.tol = tol, abs.tol = 0, subdivisions = 5000L)$value
  Z <- I(f, 0, top$maximum) + I(f, top$maximum, upper)
  Ftau <- function(x) if (x <= top$maximum) I(f, 0, x) / Z else (I(f, 0, top$maximum) + I(f, top$maximum, x)) / Z
  qtau <- function(q) uniroot(function(x) Ftau(x) - q, c(0, 30 * scale + 30 * sqrt(max(vi))), tol = tol)$root
  cmix <- function(x, pred) {
    g <- function(t) f(t) * sapply(t, function(s) {
      w <- 1 / (vi + s^2); sw <- sum(w) + p0; m <- (sum(w * yi) + p0 * mu_mean) / sw
      pnorm((x - m) / sqrt(1 / sw + pred * s^2)) })
    (I(g, 0, top$maximum) + I(g, top$maximum, upper)) / Z
  }
  span <- 20 * (max(abs(yi)) + sqrt(max(vi)) + 5 * scale)
  qmix <- function(q, pred) uniroot(function(x) cmix(x, pred) - q, c(-span, span), tol = tol)$root
  a <- (1 - level) / 2
  list(yi = yi, vi = vi, tau_prior = prior, tau_scale = scale, level = level, mu_prior_mean = mu_mean,
       mu_prior_sd = mu_sd,
       mu_median = qmix(0.5, 0), mu_lo = qmix(a, 0), mu_hi = qmix(1 - a, 0),
       tau_median = qtau(0.5), tau_lo = qtau(a), tau_hi = qtau(1 - a),
       pred_lo = qmix(a, 1), pred_hi = qmix(1 - a, 1))
}

crins <- escalc("OR", ai = c(4, 9, 16, 14, 3, 0), n1i = c(36, 54, 28, 61, 18, 50),
                ci = c(11, 29, 19, 15, 8, 3), n2i = c(36, 54, 28, 20, 12, 34))
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
cases <- list(
  k1 = one(0.3, 0.04),
  edge_k2 = one(c(-0.35, 0.12), c(0.04, 0.09)),
  bcg_k3 = one(c(bcg$yi[1:3]), c(bcg$vi[1:3])),
  sarcoma_like_k4 = one(log(c(0.72, 0.85, 0.64, 0.93)), ((log(c(0.91, 1.08, 0.88, 1.21)) - log(c(0.57, 0.67, 0.47, 0.71))) / (2 * qnorm(0.975)))^2),
  bcg = one(c(bcg$yi), c(bcg$vi)),
  bcg_k3_halfcauchy = one(c(bcg$yi[1:3]), c(bcg$vi[1:3]), prior = "halfcauchy", scale = 0.5),
  edge_k2_scale1_90 = one(c(-0.35, 0.12), c(0.04, 0.09), scale = 1, level = 0.9),
  # the two published bayesmeta examples (tests/test_meta_bayes_published.py), normal priors on mu
  schools_mu_prior = one(c(28.39, 7.94, -2.75, 6.82, -0.64, 0.63, 18.01, 12.16),
                         c(14.9, 10.2, 16.3, 11.0, 9.4, 11.4, 10.4, 17.6)^2,
                         prior = "halfcauchy", scale = 25, mu_sd = 50),
  crins_mu_prior = one(crins$yi, crins$vi, mu_sd = 4)
)
out <- list(source = list(R = R.version.string, date = format(Sys.Date()), script = "tests/reference/make_reference_bayes.R",
                          method = "integrate() over tau of the marginal posterior (Roever 2020 eq. 8), uniroot() for quantiles; rel.tol 1e-12"),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), na = "null", pretty = FALSE), "bayes_reference.json")
cat("wrote bayes_reference.json\n")
