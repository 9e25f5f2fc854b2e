# Reference numbers for nea_covid's core estimators, computed with R's `survey`.
#
# This script
#   (a) exports R's public example data sets (survey::api, survey::nhanes) to
#       nea_covid/datasets/data/*.csv, plus derived test-only data sets to
#       tests/reference/data/*.csv (every numeric value round-trips exactly);
#   (b) computes design-based estimates (means, totals, proportions, ratios,
#       quantiles, svyciprop intervals, by-domain estimates, lonely-PSU rules)
#       and the R errors the Python side must reproduce, and writes them to
#       tests/reference/fixtures/core.json.
#
# All CSV and JSON outputs are GENERATED: do not edit them by hand.
# Regenerate from the repository root with
#     nox -s r_reference
# or
#     Rscript tests/reference/core.R
# Requires R with the packages survey (the fixture records its version) and
# jsonlite. Shared helpers (exact number formatting, cells, JSON writing) are in
# tests/reference/helpers.R.
#
# Fixture conventions: each design's r_call is evaluated with the data sets
# bound by name; each case's r_call with the designs bound under their fixture
# names (so the design `nhanes` shadows the data set `nhanes` there). Cells
# follow R's coefficient order (statistic-major, domains inner), and "vcov",
# where present, is in cell order; by-domain mean/total/proportion/ratio cases
# also carry "vcov_full", the same covariance from one svytotal/svyratio call on
# domain-indicator columns (see by_vcov_full). Quirks of survey 4.1.1 worth knowing:
#   * svyby(covmat = TRUE) fails together with na.rm = TRUE, so by-domain
#     "omit" cases take vcov from the same svyby on the complete-case subset;
#   * lonely_psu "average" with a lonely unit at stage 2 gives NaN variances
#     (recorded as null; the vcov of such a case is null);
#   * confint() of a svyby quantile is a Wald interval, so domain quantile
#     intervals are taken from svyby(vartype = c("se", "ci")) (Woodruff).

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})

if (!file.exists("tests/reference/core.R")) {
  stop("run this script from the repository root: Rscript tests/reference/core.R")
}
# format_exact(), write_exact_csv(), design_call(), design_spec(), make_cells(),
# write_json_exact() and the other shared helpers.
source("tests/reference/helpers.R")

PKG_DATA <- "nea_covid/datasets/data"
REF_DATA <- "tests/reference/data"
FIXTURE <- "tests/reference/fixtures/core.json"
for (dir in c(PKG_DATA, REF_DATA, dirname(FIXTURE))) {
  dir.create(dir, recursive = TRUE, showWarnings = FALSE)
}

# R's default; every case sets the option explicitly (see with_lonely_psu).
options(survey.lonely.psu = "fail", survey.ultimate.cluster = FALSE,
        survey.adjust.domain.lonely = FALSE)


# ---------------------------------------------------------------------------
# (a) Data export with exact numeric round trip
# ---------------------------------------------------------------------------

data(api)
data(nhanes)

datasets <- list(apistrat = apistrat, apiclus1 = apiclus1, apiclus2 = apiclus2, nhanes = nhanes)
for (nm in names(datasets)) {
  write_exact_csv(datasets[[nm]], file.path(PKG_DATA, paste0(nm, ".csv")))
}

# Derived data sets (test-only) ------------------------------------------------

# apistrat with alternative fpc columns:
#   fpc_frac  sampling fraction n_h / N_h (must reproduce `strat` exactly)
#   fpc_over  population size smaller than the sample in stratum E (error)
#   fpc_mixed population sizes in E, sampling fractions in H and M (error)
apistrat_fpc <- apistrat
n_h <- ave(rep(1, nrow(apistrat)), apistrat$stype, FUN = sum)
apistrat_fpc$fpc_frac <- n_h / apistrat$fpc
apistrat_fpc$fpc_over <- ifelse(apistrat$stype == "E", n_h - 1, apistrat$fpc)
apistrat_fpc$fpc_mixed <- ifelse(apistrat$stype == "E", apistrat$fpc, apistrat_fpc$fpc_frac)

