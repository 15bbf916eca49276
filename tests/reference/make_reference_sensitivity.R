# Regenerates tests/reference/metafor_sensitivity.json: metafor reference values for
# meta/regression.py, meta/sensitivity.py, meta/bias.py and meta/subgroups.py.
#
#   Rscript tests/reference/make_reference_sensitivity.R   (run from the repository root)
#
# Pinned: rma(mods=), regtest(model="lm"), ranktest, trimfill (L0, R0; default and explicit side),
# leave1out, cumul, influence, and the subgroup-difference Q computed by hand (rma per subgroup, then
# rma(est, sei=se, method="FE")$QE). Published data sets come from metadat (bundled with metafor);
# the inputs yi/vi are written with 17 significant digits so Python sees the very same doubles.
# Tolerances: control=list(threshold=1e-10, maxiter=1000) for ML/REML/EB, control=list(tol=1e-12) for PM.

suppressPackageStartupMessages(library(metafor))

out_file <- file.path("tests", "reference", "metafor_sensitivity.json")

# ---- a small JSON writer with full double precision (jsonlite stops at 15 digits) ----------------
num <- function(x) ifelse(is.finite(x), sprintf("%.17g", x), "null")
str1 <- function(x) ifelse(is.na(x), "null", paste0("\"", gsub("\"", "\\\\\"", x), "\""))
to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    inner <- vapply(x, to_json, "")
    if (!is.null(names(x))) return(paste0("{", paste0(str1(names(x)), ": ", inner, collapse = ", "), "}"))
    return(paste0("[", paste(inner, collapse = ", "), "]"))
  }
  arr <- inherits(x, "AsIs") || length(x) != 1
  x <- unclass(x)
  v <- if (is.logical(x)) ifelse(is.na(x), "null", ifelse(x, "true", "false"))
       else if (is.numeric(x)) num(x) else str1(as.character(x))
  if (arr) paste0("[", paste(v, collapse = ", "), "]") else v
}
A <- function(x) I(unname(as.vector(x)))  # force a JSON array

ctrl <- function(method) {
  if (method %in% c("ML", "REML", "EB")) return(list(threshold = 1e-10, maxiter = 1000))
  if (method == "PM") return(list(tol = 1e-12))
  list()
}
calls <- list()
note_call <- function(key, text) calls[[key]] <<- text

# ---- data sets ---------------------------------------------------------------------------------
ds <- list()
add <- function(name, dat, what, extra = list()) {
  ds[[name]] <<- c(list(source = what, yi = A(dat$yi), vi = A(dat$vi)), extra)
}
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add("bcg", bcg, "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)",
    list(year = A(bcg$year), ablat = A(bcg$ablat), alloc = A(as.character(bcg$alloc))))
hack <- dat.hackshaw1998
add("hackshaw1998", hack, "dat.hackshaw1998 (yi, vi as given: log odds ratios)",
    list(year = A(hack$year), design = A(as.character(hack$design))))
pritz <- escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)
add("pritz1997", pritz, "escalc(measure='PLO', xi=xi, ni=ni, data=dat.pritz1997)")
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add("molloy2014", molloy, "escalc(measure='ZCOR', ri=ri, ni=ni, data=dat.molloy2014)",
    list(year = A(molloy$year), meanage = A(molloy$meanage), quality = A(molloy$quality),
         design = A(as.character(molloy$design))))
raud <- dat.raudenbush1985
add("raudenbush1985", raud, "dat.raudenbush1985 (yi, vi as given: standardized mean differences)",
    list(year = A(raud$year), weeks = A(raud$weeks), tester = A(as.character(raud$tester))))
norm <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
               data = dat.normand1999)
add("normand1999", norm, "escalc(measure='MD', m1i, sd1i, n1i, m2i, sd2i, n2i, data=dat.normand1999)")
egg <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
add("egger2001", egg, "escalc(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001)",
    list(year = A(egg$year)))
hine <- escalc(measure = "RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)
add("hine1989", hine, "escalc(measure='RD', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.hine1989)")
li <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)
add("li2007", li, "escalc(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.li2007)",
    list(year = A(li$year)))
