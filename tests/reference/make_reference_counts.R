#!/usr/bin/env Rscript
# Regenerates tests/reference/metafor_counts.json: metafor rma.mh / rma.peto (defaults) and
# rma.glmm(measure="PLO") plus rma(escalc PLO / PFT) for meta.pool_counts and meta.pool_proportions.
#   cd tests/reference && Rscript make_reference_counts.R      (needs metafor, lme4, jsonlite)
suppressMessages({ library(metafor); library(jsonlite) })

tables <- list(
  bcg = with(dat.bcg, list(ai = tpos, n1i = tpos + tneg, ci = cpos, n2i = cpos + cneg,
                           description = "dat.bcg")),
  li2007 = with(dat.li2007[complete.cases(dat.li2007[, c("ai", "n1i", "ci", "n2i")]), ],
                list(ai = ai, n1i = n1i, ci = ci, n2i = n2i, description = "dat.li2007 (zero cells)")),
  sparse = list(ai = c(0, 2, 1, 0), n1i = c(20, 25, 30, 15), ci = c(3, 0, 0, 0), n2i = c(20, 24, 31, 15),
                description = "made-up sparse set: single-zero and one double-zero study"),
  k2 = list(ai = c(4, 6), n1i = c(50, 60), ci = c(9, 10), n2i = c(50, 58), description = "made-up k = 2")
)
fit <- function(r) list(estimate = c(r$beta), se = r$se, stat = r$zval, pval = r$pval, ci_lb = r$ci.lb,
                        ci_ub = r$ci.ub, QE = r$QE, QEp = r$QEp, I2 = r$I2, H2 = r$H2, k = r$k, k_yi = r$k.yi,
                        MH = if (is.null(r$MH)) NA else r$MH, MHp = if (is.null(r$MHp)) NA else r$MHp)
counts <- list()
for (nm in names(tables)) {
  t <- tables[[nm]]
  for (m in c("OR", "RR"))
    counts[[paste0(nm, "_MH_", m)]] <- c(list(data = nm, method = "MH", measure = m),
      fit(suppressWarnings(rma.mh(ai = t$ai, n1i = t$n1i, ci = t$ci, n2i = t$n2i, measure = m))))
  counts[[paste0(nm, "_Peto_OR")]] <- c(list(data = nm, method = "Peto", measure = "OR"),
      fit(suppressWarnings(rma.peto(ai = t$ai, n1i = t$n1i, ci = t$ci, n2i = t$n2i))))
}

props <- list(
  pritz1997 = with(dat.pritz1997, list(xi = xi, ni = ni, description = "dat.pritz1997")),
  zeros = list(xi = c(0, 3, 1, 0, 5), ni = c(12, 20, 15, 9, 30), description = "made-up response rates with zero cells"),
  k3 = list(xi = c(2, 7, 4), ni = c(25, 31, 18), description = "made-up k = 3")
)
prop <- list()
for (nm in names(props)) {
  p <- props[[nm]]
  g <- rma.glmm(xi = p$xi, ni = p$ni, measure = "PLO")
  prop[[paste0(nm, "_GLMM")]] <- list(data = nm, method = "GLMM", estimate = c(g$beta), se = g$se, stat = g$zval,
    pval = g$pval, ci_lb = g$ci.lb, ci_ub = g$ci.ub, tau2 = g$tau2, I2 = g$I2, H2 = g$H2)
  for (m in c("PLO", "PFT")) {
    d <- escalc(m, xi = p$xi, ni = p$ni)
    r <- rma(yi, vi, data = d, method = "REML", control = list(threshold = 1e-10, maxiter = 1000))
    prop[[paste0(nm, "_", m)]] <- list(data = nm, method = m, estimate = c(r$beta), se = r$se, ci_lb = r$ci.lb,
      ci_ub = r$ci.ub, tau2 = r$tau2,
      prop = if (m == "PLO") transf.ilogit(c(r$beta)) else transf.ipft.hm(c(r$beta), targs = list(ni = p$ni)),
      prop_ci = if (m == "PLO") transf.ilogit(c(r$ci.lb, r$ci.ub)) else transf.ipft.hm(c(r$ci.lb, r$ci.ub), targs = list(ni = p$ni)))
  }
}

out <- list(source = list(metafor = as.character(packageVersion("metafor")), lme4 = as.character(packageVersion("lme4")),
                          R = R.version.string, date = format(Sys.Date()), script = "tests/reference/make_reference_counts.R",
                          calls = c("rma.mh(ai, n1i, ci, n2i, measure=)", "rma.peto(ai, n1i, ci, n2i)",
                                    "rma.glmm(xi, ni, measure='PLO')  # nAGQ = 7, lme4::glmer",
                                    "rma(escalc('PLO'|'PFT', xi, ni), method='REML')")),
            tables = tables, counts = counts, proportions = props, prop = prop)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), na = "null", pretty = FALSE), "metafor_counts.json")
cat("wrote metafor_counts.json\n")