# nhanes without PSU 2 of stratum 89: stratum 89 has a single PSU.
nhanes_lonely <- nhanes[!(nhanes$SDMVSTRA == 89 & nhanes$SDMVPSU == 2), ]

# apiclus1 (15 sampled districts) stratified by district number, with finite
# stratum population sizes (in districts). Stratum "D" holds one sampled
# district (dnum 815):
#   dfpc      N_h = 200, 250, 150, 4      -> lonely PSU with f_h = 3/4 < 1
#   dfpc_cert N_h = 200, 250, 150, 1      -> lonely PSU sampled with certainty
apiclus1_lonely <- apiclus1
apiclus1_lonely$dstrat <- as.character(cut(apiclus1$dnum, c(0, 200, 600, 800, Inf),
                                           labels = c("A", "B", "C", "D")))
pop_districts <- c(A = 200, B = 250, C = 150, D = 4)
apiclus1_lonely$dfpc <- unname(pop_districts[apiclus1_lonely$dstrat])
apiclus1_lonely$dfpc_cert <- ifelse(apiclus1_lonely$dstrat == "D", 1, apiclus1_lonely$dfpc)
stopifnot(length(unique(apiclus1_lonely$dnum[apiclus1_lonely$dstrat == "D"])) == 1)

# apiclus2 where district 83 (fpc2 = 3 schools; all 3 sampled in apiclus2) keeps
# only its first sampled school: a lonely unit at stage 2 with fpc2 > 1.
# (apiclus2's own single-school districts all have fpc2 = 1, i.e. certainty.)
keep <- apiclus2$dnum != 83 | !duplicated(apiclus2$dnum)
apiclus2_lonely2 <- apiclus2[keep, ]
stopifnot(sum(apiclus2_lonely2$dnum == 83) == 1, all(apiclus2_lonely2$fpc2[apiclus2_lonely2$dnum == 83] == 3))

derived <- list(apistrat_fpc = apistrat_fpc, nhanes_lonely = nhanes_lonely,
                apiclus1_lonely = apiclus1_lonely, apiclus2_lonely2 = apiclus2_lonely2)
for (nm in names(derived)) {
  write_exact_csv(derived[[nm]], file.path(REF_DATA, paste0(nm, ".csv")))
}
datasets <- c(datasets, derived)


# ---------------------------------------------------------------------------
# (b) Designs
# ---------------------------------------------------------------------------

# Python lonely_psu keyword -> R option value
R_LONELY <- c(raise = "fail", remove = "remove", adjust = "adjust",
              average = "average", certainty = "certainty")

# Evaluation environment: data sets and designs are bound by name, so every
# recorded r_call can be re-run verbatim in it.
# Design r_calls are evaluated in `data_env` (the data sets); case r_calls in
# `env`, where the design objects are bound under their fixture names. (The
# design `nhanes` shadows the data set `nhanes` there.)
data_env <- new.env()
for (nm in names(datasets)) assign(nm, datasets[[nm]], envir = data_env)
env <- new.env(parent = data_env)

run <- function(code, envir = env) eval(parse(text = code), envir = envir)

with_lonely_psu <- function(rule, code, envir = env) {
  old <- options(survey.lonely.psu = R_LONELY[[rule]])
  on.exit(options(old))
  run(code, envir)
}

