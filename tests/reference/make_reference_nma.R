#!/usr/bin/env Rscript
# Regenerates tests/reference/metafor_nma.json: reference values from R metafor for meta.nma.
#   cd tests/reference && Rscript make_reference_nma.R
# Needs metafor (>= 3.8) with metadat, and jsonlite. The Python tests read the JSON only (no R).
#
# Networks (metadat):
#   senn2013      dat.senn2013 (Senn et al. 2013, glucose-lowering drugs, HbA1c mean difference):
#                 26 studies, 10 treatments, one three-arm study (Willms 1999)
#   hasselblad    dat.hasselblad1998 (Hasselblad 1998, smoking cessation, log odds ratio):
#                 24 studies, 4 treatments, two three-arm studies
#   senn2013_2arm dat.senn2013 without the three-arm study (two-arm network: rma(mods=) applies)
# Each study's contrasts are taken against its first arm (placebo / no_contact when present), with
# the covariance between a study's contrasts = the shared arm's variance (sd^2/n of a mean,
# 1/x + 1/(n-x) of a logit; a study with a zero cell gets 1/2 added to every cell of its arms).
#
# The model: rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2)
# with treatment contrast coding X (+1 treat1, -1 treat2, reference column dropped).
suppressMessages({ library(metafor); library(jsonlite) })

ctrl_mv <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000)
ctrl_uni <- list(threshold = 1e-12, maxiter = 10000)
first_sorted <- function(x) sort(x, method = "radix")

# arm-level (study, treatment, mean, var) -> contrasts against the study's first arm
contrasts_from_arms <- function(arms, first_pref) {
  out <- list()
  for (s in unique(arms$study)) {
    a <- arms[arms$study == s, ]
    base <- if (first_pref %in% a$trt) first_pref else a$trt[1]
    b <- a[a$trt == base, ]
    for (j in which(a$trt != base)) {
      out[[length(out) + 1]] <- data.frame(study = s, treat1 = a$trt[j], treat2 = base,
                                           yi = a$m[j] - b$m, vi = a$v[j] + b$v, vi_shared = b$v)
    }
  }
  do.call(rbind, out)
}

coding <- function(d, trts, ref) {
  others <- trts[trts != ref]
  X <- matrix(0, nrow(d), length(others), dimnames = list(NULL, others))
  for (i in seq_len(nrow(d))) {
    if (d$treat1[i] %in% others) X[i, d$treat1[i]] <- X[i, d$treat1[i]] + 1
    if (d$treat2[i] %in% others) X[i, d$treat2[i]] <- X[i, d$treat2[i]] - 1
  }
  X
}

vcov_within <- function(d) {
  V <- diag(d$vi)
  for (s in unique(d$study)) {
    idx <- which(d$study == s)
    if (length(idx) > 1) for (i in idx) for (j in idx) if (i != j) V[i, j] <- d$vi_shared[i]
  }
  V
}

# design-by-treatment interaction coding (Higgins et al. 2012): a column per design and arm other
# than the design's first (sorted) arm
interaction <- function(d) {
  arms_of <- tapply(c(d$treat1, d$treat2), c(d$study, d$study), function(x) first_sorted(unique(x)))
  d$design <- sapply(d$study, function(s) paste(arms_of[[s]], collapse = ":"))
  cols <- character(0)
  for (des in unique(d$design)) cols <- c(cols, paste(des, strsplit(des, ":")[[1]][-1], sep = "|"))
  Xi <- matrix(0, nrow(d), length(cols), dimnames = list(NULL, cols))
  for (i in seq_len(nrow(d))) {
    for (sg in list(c(d$treat1[i], 1), c(d$treat2[i], -1))) {
      key <- paste(d$design[i], sg[1], sep = "|")
      if (key %in% cols) Xi[i, key] <- Xi[i, key] + as.numeric(sg[2])
    }
  }
  list(X = Xi, design = d$design)
}

# netmeta's tau.within / tau.DL (Jackson, White & Riley 2012 moment estimator), reproduced
tau2_moment <- function(X, y, V, P) {
  W <- solve(V); C <- solve(t(X) %*% W %*% X)
  R <- W - W %*% X %*% C %*% t(X) %*% W
  Q <- c(t(y) %*% R %*% y); df <- nrow(V) - ncol(X); den <- sum(diag(R %*% P))
  if (df <= 0 || den <= 1e-12) 0 else max(0, (Q - df) / den)
}

Pstruct <- function(d) {
  P <- diag(nrow(d))
  for (s in unique(d$study)) {
    idx <- which(d$study == s)
    if (length(idx) > 1) for (i in idx) for (j in idx) if (i != j) P[i, j] <- 0.5
  }
  P
}