# edge cases: k = 3 (first three BCG trials); homogeneous data with tau^2 = 0 for every estimator;
# tied sampling variances (ranktest falls back to the normal approximation)
k3 <- bcg[1:3, ]
add("bcg_k3", k3, "escalc(measure='RR', ...)[1:3, ] of dat.bcg", list(year = A(k3$year)))
tau0 <- data.frame(yi = c(0.10, 0.12, 0.09, 0.11, 0.10, 0.13, 0.08),
                   vi = c(0.010, 0.020, 0.015, 0.030, 0.012, 0.025, 0.018))
add("tau0", tau0, "synthetic homogeneous data (tau^2 = 0)")
ties <- data.frame(yi = c(0.30, 0.10, 0.45, 0.20, 0.60, 0.05, 0.38, 0.52),
                   vi = c(0.04, 0.02, 0.04, 0.02, 0.08, 0.01, 0.04, 0.08))
add("ties", ties, "synthetic data with tied sampling variances")
# k = 3, strongly asymmetric: L0 imputes k0 = 2, so trimfill refits a single study (found with set.seed(1))
asym3 <- data.frame(yi = c(-1.5399500419037095, -0.92856703471353808, -0.2947204467905602),
                    vi = c(0.1045628559961915, 0.14634751657024028, 0.19846215801779182))
add("asym3", asym3, "synthetic k = 3 data where trimfill L0 (DL) imputes 2 studies")
dat_of <- list(bcg = bcg, hackshaw1998 = hack, pritz1997 = pritz, molloy2014 = molloy,
               raudenbush1985 = raud, normand1999 = norm, egger2001 = egg, hine1989 = hine, li2007 = li,
               bcg_k3 = k3, tau0 = tau0, ties = ties, asym3 = asym3)

fit <- function(d, method, test = "z", ...) rma(d$yi, d$vi, method = method, test = test,
                                                control = ctrl(method), ...)
model_fields <- function(r) list(beta = c(r$beta), se = r$se, zval = r$zval, pval = r$pval,
                                 ci.lb = r$ci.lb, ci.ub = r$ci.ub, tau2 = r$tau2, QE = r$QE, QEp = r$QEp,
                                 I2 = r$I2, H2 = r$H2)

# ---- regtest(model="lm") and ranktest ----------------------------------------------------------
note_call("regtest", "regtest(rma(yi, vi), model='lm')  # weighted lm of yi on sei, weights 1/vi")
note_call("ranktest", "ranktest(yi, vi)  # metafor 3.8 passes exact=TRUE to cor.test(method='kendall')")
regtests <- list(); ranktests <- list()
for (nm in names(dat_of)) {
  d <- dat_of[[nm]]
  rt <- regtest(d$yi, d$vi, model = "lm")
  regtests[[length(regtests) + 1]] <- list(dataset = nm, zval = rt$zval, pval = rt$pval, dfs = rt$dfs,
                                           est = c(rt$est), ci.lb = rt$ci.lb, ci.ub = rt$ci.ub)
  rk <- suppressWarnings(ranktest(d$yi, d$vi))
  ranktests[[length(ranktests) + 1]] <- list(dataset = nm, tau = unname(rk$tau), pval = rk$pval)
}

# ---- trimfill ----------------------------------------------------------------------------------
note_call("trimfill", paste("trimfill(rma(yi, vi, method=m, control=ctrl), estimator=e, side=s,",
                            "control=ctrl)  # control passed on to trimfill's internal rma.uni refits"))
tfs <- list()
for (nm in names(dat_of)) for (m in c("REML", "DL", "ML")) for (e in c("L0", "R0")) {
  for (s in list(NULL, "left", "right")) {
    if (!is.null(s) && !(m == "REML" && nm %in% c("bcg", "hackshaw1998", "egger2001", "li2007"))) next
    d <- dat_of[[nm]]
    r0 <- fit(d, m)
    tf <- if (is.null(s)) trimfill(r0, estimator = e, control = ctrl(m))
          else trimfill(r0, estimator = e, side = s, control = ctrl(m))
    tfs[[length(tfs) + 1]] <- c(list(dataset = nm, method = m, estimator = e,
                                     side_arg = if (is.null(s)) NULL else s,
                                     k0 = tf$k0, se.k0 = tf$se.k0, p.k0 = tf$p.k0, side = tf$side,
                                     yi = A(tf$yi), vi = A(tf$vi), fill = A(tf$fill)),
                                model_fields(tf))
  }
}