designs <- list(
  strat = design_spec("apistrat", weights = "pw", strata = "stype", fpc = "fpc"),
  strat_frac = design_spec("apistrat_fpc", weights = "pw", strata = "stype", fpc = "fpc_frac"),
  clus1 = design_spec("apiclus1", weights = "pw", clusters = "dnum", fpc = "fpc"),
  clus1_nofpc = design_spec("apiclus1", weights = "pw", clusters = "dnum"),
  clus2 = design_spec("apiclus2", clusters = c("dnum", "snum"), fpc = c("fpc1", "fpc2")),
  nhanes = design_spec("nhanes", weights = "WTMEC2YR", strata = "SDMVSTRA",
                       clusters = "SDMVPSU", nest = TRUE),
  # a lonely stratum whose single PSU has fpc = 1: zero variance, no error even under "raise"
  clus1_lonely_cert_raise = design_spec("apiclus1_lonely", strata = "dstrat", clusters = "dnum",
                                        fpc = "dfpc_cert", lonely_psu = "raise")
)
for (rule in c("remove", "adjust", "average", "certainty")) {
  designs[[paste0("nhanes_lonely_", rule)]] <- design_spec(
    "nhanes_lonely", weights = "WTMEC2YR", strata = "SDMVSTRA", clusters = "SDMVPSU",
    nest = TRUE, lonely_psu = rule)
  designs[[paste0("clus1_lonely_", rule)]] <- design_spec(
    "apiclus1_lonely", strata = "dstrat", clusters = "dnum", fpc = "dfpc", lonely_psu = rule)
  designs[[paste0("clus2_lonely2_", rule)]] <- design_spec(
    "apiclus2_lonely2", clusters = c("dnum", "snum"), fpc = c("fpc1", "fpc2"), lonely_psu = rule)
}

for (nm in names(designs)) {
  spec <- designs[[nm]]
  spec$r_call <- design_call(spec)
  d <- run(spec$r_call, data_env)
  assign(nm, d, envir = env)
  spec$degf <- degf(d)
  spec$weights_out <- I(unname(as.vector(weights(d))))
  designs[[nm]] <- spec
}


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

# Full covariance of by-domain estimates, across ALL cells (in cell order):
# indicator_vcov() in helpers.R (which explains the construction), evaluated
# under the design's lonely-PSU rule. r_call is evaluable in `env`.
by_vcov_full <- function(design, estimator, labels, domains, data, missing,
                         variables, denominator = NULL) {
  indicator_vcov(design, estimator, labels, domains, data, missing, variables, denominator,
                 evaluate = function(call) with_lonely_psu(designs[[design]]$lonely_psu, call))
}

# Attach vcov_full to a by-domain case whose svyby vcov is available: check
# estimates and the within-domain (diagonal) blocks against svyby to 1e-10
# (relative; covariances relative to sqrt(v_ii v_jj)). Under lonely_psu
# "average" R legitimately depends on which strata a domain touches, so a
# mismatch there drops vcov_full (reported) instead of failing.
add_vcov_full <- function(case, full, ndom) {
  if (is.null(case$vcov)) return(case)
  est <- vapply(case$cells, `[[`, 0, "estimate")
  stopifnot(all(abs(full$estimate - est) <= 1e-10 * abs(est)))
  same_domain <- outer(seq_along(est), seq_along(est),
                       function(i, j) (i - 1) %% ndom == (j - 1) %% ndom)
  scale <- sqrt(outer(diag(case$vcov), diag(case$vcov)))
  ok <- all(is.finite(full$vcov)) &&
    all(abs(full$vcov - case$vcov)[same_domain] <= 1e-10 * scale[same_domain])
  if (!ok && designs[[case$design]]$lonely_psu == "average") {
    message("vcov_full left out for ", case$id, ": within-domain blocks differ from svyby")
    return(case)
  }
  stopifnot(ok)
  case$r_call <- paste0(case$r_call, "; ", full$r_call)
  case$vcov_full <- full$vcov
  case
}

design_expr <- function(design, subset) {
  if (is.null(subset)) design else sprintf('subset(%s, %s == "%s")', design, subset$column, subset$value)
}

