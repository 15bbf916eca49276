#!/usr/bin/env Rscript
# Regenerates tests/reference/metafor_pool_round2.json: R references for the round-2 pool() options
# (common-effect model, t(k-2) prediction interval, k = 1 knha, Q-profile bound markers, REML/ML on a
# bimodal likelihood).   cd tests/reference && Rscript make_reference_pool_round2.R
suppressMessages({ library(metafor); library(jsonlite) })
ctrl <- list(threshold = 1e-10, maxiter = 1000)

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
nor <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
sets <- list(bcg = list(yi = c(bcg$yi), vi = c(bcg$vi)),
             bcg_k3 = list(yi = c(bcg$yi[1:3]), vi = c(bcg$vi[1:3])),
             bcg_k4 = list(yi = c(bcg$yi[4:7]), vi = c(bcg$vi[4:7])),
             normand1999 = list(yi = c(nor$yi), vi = c(nor$vi)),
             edge_k2 = list(yi = c(-0.35, 0.12), vi = c(0.04, 0.09)))

fe <- list()
for (nm in names(sets)) for (t in c("z", "knha")) {
  d <- sets[[nm]]
  r <- suppressWarnings(rma(d$yi, d$vi, method = "FE", test = t))
  fe[[paste0(nm, "_", t)]] <- list(data = nm, test = t, estimate = c(r$beta), se = r$se, stat = r$zval,
    pval = r$pval, ci_lb = r$ci.lb, ci_ub = r$ci.ub, tau2 = r$tau2, I2 = r$I2, H2 = r$H2, QE = r$QE,
    QEp = r$QEp, weights = unname(weights(r)))
}

# Higgins, Thompson & Spiegelhalter 2009 eq. 12 by hand: pred +/- qt(1 - a/2, k - 2) sqrt(se^2 + tau2)
pit <- list()
for (nm in c("bcg", "bcg_k3", "bcg_k4", "normand1999")) for (m in c("REML", "DL")) for (t in c("z", "knha", "adhoc")) {
  d <- sets[[nm]]; k <- length(d$yi)
  r <- rma(d$yi, d$vi, method = m, test = t, control = ctrl)
  h <- qt(0.975, k - 2) * sqrt(r$se^2 + r$tau2)
  pit[[paste0(nm, "_", m, "_", t)]] <- list(data = nm, method = m, test = t,
    pi_lb = c(r$beta) - h, pi_ub = c(r$beta) + h, se = r$se, ci_lb = r$ci.lb)
}

k1 <- suppressWarnings(rma(0.3, 0.04, test = "knha"))
k1ref <- list(yi = 0.3, vi = 0.04, test_used = k1$test, se = k1$se, ci_lb = k1$ci.lb, ci_ub = k1$ci.ub, pval = k1$pval)

signs <- list()
sgn <- function(nm, yi, vi) {
  r <- rma(yi, vi, method = "REML", control = ctrl)
  ci <- confint(r, control = list(tol = 1e-12))
  signs[[nm]] <<- list(yi = yi, vi = vi, tau2 = r$tau2, ci_lb = ci$random["tau^2", 2], ci_ub = ci$random["tau^2", 3],
                       lb_sign = ci$lb.sign, ub_sign = ci$ub.sign,
                       printed = capture.output(print(ci))[3])
}
sgn("homogeneous", c(0.10, 0.12, 0.09, 0.11, 0.10), c(0.04, 0.05, 0.03, 0.06, 0.04))
sgn("extreme", c(-5, 3, 10, -8, 6), c(0.001, 0.002, 0.001, 0.003, 0.002))
sgn("bcg", c(bcg$yi), c(bcg$vi))
sgn("k2_wide", c(-1, 2), c(0.01, 0.01))

# Bimodal likelihood: dat.egger2001 (log OR) without study 14 (as a leave-one-out refit). Fisher
# scoring from the HE start stops at tau2 = 0, a local maximum; the global maximum is found here by
# a grid over the profile logLik(rma(tau2 = t)) and optimize() around its best point.
egg <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
yi <- c(egg$yi[-14]); vi <- c(egg$vi[-14])
bim <- list(yi = yi, vi = vi, description = "escalc('OR', ai, n1i, ci, n2i, data=dat.egger2001)[-14, ]")
for (m in c("ML", "REML")) {
  loc <- suppressWarnings(rma(yi, vi, method = m, control = ctrl))
  prof <- function(t) c(logLik(rma(yi, vi, method = m, tau2 = t)))
  grid <- c(0, 10^seq(-6, 2, length.out = 400))
  ll <- sapply(grid, prof)
  j <- which.max(ll)
  opt <- optimize(prof, interval = c(grid[max(1, j - 1)], grid[min(length(grid), j + 1)]), maximum = TRUE, tol = 1e-12)
  glob <- rma(yi, vi, method = m, tau2 = opt$maximum)
  bim[[m]] <- list(local_tau2 = loc$tau2, local_ll = c(logLik(loc)), tau2 = opt$maximum, ll = opt$objective,
                   estimate = c(glob$beta), se = glob$se)
}

# Effect sizes by hand (metafor has no measure for these): HR from a one-sided p (z = qnorm(1 - p))
# and Peto's O - E, V (log HR = (O - E)/V, var = 1/V; Tierney et al. 2007).
hr1 <- c(0.72, 0.80, 1.30); p1 <- c(0.0085, 0.02, 0.045)
oe <- c(-12.5, -3.2, 7.9); vv <- c(50, 21.4, 33.3)
es <- list(HR_from_p_one_sided = list(hr = hr1, p = p1, p_sided = 1, yi = log(hr1),
                                      vi = (log(hr1) / qnorm(p1, lower.tail = FALSE))^2),
           logrank = list(o_minus_e = oe, v = vv, yi = oe / vv, vi = 1 / vv))

out <- list(source = list(metafor = as.character(packageVersion("metafor")), R = R.version.string,
                          date = format(Sys.Date()), script = "tests/reference/make_reference_pool_round2.R",
                          calls = c("rma(yi, vi, method='FE', test=)", "pred +/- qt(0.975, k-2)*sqrt(se^2 + tau2) from rma(method=, test=)",
                                    "rma(0.3, 0.04, test='knha')", "confint(rma(REML))$lb.sign/ub.sign",
                                    "optimize(logLik(rma(yi, vi, method=, tau2=t))) after a 400-point grid")),
            fe = fe, pi_t = pit, effect_sizes = es, k1_knha = k1ref, tau2_ci_signs = signs, bimodal = bim)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), na = "null", pretty = FALSE), "metafor_pool_round2.json")
cat("wrote metafor_pool_round2.json\n")