# ---- leave1out, cumul, influence ---------------------------------------------------------------
note_call("leave1out", "leave1out(rma(yi, vi, method=m, test=t, control=ctrl))")
note_call("cumul", "cumul(rma(yi, vi, method=m, test=t, control=ctrl), order=year)  # or input order")
note_call("influence", "influence(rma(yi, vi, method=m, control=ctrl))  # $inf, $dfbs, $is.infl")
l1o <- list(); cum <- list(); infl <- list()
for (nm in names(dat_of)) for (m in c("REML", "DL", "ML")) for (t in c("z", "knha")) {
  if (t == "knha" && m != "REML") next
  d <- dat_of[[nm]]
  r <- fit(d, m, t)
  lo <- leave1out(r)
  l1o[[length(l1o) + 1]] <- list(dataset = nm, method = m, test = t, estimate = A(lo$estimate),
                                 se = A(lo$se), zval = A(lo[[3]]), pval = A(lo$pval), ci.lb = A(lo$ci.lb),
                                 ci.ub = A(lo$ci.ub), Q = A(lo$Q), Qp = A(lo$Qp), tau2 = A(lo$tau2),
                                 I2 = A(lo$I2), H2 = A(lo$H2))
  has_year <- !is.null(d$year)
  cu <- if (has_year) cumul(r, order = d$year) else cumul(r)
  ord <- if (has_year) order(d$year) else seq_along(d$yi)
  cum[[length(cum) + 1]] <- list(dataset = nm, method = m, test = t, order = if (has_year) "year" else NULL,
                                 index = A(ord - 1L), estimate = A(cu$estimate), se = A(cu$se),
                                 zval = A(cu[[3]]), pval = A(cu$pvals), ci.lb = A(cu$ci.lb),
                                 ci.ub = A(cu$ci.ub), Q = A(cu$Q), Qp = A(cu$Qp), tau2 = A(cu$tau2),
                                 I2 = A(cu$I2), H2 = A(cu$H2))
  if (t == "z") {
    inf <- influence(r)
    infl[[length(infl) + 1]] <- list(dataset = nm, method = m, rstudent = A(inf$inf$rstudent),
                                     dffits = A(inf$inf$dffits), cook.d = A(inf$inf$cook.d),
                                     cov.r = A(inf$inf$cov.r), tau2.del = A(inf$inf$tau2.del),
                                     QE.del = A(inf$inf$QE.del), hat = A(inf$inf$hat),
                                     weight = A(inf$inf$weight), dfbs = A(inf$dfbs[[1]]),
                                     is.infl = A(inf$is.infl))
  }
}