# svymean / svytotal (numeric means and totals, factor proportions), overall or by domain.
case_stat <- function(id, design, estimator, variables, by = NULL, subset = NULL,
                      missing = "raise", level = 0.95) {
  data <- datasets[[designs[[design]]$data]]
  proportion <- estimator == "proportion"
  fun <- if (estimator == "total") "svytotal" else "svymean"
  f <- formula_terms(data, variables, proportion)
  dexpr <- design_expr(design, subset)
  df_call <- sprintf("degf(%s)", dexpr)
  est_call <- if (is.null(by)) {
    sprintf("%s(%s, %s, deff=TRUE%s)", fun, f, dexpr, na_arg(missing))
  } else if (missing == "raise") {
    sprintf("svyby(%s, ~%s, %s, %s, covmat=TRUE, deff=TRUE)", f, paste(by, collapse = "+"), dexpr, fun)
  } else {
    # survey 4.1.1's svyby(covmat=TRUE) fails when FUN drops NA rows
    # ("number of items to replace is not a multiple of replacement length"),
    # so the covariance comes from the same svyby on the complete-case subset.
    sprintf("svyby(%s, ~%s, %s, %s, deff=TRUE, na.rm=TRUE)", f, paste(by, collapse = "+"), dexpr, fun)
  }
  vcov_call <- if (!is.null(by) && missing == "omit") {
    complete <- paste(sprintf("!is.na(%s)", variables), collapse = " & ")
    sprintf("vcov(svyby(%s, ~%s, subset(%s, %s), %s, covmat=TRUE))", f, paste(by, collapse = "+"),
            dexpr, complete, fun)
  } else {
    "vcov(est)"
  }
  lonely <- designs[[design]]$lonely_psu
  est <- with_lonely_psu(lonely, est_call)
  assign("est", est, envir = env)
  vc <- unname(as.matrix(with_lonely_psu(lonely, vcov_call)))
  if (anyNA(vc)) {
    # e.g. lonely_psu "average" with a stage-2 lonely unit: R's joint svyby
    # covariance is NaN throughout even where the per-domain SEs are finite.
    vc <- NULL
  } else {
    stopifnot(same_or_both_na(sqrt(diag(vc)), as.vector(as.matrix(SE(est)))))
  }
  df <- run(df_call)
  ci <- confint(est, level = level, df = df)
  domains <- if (is.null(by)) NULL else svyby_domains(est, by)
  r_call <- sprintf("est <- %s; confint(est, level=%s, df=%s); %s", est_call, level, df_call, vcov_call)
  case <- case_header(id, design, estimator, subset, by, missing, level, "t", df, r_call)
  case$variables <- I(variables)
  if (!is.null(subset)) case$degf <- df
  case$cells <- make_cells(stat_labels(data, variables, proportion), domains, coef(est),
                           as.vector(as.matrix(SE(est))), as.vector(as.matrix(deff(est))),
                           ci[, 1], ci[, 2])
  case["vcov"] <- list(vc)
  if (!is.null(by)) {
    full <- by_vcov_full(design, estimator, stat_labels(data, variables, proportion), domains,
                         data, missing, variables)
    case <- add_vcov_full(case, full, nrow(domains))
  }
  case
}

case_ratio <- function(id, design, numerator, denominator, by = NULL, missing = "raise", level = 0.95) {
  lonely <- designs[[design]]$lonely_psu
  df_call <- sprintf("degf(%s)", design)
  est_call <- if (is.null(by)) {
    sprintf("svyratio(~%s, ~%s, %s, deff=TRUE%s)", numerator, denominator, design, na_arg(missing))
  } else {
    sprintf("svyby(~%s, ~%s, %s, svyratio, denominator=~%s, covmat=TRUE, deff=TRUE%s)",
            numerator, paste(by, collapse = "+"), design, denominator, na_arg(missing))
  }
  est <- with_lonely_psu(lonely, est_call)
  df <- run(df_call)
  ci <- confint(est, level = level, df = df)
  if (is.null(by)) {
    deffs <- as.vector(attr(est, "deff"))
    se <- as.vector(SE(est))
    domains <- NULL
  } else {
    deffs <- as.vector(as.matrix(deff(est)))
    se <- as.vector(as.matrix(SE(est)))
    domains <- svyby_domains(est, by)
  }
  r_call <- sprintf("est <- %s; confint(est, level=%s, df=%s); vcov(est)", est_call, level, df_call)
  case <- case_header(id, design, "ratio", NULL, by, missing, level, "t", df, r_call)
  case$numerator <- I(numerator)
  case$denominator <- I(denominator)
  labels <- list(list(variable = paste0(numerator, "/", denominator), level = NULL))
  case$cells <- make_cells(labels, domains, as.vector(coef(est)), se, deffs, ci[, 1], ci[, 2])
  case$vcov <- unname(as.matrix(vcov(est)))
  if (!is.null(by)) {
    full <- by_vcov_full(design, "ratio", list(list(variable = numerator, level = NULL)), domains, datasets[[designs[[design]]$data]],
                         missing, numerator, denominator)
    case <- add_vcov_full(case, full, nrow(domains))
  }
  case
}