fit_mv <- function(d, X, V, method, tau2 = NA) {
  d$comp <- paste(d$treat1, d$treat2, sep = "-")
  rma.mv(d$yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = d,
         method = method, tau2 = tau2, control = ctrl_mv)
}

pscores <- function(coef, vc, small_good = TRUE) {
  T <- length(coef); ps <- numeric(T); names(ps) <- names(coef)
  for (i in 1:T) for (j in 1:T) if (i != j) {
    se <- sqrt(vc[i, i] + vc[j, j] - 2 * vc[i, j])
    z <- (coef[j] - coef[i]) / se
    ps[i] <- ps[i] + pnorm(if (small_good) z else -z)
  }
  ps / (T - 1)
}

one_network <- function(d, ref, arms, description) {
  trts <- first_sorted(unique(c(d$treat1, d$treat2)))
  X <- coding(d, trts, ref); V <- vcov_within(d); P <- Pstruct(d)
  out <- list(description = description, reference = ref,
              contrasts = d[, c("study", "treat1", "treat2", "yi", "vi", "vi_shared")], fits = list())
  for (m in c("REML", "ML", "FE")) {
    res <- fit_mv(d, X, V, m)
    coef <- c(0, c(res$beta)); names(coef) <- c(ref, colnames(X))
    vc <- matrix(0, length(coef), length(coef), dimnames = list(names(coef), names(coef)))
    vc[-1, -1] <- res$vb
    out$fits[[m]] <- list(
      call = sprintf("rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2, method = \"%s\")", m),
      treatments = colnames(X), estimate = c(res$beta), se = res$se, ci_lb = res$ci.lb, ci_ub = res$ci.ub,
      tau2 = if (m == "FE") 0 else res$tau2, QE = res$QE, QEdf = res$k - res$p, QEp = res$QEp,
      vcov = unname(res$vb),
      pscores_good = as.list(pscores(coef, vc, TRUE)), pscores_bad = as.list(pscores(coef, vc, FALSE)))
    if (m == "REML") {
      # node splitting by back-calculation: direct = rma(yi, vi, tau2 = tau2_nma) of the pair's studies
      split <- list()
      tau2 <- res$tau2
      pairs <- unique(t(apply(unique(arms[, c("study", "trt")]), 1, function(r) r)))
      for (s in unique(arms$study)) NULL
      allpairs <- list()
      for (s in unique(arms$study)) {
        tr <- first_sorted(arms$trt[arms$study == s])
        for (a in 1:(length(tr) - 1)) for (b in (a + 1):length(tr)) allpairs[[paste(tr[a], tr[b])]] <- c(tr[a], tr[b])
      }
      for (pr in allpairs) {
        yd <- c(); vd <- c()
        for (s in unique(arms$study)) {
          a <- arms[arms$study == s, ]
          if (all(pr %in% a$trt)) {
            yd <- c(yd, a$m[a$trt == pr[1]] - a$m[a$trt == pr[2]]); vd <- c(vd, a$v[a$trt == pr[1]] + a$v[a$trt == pr[2]])
          }
        }
        dir <- rma(yd, vd, tau2 = tau2, method = "REML")
        i <- pr[1]; j <- pr[2]
        th_n <- coef[i] - coef[j]; v_n <- vc[i, i] + vc[j, j] - 2 * vc[i, j]
        v_d <- dir$se^2; prec <- 1 / v_n - 1 / v_d
        if (prec <= 1e-8 / v_n) next
        v_i <- 1 / prec; th_i <- v_i * (th_n / v_n - c(dir$beta) / v_d)
        z <- (c(dir$beta) - th_i) / sqrt(v_d + v_i)
        split[[length(split) + 1]] <- list(treat1 = i, treat2 = j, k_direct = dir$k, direct = c(dir$beta),
                                           direct_se = dir$se, indirect = unname(th_i), indirect_se = sqrt(v_i),
                                           z = unname(z), p_value = unname(2 * pnorm(-abs(z))))
      }
      out$fits[[m]]$split <- split
      out$fits[[m]]$split_call <- "direct: rma(yi_pair, vi_pair, tau2 = tau2_REML); indirect: back-calculated from the rma.mv estimate and vcov"
    }
  }
  # Q decomposition: common-effect Q of the consistency and interaction models (rma.mv, method FE)
  inc <- interaction(d)
  fe_c <- fit_mv(d, X, V, "FE"); fe_i <- fit_mv(d, inc$X, V, "FE")
  per <- list()
  for (des in unique(inc$design)) {
    idx <- which(inc$design == des)
    Xd <- inc$X[idx, grepl(paste0("^", gsub("([.|()\\^{}+$*?\\[\\]])", "\\\\\\1", des), "\\|"), colnames(inc$X)), drop = FALSE]
    if (length(idx) - ncol(Xd) <= 0) next
    fd <- rma.mv(d$yi[idx], V[idx, idx, drop = FALSE], mods = Xd, intercept = FALSE, method = "FE")
    per[[length(per) + 1]] <- list(design = des, q = fd$QE, df = fd$k - fd$p, p_value = fd$QEp)
  }
  tw <- tau2_moment(inc$X, d$yi, V, P)
  # between designs under random effects at tau2_within: Wald test of the interaction columns that
  # extend the consistency model, sigma2 fixed (rma.mv QM with btt)
  full <- cbind(X, inc$X); q <- qr(full); keep <- q$pivot[seq_len(q$rank)]
  Xf <- full[, keep, drop = FALSE]
  btt <- which(keep > ncol(X))
  rnd <- fit_mv(d, Xf, V, "REML", tau2 = tw)
  wald <- anova(rnd, btt = btt)
  fe_full <- fit_mv(d, Xf, V, "FE")
  out$decomposition <- list(
    total = list(q = fe_c$QE, df = fe_c$k - fe_c$p),
    within_designs = list(q = fe_i$QE, df = fe_i$k - fe_i$p),
    between_designs = list(q = fe_c$QE - fe_i$QE, df = (fe_c$k - fe_c$p) - (fe_i$k - fe_i$p),
                           q_wald = anova(fe_full, btt = btt)$QM),
    designs = per, tau2_within = tw,
    between_random = list(q = wald$QM, df = wald$QMdf[1], p_value = wald$QMp),
    calls = c("rma.mv(yi, V, mods = X, intercept = FALSE, method = \"FE\")$QE (consistency)",
              "rma.mv(yi, V, mods = X_interaction, intercept = FALSE, method = \"FE\")$QE (within designs)",
              "per design: rma.mv(yi_d, V_d, mods = X_d, intercept = FALSE, method = \"FE\")$QE",
              "tau2_within: netmeta tau.within formula (Jackson, White & Riley 2012 moment estimator) in R",
              "random: anova(rma.mv(..., mods = cbind(X, X_interaction extra), sigma2 = tau2_within), btt = extra)$QM"))
  # DL: the moment estimator (netmeta's tau.DL formula, Jackson, White & Riley 2012) reproduced in R,
  # then rma.mv with tau2 fixed at it
  tdl <- tau2_moment(X, d$yi, V, P)
  r <- fit_mv(d, X, V, "REML", tau2 = tdl)
  out$fits$DL <- list(call = "rma.mv(..., tau2 = tau2_moment(X, yi, V, P))", treatments = colnames(X),
                      estimate = c(r$beta), se = r$se, tau2 = tdl, QE = r$QE, QEdf = r$k - r$p)
  out
}