# ---- meta-regression: rma(mods=) ---------------------------------------------------------------
note_call("mods", "rma(yi, vi, mods=~ <mods>, method=m, test=t, control=ctrl)")
mods_specs <- list(
  list(dataset = "bcg", mods = c("ablat", "year"), f = ~ ablat + year),
  list(dataset = "bcg", mods = c("ablat"), f = ~ ablat),
  list(dataset = "bcg", mods = c("alloc"), f = ~ alloc),
  list(dataset = "bcg", mods = c("ablat", "alloc"), f = ~ ablat + alloc),
  list(dataset = "molloy2014", mods = c("meanage", "quality"), f = ~ meanage + quality),
  list(dataset = "raudenbush1985", mods = c("weeks", "tester"), f = ~ weeks + tester),
  list(dataset = "hackshaw1998", mods = c("year", "design"), f = ~ year + design),
  list(dataset = "tau0", mods = c("x"), f = ~ x)
)
tau0$x <- seq_len(nrow(tau0)); ds$tau0$x <- A(tau0$x); dat_of$tau0 <- tau0
mods_out <- list()
for (sp in mods_specs) for (m in c("REML", "DL", "ML", "PM", "HE", "SJ", "HS", "EB")) {
  for (t in c("z", "knha", "adhoc")) {
    if (t != "z" && !(m %in% c("REML", "DL"))) next
    d <- dat_of[[sp$dataset]]
    r <- rma(yi, vi, mods = sp$f, data = d, method = m, test = t, control = ctrl(m))
    mods_out[[length(mods_out) + 1]] <- list(
      dataset = sp$dataset, mods = A(sp$mods), method = m, test = t, names = A(rownames(r$beta)),
      beta = A(r$beta), se = A(r$se), zval = A(r$zval), pval = A(r$pval), ci.lb = A(r$ci.lb),
      ci.ub = A(r$ci.ub), QM = r$QM, QMdf = A(r$QMdf), QMp = r$QMp, tau2 = r$tau2, QE = r$QE,
      QEp = r$QEp, I2 = r$I2, H2 = r$H2, R2 = if (is.null(r$R2)) NULL else r$R2, k = r$k, p = r$p)
  }
}

# ---- subgroup differences: Q across subgroup estimates (fixed effect), by hand --------------------
note_call("subgroup", paste("per group g: r_g <- rma(yi, vi, subset=group==g, method=m, test=t, control=ctrl);",
                            "then rma(sapply(r_g, coef), sei=sapply(r_g, se), method='FE')$QE, df=G-1"))
sub_specs <- list(
  list(dataset = "bcg", by = "alloc", g = as.character(bcg$alloc)),
  list(dataset = "bcg", by = "single", g = c("a", rep("b", 6), rep("c", 6))),  # a subgroup with k = 1
  list(dataset = "raudenbush1985", by = "tester", g = as.character(raud$tester)),
  list(dataset = "molloy2014", by = "design", g = as.character(molloy$design)),
  list(dataset = "hackshaw1998", by = "design", g = as.character(hack$design))
)
ds$bcg$single <- A(sub_specs[[2]]$g)
subs <- list()
for (sp in sub_specs) for (m in c("REML", "DL", "ML")) for (t in c("z", "knha")) {
  if (t == "knha" && m != "REML") next
  d <- dat_of[[sp$dataset]]
  lv <- sort(unique(sp$g))
  fits <- lapply(lv, function(g) suppressWarnings(
    rma(d$yi, d$vi, subset = sp$g == g, method = m, test = t, control = ctrl(m))))
  est <- sapply(fits, function(r) c(r$beta)); se <- sapply(fits, function(r) r$se)
  fe <- rma(est, sei = se, method = "FE")
  subs[[length(subs) + 1]] <- list(
    dataset = sp$dataset, by = sp$by, method = m, test = t, groups = A(lv),
    k = A(sapply(fits, function(r) r$k)), estimate = A(est), se = A(se),
    ci.lb = A(sapply(fits, function(r) r$ci.lb)), ci.ub = A(sapply(fits, function(r) r$ci.ub)),
    tau2 = A(sapply(fits, function(r) r$tau2)), I2 = A(sapply(fits, function(r) r$I2)),
    Q = fe$QE, df = fe$k - 1, Qp = fe$QEp)
}

# ---- write -------------------------------------------------------------------------------------
res <- list(
  source = list(metafor = as.character(packageVersion("metafor")),
                metadat = as.character(packageVersion("metadat")), R = R.version.string,
                date = format(Sys.time(), "%Y-%m-%d"),
                script = "tests/reference/make_reference_sensitivity.R",
                control = list(`ML/REML/EB` = "list(threshold=1e-10, maxiter=1000)", PM = "list(tol=1e-12)"),
                calls = calls),
  datasets = ds, regtest = regtests, ranktest = ranktests, trimfill = tfs, leave1out = l1o, cumul = cum,
  influence = infl, mods = mods_out, subgroup = subs)
writeLines(to_json(res), out_file)
cat("wrote", out_file, "\n")