# svyquantile (qrule "math", Woodruff "mean" intervals); se and interval are R's.
case_quantile <- function(id, design, variable, quantiles, by = NULL, level = 0.95) {
  lonely <- designs[[design]]$lonely_psu
  df <- degf(get(design, envir = env))
  alpha <- if (level == 0.95) "" else sprintf(", alpha=%s", 1 - level)
  qs <- sprintf("c(%s)", paste(quantiles, collapse = ", "))
  labels <- lapply(quantiles, function(p) list(variable = variable, level = as.character(p)))
  if (is.null(by)) {
    est_call <- sprintf("svyquantile(~%s, %s, quantiles=%s, ci=TRUE, se=TRUE%s)", variable, design, qs, alpha)
    est <- with_lonely_psu(lonely, est_call)
    m <- est[[variable]]
    stopifnot(identical(rownames(m), as.character(quantiles)))
    cells <- make_cells(labels, NULL, m[, 1], m[, 4], NULL, m[, 2], m[, 3])
    df_note <- sprintf("df=degf(%s) (svyquantile default)", design)
  } else {
    # vartype "ci" gives the Woodruff interval of each domain; confint() on
    # the svyby object would give a symmetric Wald interval instead.
    est_call <- sprintf(paste0("svyby(~%s, ~%s, %s, svyquantile, quantiles=%s, ci=TRUE%s,",
                               " vartype=c(\"se\", \"ci\"), df=degf(%s))"),
                        variable, paste(by, collapse = "+"), design, qs, alpha, design)
    est <- with_lonely_psu(lonely, est_call)
    # columns: by variables, then blocks of estimates, se, ci_l, ci_u
    tab <- as.data.frame(est)
    nstats <- attr(est, "svyby")$nstats
    stopifnot(ncol(tab) == length(by) + 4 * nstats, nstats == length(quantiles))
    block <- function(b) as.vector(as.matrix(tab[, length(by) + (b - 1) * nstats + seq_len(nstats)]))
    cells <- make_cells(labels, svyby_domains(est, by), block(1), block(2), NULL, block(3), block(4))
    df_note <- sprintf("df=degf(%s)", design)
  }
  case <- case_header(id, design, "quantile", NULL, by, "raise", level, "t", df,
                      paste0(est_call, "  # ", df_note))
  case$variables <- I(variable)
  case$quantiles <- I(quantiles)
  case$cells <- cells
  case["vcov"] <- list(NULL)
  case
}

# svyciprop for I(variable == value); in a domain: subset design, full design's df.
case_ciprop <- function(id, design, variable, value, method, domain = NULL, level = 0.95) {
  lonely <- designs[[design]]$lonely_psu
  df_call <- sprintf("degf(%s)", design)
  dexpr <- if (is.null(domain)) design else design_expr(design, domain)
  df_arg <- if (is.null(domain)) "" else sprintf(", df=%s", df_call)
  est_call <- sprintf('svyciprop(~I(%s == "%s"), %s, method="%s", level=%s%s)',
                      variable, value, dexpr, method, level, df_arg)
  est <- with_lonely_psu(lonely, est_call)
  df <- run(df_call)
  ci <- attr(est, "ci")
  by <- if (is.null(domain)) NULL else domain$column
  domains <- if (is.null(domain)) NULL else setNames(data.frame(domain$value), domain$column)
  case <- case_header(id, design, "proportion", NULL, by, "raise", level, method, df, est_call)
  case$variables <- I(variable)
  case$cells <- make_cells(list(list(variable = variable, level = value)), domains,
                           unname(coef(est)), sqrt(as.vector(attr(est, "var"))), NULL, ci[1], ci[2])
  case["vcov"] <- list(NULL)
  case
}

E <- list(column = "stype", value = "E")
cases <- list()
add <- function(case) cases[[length(cases) + 1]] <<- case

