#!/usr/bin/env Rscript
# Regenerates tests/reference/metafor_pool.json: reference values from R metafor for meta/ tests.
#   cd tests/reference && Rscript make_reference_pool.R
# Needs metafor (>= 3.8) with metadat, and jsonlite. The Python tests read the JSON only (no R).
suppressMessages({ library(metafor); library(jsonlite) })

methods <- c("DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB")
tests <- c("z", "knha", "adhoc")

fit_call <- function(method, test) {
  ctrl <- if (method %in% c("ML", "REML", "EB")) "control=list(threshold=1e-10, maxiter=1000)"
          else if (method == "PM") "control=list(tol=1e-12)" else NULL
  paste0("rma(yi, vi, method=\"", method, "\", test=\"", test, "\"",
         if (is.null(ctrl)) "" else paste0(", ", ctrl), ")")
}

one_fit <- function(yi, vi, method, test) {
  ctrl <- if (method %in% c("ML", "REML", "EB")) list(threshold = 1e-10, maxiter = 1000)
          else if (method == "PM") list(tol = 1e-12) else list()
  res <- tryCatch(rma(yi, vi, method = method, test = test, control = ctrl),
                  error = function(e) e)
  if (inherits(res, "error")) return(list(error = conditionMessage(res)))
  pr <- predict(res)
  ci <- tryCatch(confint(res, control = list(tol = 1e-12))$random["tau^2", ],
                 error = function(e) c(NA, NA, NA))
  list(estimate = c(res$beta), se = res$se, stat = res$zval, pval = res$pval,
       ci_lb = res$ci.lb, ci_ub = res$ci.ub, tau2 = res$tau2, I2 = res$I2, H2 = res$H2,
       QE = res$QE, QEp = res$QEp, pi_lb = pr$pi.lb, pi_ub = pr$pi.ub,
       tau2_ci_lb = unname(ci[2]), tau2_ci_ub = unname(ci[3]),
       weights = unname(weights(res)))
}

datasets <- list()
add <- function(name, yi, vi, description) {
  ok <- !is.na(yi) & !is.na(vi)
  yi <- c(yi[ok]); vi <- c(vi[ok])
  results <- list()
  for (m in methods) for (t in tests) results[[paste0(m, "_", t)]] <- one_fit(yi, vi, m, t)
  datasets[[name]] <<- list(description = description, yi = yi, vi = vi, results = results)
}

d <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add("bcg", d$yi, d$vi, "dat.bcg: escalc(\"RR\", ai=tpos, bi=tneg, ci=cpos, di=cneg)")
d <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
add("normand1999", d$yi, d$vi, "dat.normand1999: escalc(\"MD\", ...) (length of stay, days)")
add("hackshaw1998", dat.hackshaw1998$yi, dat.hackshaw1998$vi, "dat.hackshaw1998: yi, vi as bundled (log OR)")
d <- escalc("PLO", xi = xi, ni = ni, data = dat.pritz1997)
add("pritz1997", d$yi, d$vi, "dat.pritz1997: escalc(\"PLO\", xi=xi, ni=ni)")
d <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.yusuf1985, subset = (table == "6"))
add("yusuf1985_t6", d$yi, d$vi, "dat.yusuf1985 table 6: escalc(\"OR\", ai, n1i, ci, n2i), incomplete rows dropped")
add("raudenbush1985", dat.raudenbush1985$yi, dat.raudenbush1985$vi, "dat.raudenbush1985: yi, vi as bundled (SMD)")
d <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add("molloy2014", d$yi, d$vi, "dat.molloy2014: escalc(\"ZCOR\", ri=ri, ni=ni)")
d <- escalc("RR", ai = pre.xti, n1i = pre.nti, ci = pre.xci, n2i = pre.nci, data = dat.collins1985b)
add("collins1985b", d$yi, d$vi, "dat.collins1985b: escalc(\"RR\", pre-eclampsia counts)")
d <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)
add("li2007", d$yi, d$vi, "dat.li2007: escalc(\"OR\", ai, n1i, ci, n2i) (zero cells: +1/2)")
add("edge_k2", c(-0.35, 0.12), c(0.04, 0.09), "edge case: k = 2")
add("edge_homogeneous", c(0.10, 0.12, 0.09, 0.11, 0.10), c(0.04, 0.05, 0.03, 0.06, 0.04),
    "edge case: homogeneous (tau2 = 0 for every estimator)")
add("edge_giant", c(-0.2, 0.3, -0.5, 0.1, 0.4, -0.05), c(0.05, 0.08, 0.12, 0.06, 0.1, 1e-5),
    "edge case: one giant study (vi = 1e-5)")
add("edge_extreme", c(-5, 3, 10, -8, 6), c(0.001, 0.002, 0.001, 0.003, 0.002),
    "edge case: extreme heterogeneity (Q-profile upper bound hits tau2.max)")