# dat.senn2013: arm means and variances sd^2/n
s <- dat.senn2013
senn_arms <- data.frame(study = s$study, trt = s$treatment, m = s$mi, v = s$sdi^2 / s$ni)
senn <- contrasts_from_arms(senn_arms, "placebo")

# dat.hasselblad1998: arm logits and variances 1/x + 1/(n-x), 1/2 added to studies with a zero cell
h <- dat.hasselblad1998
zero <- tapply(h$xi == 0 | h$xi == h$ni, h$study, any)
add <- ifelse(zero[as.character(h$study)], 0.5, 0)
x <- h$xi + add; n <- h$ni + 2 * add
has_arms <- data.frame(study = as.character(h$study), trt = h$trt, m = log(x / (n - x)), v = 1 / x + 1 / (n - x))
has <- contrasts_from_arms(has_arms, "no_contact")

senn2 <- senn[senn$study != "Willms (1999)", ]
senn2_arms <- senn_arms[senn_arms$study != "Willms (1999)", ]

networks <- list(
  senn2013 = one_network(senn, "placebo", senn_arms, "dat.senn2013: HbA1c mean difference vs study's first arm (placebo when present); sd^2/n arm variances"),
  hasselblad = one_network(has, "no_contact", has_arms, "dat.hasselblad1998: log odds ratio of cessation vs no_contact when present; +1/2 to studies 5 and 19 (zero cells)"),
  senn2013_2arm = one_network(senn2, "placebo", senn2_arms, "dat.senn2013 without the three-arm Willms (1999): a two-arm network")
)

out <- list(
  source = list(metafor = as.character(packageVersion("metafor")),
                metadat = as.character(packageVersion("metadat")),
                R = R.version.string, date = as.character(Sys.Date()),
                script = "tests/reference/make_reference_nma.R",
                control = list(rma.mv = ctrl_mv, rma = ctrl_uni),
                model = "rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2); X: +1 treat1, -1 treat2, reference dropped",
                pscores = "Rucker & Schwarzer 2015 formula from the rma.mv coefficients and vcov"),
  networks = networks)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "metafor_nma.json")
cat("wrote metafor_nma.json\n")