for (p in c("strat", "strat_frac")) {
  add(case_stat(paste0(p, "_mean"), p, "mean", c("api00", "enroll")))
  add(case_stat(paste0(p, "_total"), p, "total", "api00"))
  add(case_stat(paste0(p, "_prop_awards"), p, "proportion", "awards"))
  add(case_ratio(paste0(p, "_ratio"), p, "api.stu", "enroll"))
  add(case_quantile(paste0(p, "_quantile"), p, "api00", c(0.25, 0.5, 0.75)))
  add(case_stat(paste0(p, "_mean_by_stype"), p, "mean", "api00", by = "stype"))
  add(case_stat(paste0(p, "_total_by_stype"), p, "total", "enroll", by = "stype"))
  add(case_stat(paste0(p, "_prop_awards_by_stype_schwide"), p, "proportion", "awards",
                by = c("stype", "sch.wide")))
  add(case_ratio(paste0(p, "_ratio_by_stype"), p, "api.stu", "enroll", by = "stype"))
  add(case_quantile(paste0(p, "_quantile_by_stype"), p, "api00", c(0.25, 0.5, 0.75), by = "stype"))
  add(case_stat(paste0(p, "_subset_E_mean"), p, "mean", "api00", subset = E))
}
add(case_stat("strat_mean_90", "strat", "mean", "api00", level = 0.9))
add(case_stat("strat_prop_awards_by_stype_90", "strat", "proportion", "awards", by = "stype", level = 0.9))
add(case_quantile("strat_quantile_90", "strat", "api00", c(0.1, 0.5, 0.9), level = 0.9))
add(case_quantile("strat_quantile_by_stype_90", "strat", "api00", c(0.5), by = "stype", level = 0.9))

for (p in c("clus1", "clus1_nofpc")) {
  add(case_stat(paste0(p, "_mean"), p, "mean", "api00"))
  add(case_stat(paste0(p, "_total_enroll"), p, "total", "enroll"))
  add(case_stat(paste0(p, "_prop_schwide"), p, "proportion", "sch.wide"))
  add(case_stat(paste0(p, "_mean_by_stype"), p, "mean", "api00", by = "stype"))
  add(case_stat(paste0(p, "_mean_avged_omit"), p, "mean", "avg.ed", missing = "omit"))
  add(case_quantile(paste0(p, "_quantile"), p, "api00", c(0.25, 0.5, 0.75)))
  add(case_stat(paste0(p, "_subset_E_mean"), p, "mean", "api00", subset = E))
}
add(case_stat("clus1_mean_avged_by_stype_omit", "clus1", "mean", "avg.ed", by = "stype", missing = "omit"))

add(case_stat("clus2_mean", "clus2", "mean", "api00"))
add(case_stat("clus2_total_enroll_omit", "clus2", "total", "enroll", missing = "omit"))
add(case_stat("clus2_prop_awards", "clus2", "proportion", "awards"))
add(case_stat("clus2_mean_by_stype", "clus2", "mean", "api00", by = "stype"))
add(case_ratio("clus2_ratio_omit", "clus2", "api.stu", "enroll", missing = "omit"))
add(case_quantile("clus2_quantile", "clus2", "api00", c(0.25, 0.5, 0.75)))

add(case_stat("nhanes_mean_hichol_omit", "nhanes", "mean", "HI_CHOL", missing = "omit"))
add(case_stat("nhanes_prop_race_by_gender", "nhanes", "proportion", "race", by = "RIAGENDR"))
add(case_stat("nhanes_prop_agecat", "nhanes", "proportion", "agecat"))
add(case_stat("nhanes_mean_hichol_by_race_omit", "nhanes", "mean", "HI_CHOL", by = "race", missing = "omit"))