# --- escalc pins (defaults add=1/2, to="only0"; PFT/PAS add nothing) ---
es <- list()
pin <- function(name, call, inputs, d) es[[name]] <<- c(list(call = call), inputs, list(yi = c(d$yi), vi = c(d$vi)))
for (m in c("OR", "RR", "RD")) {
  pin(paste0(m, "_li2007"), paste0("escalc(\"", m, "\", ai, n1i, ci, n2i, data=dat.li2007)"),
      list(ai = dat.li2007$ai, n1i = dat.li2007$n1i, ci = dat.li2007$ci, n2i = dat.li2007$n2i),
      escalc(m, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007))
  pin(paste0(m, "_bcg"), paste0("escalc(\"", m, "\", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"),
      list(ai = dat.bcg$tpos, n1i = dat.bcg$tpos + dat.bcg$tneg, ci = dat.bcg$cpos, n2i = dat.bcg$cpos + dat.bcg$cneg),
      escalc(m, ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg))
}
xi <- c(dat.pritz1997$xi, 0, 5, 12); ni <- c(dat.pritz1997$ni, 20, 5, 40)
for (m in c("PLO", "PFT", "PAS", "PR"))
  pin(m, paste0("escalc(\"", m, "\", xi=xi, ni=ni) with xi, ni = dat.pritz1997 plus (0,20), (5,5), (12,40)"),
      list(xi = xi, ni = ni), escalc(m, xi = xi, ni = ni))
# metafor has no HR-from-CI measure; its documented recipe is by hand: yi = log(hr),
# sei = (log(ub) - log(lb)) / (2 * qnorm((1 + level)/2)).
h <- dat.hackshaw1998
es$HR_from_ci_95 <- list(call = "yi = log(or); vi = ((log(or.ub) - log(or.lb))/(2*qnorm(0.975)))^2 (dat.hackshaw1998)",
                         hr = h$or, ci_low = h$or.lb, ci_high = h$or.ub, level = 0.95,
                         yi = log(h$or), vi = ((log(h$or.ub) - log(h$or.lb)) / (2 * qnorm(0.975)))^2)
hr90 <- c(0.72, 1.10, 0.55); lo90 <- c(0.60, 0.85, 0.31); hi90 <- c(0.86, 1.42, 0.98)
es$HR_from_ci_90 <- list(call = "by hand, level 0.90", hr = hr90, ci_low = lo90, ci_high = hi90, level = 0.90,
                         yi = log(hr90), vi = ((log(hi90) - log(lo90)) / (2 * qnorm(0.95)))^2)
hrp <- c(0.72, 1.30, 0.55); pp <- c(0.017, 0.20, 0.0004)
es$HR_from_p <- list(call = "yi = log(hr); vi = (yi / qnorm(p/2, lower.tail=FALSE))^2 (Tierney 2007)",
                     hr = hrp, p = pp, yi = log(hrp), vi = (log(hrp) / qnorm(pp / 2, lower.tail = FALSE))^2)
dp <- escalc("PFT", xi = dat.pritz1997$xi, ni = dat.pritz1997$ni)
rp <- rma(yi, vi, data = dp, method = "REML", control = list(threshold = 1e-10, maxiter = 1000))
es$PFT_backtransform <- list(call = "transf.ipft.hm(c(rma(PFT)$b, yi), targs=list(ni=dat.pritz1997$ni))",
                             x = c(c(rp$beta), dp$yi), ni = dat.pritz1997$ni,
                             p = transf.ipft.hm(c(c(rp$beta), dp$yi), targs = list(ni = dat.pritz1997$ni)))

# Fisher scoring that oscillates: metafor stops with an error at stepadj = 1 (we flag converged =
# FALSE and warn) and converges with its documented remedy stepadj = 0.5.
osc_yi <- c(0.943684, 0.291881, 0.853903, 0.988697, 0.542524, 0.268264, 1.20514, 0.200949, 0.303748,
            0.811686, 0.482412, 0.477032, 0.488929, 0.68346)
osc_vi <- c(0.188449, 0.019466, 0.309027, 0.459548, 0.357757, 0.15268, 0.197928, 0.454571, 0.16541,
            0.252907, 0.359634, 0.429675, 0.283072, 0.402686)
osc_err <- tryCatch({ rma(osc_yi, osc_vi, method = "REML", control = list(threshold = 1e-10, maxiter = 1000)); "" },
                    error = function(e) conditionMessage(e))
osc <- rma(osc_yi, osc_vi, method = "REML", control = list(stepadj = 0.5, threshold = 1e-10, maxiter = 1000))
oscillation <- list(call = "rma(yi, vi, method=\"REML\", control=list(stepadj=0.5, threshold=1e-10, maxiter=1000))",
                    yi = osc_yi, vi = osc_vi, error_at_stepadj_1 = osc_err,
                    tau2 = osc$tau2, estimate = c(osc$beta), se = osc$se)

calls <- c(sapply(methods, function(m) sapply(tests, function(t) fit_call(m, t))),
           "predict(res)", "confint(res, control=list(tol=1e-12))$random['tau^2', ]", "weights(res)")
out <- list(source = list(metafor = as.character(packageVersion("metafor")),
                          metadat = as.character(packageVersion("metadat")),
                          R = R.version.string, date = format(Sys.Date()),
                          script = "tests/reference/make_reference_pool.R", calls = unname(calls),
                          note = "errors (e.g. PM with tau2.max too low) are stored as {error: message}"),
            datasets = datasets, escalc = es, oscillation = oscillation)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), na = "null", pretty = FALSE),
           "metafor_pool.json")
cat("wrote metafor_pool.json\n")