for (rule in c("remove", "adjust", "average", "certainty")) {
  p <- paste0("nhanes_lonely_", rule)
  add(case_stat(paste0(p, "_mean"), p, "mean", "HI_CHOL", missing = "omit"))
  add(case_stat(paste0(p, "_total"), p, "total", "HI_CHOL", missing = "omit"))
  add(case_stat(paste0(p, "_mean_by_gender"), p, "mean", "HI_CHOL", by = "RIAGENDR", missing = "omit"))
  p <- paste0("clus1_lonely_", rule)
  add(case_stat(paste0(p, "_mean"), p, "mean", "api00"))
  add(case_stat(paste0(p, "_total"), p, "total", "enroll"))
  add(case_stat(paste0(p, "_mean_by_stype"), p, "mean", "api00", by = "stype"))
  p <- paste0("clus2_lonely2_", rule)
  add(case_stat(paste0(p, "_mean"), p, "mean", "api00"))
  add(case_stat(paste0(p, "_total"), p, "total", "api00"))
  add(case_stat(paste0(p, "_mean_by_stype"), p, "mean", "api00", by = "stype"))
}
add(case_stat("clus1_lonely_cert_raise_mean", "clus1_lonely_cert_raise", "mean", "api00"))
add(case_stat("clus1_lonely_cert_raise_total", "clus1_lonely_cert_raise", "total", "enroll"))

for (method in c("logit", "likelihood", "asin", "beta", "mean", "xlogit")) {
  add(case_ciprop(paste0("clus1_ciprop_", method), "clus1", "sch.wide", "Yes", method))
  add(case_ciprop(paste0("clus1_ciprop_", method, "_E"), "clus1", "sch.wide", "Yes", method, domain = E))
}
add(case_ciprop("clus1_ciprop_logit_90", "clus1", "sch.wide", "Yes", "logit", level = 0.9))
add(case_ciprop("clus1_ciprop_beta_E_90", "clus1", "sch.wide", "Yes", "beta", domain = E, level = 0.9))

stopifnot(!anyDuplicated(vapply(cases, `[[`, "", "id")))


# ---------------------------------------------------------------------------
# Errors R raises that the Python side must raise too
# ---------------------------------------------------------------------------

error_case <- function(id, spec, estimator, variables, est_call) {
  spec_call <- design_call(spec)
  r_call <- sprintf("d <- %s; %s", spec_call, est_call)
  msg <- NULL
  # svydesign() prints diagnostics to stdout before some errors; keep them quiet.
  capture.output(msg <- tryCatch({
    with_lonely_psu(spec$lonely_psu, r_call, new.env(parent = data_env))
    NULL
  }, error = function(e) conditionMessage(e)))
  if (is.null(msg)) stop("expected an R error for ", id)
  spec$r_call <- spec_call
  list(id = id, design = spec, estimator = estimator, variables = I(variables),
       r_call = r_call, r_error = msg)
}

errors <- list(
  error_case("lonely_psu_raise_nhanes",
             design_spec("nhanes_lonely", weights = "WTMEC2YR", strata = "SDMVSTRA",
                         clusters = "SDMVPSU", nest = TRUE),
             "mean", "HI_CHOL", "svymean(~HI_CHOL, d, na.rm=TRUE)"),
  error_case("lonely_psu_raise_clus1",
             design_spec("apiclus1_lonely", strata = "dstrat", clusters = "dnum", fpc = "dfpc"),
             "mean", "api00", "svymean(~api00, d)"),
  error_case("lonely_psu_raise_stage2",
             design_spec("apiclus2_lonely2", clusters = c("dnum", "snum"), fpc = c("fpc1", "fpc2")),
             "mean", "api00", "svymean(~api00, d)"),
  error_case("nhanes_not_nested",
             design_spec("nhanes", weights = "WTMEC2YR", strata = "SDMVSTRA", clusters = "SDMVPSU"),
             "mean", "HI_CHOL", "svymean(~HI_CHOL, d, na.rm=TRUE)"),
  error_case("fpc_over_100_percent",
             design_spec("apistrat_fpc", weights = "pw", strata = "stype", fpc = "fpc_over"),
             "mean", "api00", "svymean(~api00, d)"),
  error_case("fpc_mixed_sizes_and_fractions",
             design_spec("apistrat_fpc", weights = "pw", strata = "stype", fpc = "fpc_mixed"),
             "mean", "api00", "svymean(~api00, d)")
)


# ---------------------------------------------------------------------------
# Write the fixture
# ---------------------------------------------------------------------------

write_fixture("tests/reference/core.R", list(designs = designs, cases = cases, errors = errors), FIXTURE)
