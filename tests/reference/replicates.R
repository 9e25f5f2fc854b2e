# Reference numbers for nea_covid's replicate-weight designs, computed with R's
# `survey`.
#
# This script
#   (a) writes derived test-only data sets with replicate weights to
#       tests/reference/data/*.csv (every numeric value round-trips exactly):
#         nhanes_2psu     nhanes without PSU 3 of stratum 86 (two PSUs per stratum)
#         apistrat_boot   apistrat + rep1..rep50, R's bootstrap replicate weights
#                         (final weights) of the `strat` design, set.seed(SEED)
#         apiclus1_rep    apiclus1 + jkstrat, jkn1..jkn15 (final JKn weights),
#                         fac1..fac15 (JK1 adjustment factors), sdr1..sdr16
#                         (successive-difference adjustment factors);
#       the public data sets (api, nhanes) are those core.R exports;
#   (b) builds replicate designs, either by conversion of a Taylor design
#       (as.svrepdesign) or from replicate-weight columns (svrepdesign), records
#       R's scale, rscales, mse, degf and final replicate weights, and computes
#       means, totals, proportions, ratios, quantiles and by-domain estimates
#       (with their full covariance) on them; R errors of conversions go to
#       "errors". Everything is written to tests/reference/fixtures/replicates.json.
#
# All CSV and JSON outputs are GENERATED: do not edit them by hand.
# Regenerate from the repository root with
#     nox -s r_reference
# or
#     Rscript tests/reference/replicates.R
# Requires R with the packages survey (the fixture records its version) and
# jsonlite. Shared helpers are in tests/reference/helpers.R.
#
# Fixture conventions (as core.json): each design's r_call is evaluated with the
# data sets bound by name; each case's r_call with the designs bound under their
# fixture names. Cells follow R's coefficient order (statistic-major, domains
# inner); "vcov" is in cell order and, for replicate designs, svyby(covmat =
# TRUE) gives the FULL covariance across domains (computed from the replicates).
#
# Designs: {"kind": "conversion", "source": <SurveyDesign keywords>, "method",
# "rho", "replicates"} means SurveyDesign(**source).to_replicate(method, rho=,
# replicates=); {"kind": "replicate", "data", "weights", "replicate_weights",
# "method", "scale", "rscales", "mse", "combined_weights", "rho"} means
# ReplicateDesign(load(data), **keywords), with scale/rscales null where the R
# call leaves them to R. R's facts: "r_scale", "r_rscales", "r_mse" (for
# conversions also as "scale", "rscales", "mse"), "degf" = degf(rd),
# "n_replicates", "repweights" = weights(rd, "analysis") (n x R, list of rows),
# "weights_out" = weights(rd, "sampling"), "r_warnings". The bootstrap
# conversion is random ("random": true): its replicate weights are exported to
# apistrat_boot.csv and the design `strat_boot` reuses them.
#
# Quirks of survey 4.1.1 worth knowing:
#   * degf(rd) is the rank of the analysis-weight matrix (qr, tol = 1e-5) minus
#     one, not a count of PSUs or strata;
#   * with mse = FALSE the replicates are centred at the mean over replicates
#     with rscales > 0 (svrVar), so a replicate with rscale 0 is left out of the
#     centre as well as out of the sum (design `clus1_other`);
#   * BRR conversion splits a stratum with an even number (> 2) of PSUs into
#     consecutive pairs (PSUs in order of first appearance), each pair its own
#     pseudo-stratum; an odd number of PSUs is an error (`errors`). BRR and Fay
#     conversions drop the fpc with a warning;
#   * there is no successive-difference conversion (as.svrepdesign has no such
#     type); svrepdesign(type = "successive-difference") fixes scale = 4 / R and
#     rscales = 1;
#   * svyquantile on a replicate design uses interval.type = "mean" by default:
#     the Woodruff interval, with the variance of the estimated CDF at the
#     quantile, svymean(x <= q, rd), taken from the replicates (respecting mse);
#     the interval for p is p_hat +- qt(1 - alpha/2, degf(rd)) * SE, mapped back
#     through the full-sample quantile function (qrule "math"), and the reported
#     SE is (upper - lower) / (2 * qt(1 - alpha/2, degf(rd))).

if (!file.exists("tests/reference/replicates.R")) {
  stop("run this script from the repository root: Rscript tests/reference/replicates.R")
}
source("tests/reference/helpers.R")

REF_DATA <- "tests/reference/data"
FIXTURE <- "tests/reference/fixtures/replicates.json"
for (dir in c(REF_DATA, dirname(FIXTURE))) {
  dir.create(dir, recursive = TRUE, showWarnings = FALSE)
}
SEED <- 20240601L  # set.seed() before the bootstrap conversion

options(survey.lonely.psu = "fail", survey.ultimate.cluster = FALSE,
        survey.adjust.domain.lonely = FALSE, survey.replicates.mse = FALSE)

data(api)
data(nhanes)
datasets <- list(apistrat = apistrat, apiclus1 = apiclus1, apiclus2 = apiclus2, nhanes = nhanes)

data_env <- new.env()
env <- new.env(parent = data_env)
bind_data <- function() for (nm in names(datasets)) assign(nm, datasets[[nm]], envir = data_env)
bind_data()

run <- function(code, envir = env) eval(parse(text = code), envir = envir)

# Evaluate code, collecting (and muffling) its warnings.
run_collect <- function(code, envir) {
  warns <- character(0)
  value <- withCallingHandlers(run(code, envir), warning = function(w) {
    warns <<- c(warns, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = warns)
}

conversion_call <- function(spec, method, rho = NULL, replicates = NULL) {
  type <- if (method == "SDR") "successive-difference" else method
  extra <- ""
  if (!is.null(rho)) extra <- paste0(extra, sprintf(", fay.rho=%s", format_exact(rho)))
  if (!is.null(replicates)) extra <- paste0(extra, sprintf(", replicates=%d", replicates))
  sprintf('as.svrepdesign(%s, type="%s"%s)', design_call(spec), type, extra)
}

R_TYPE <- c(JK1 = "JK1", JKn = "JKn", BRR = "BRR", Fay = "Fay", bootstrap = "bootstrap",
            SDR = "successive-difference", other = "other")

numbers_call <- function(x) {
  if (length(x) == 1) format_exact(x) else sprintf("c(%s)", paste(format_exact(x), collapse = ", "))
}

replicate_call <- function(spec) {
  args <- c(sprintf("data=%s", spec$data), sprintf("weights=~%s", spec$weights),
            sprintf('repweights="%s"', spec$pattern), sprintf('type="%s"', R_TYPE[[spec$method]]))
  if (!is.null(spec$scale)) args <- c(args, sprintf("scale=%s", numbers_call(spec$scale)))
  if (!is.null(spec$rscales)) args <- c(args, sprintf("rscales=%s", numbers_call(spec$rscales)))
  if (!is.null(spec$rho)) args <- c(args, sprintf("rho=%s", format_exact(spec$rho)))
  args <- c(args, sprintf("combined.weights=%s", spec$combined_weights), sprintf("mse=%s", spec$mse))
  sprintf("svrepdesign(%s)", paste(args, collapse = ", "))
}

# R's facts about a replicate design.
design_facts <- function(rd, warnings) {
  rw <- unname(as.matrix(weights(rd, "analysis")))
  list(r_scale = unname(rd$scale), r_rscales = I(unname(as.vector(rd$rscales))),
       r_mse = isTRUE(rd$mse), degf = degf(rd), n_replicates = ncol(rw),
       repweights = rw, weights_out = I(unname(as.vector(weights(rd, "sampling")))),
       r_warnings = I(warnings))
}


# ---------------------------------------------------------------------------
# (a) Derived data sets with replicate weights
# ---------------------------------------------------------------------------

strat_spec <- design_spec("apistrat", weights = "pw", strata = "stype", fpc = "fpc")
clus1_spec <- design_spec("apiclus1", weights = "pw", clusters = "dnum", fpc = "fpc")
clus1_nofpc_spec <- design_spec("apiclus1", weights = "pw", clusters = "dnum")
nhanes2_spec <- design_spec("nhanes_2psu", weights = "WTMEC2YR", strata = "SDMVSTRA",
                            clusters = "SDMVPSU", nest = TRUE)

# nhanes has three PSUs in stratum 86 (BRR cannot split it, see `errors`);
# without PSU 3 every stratum has exactly two.
nhanes_2psu <- nhanes[!(nhanes$SDMVSTRA == 86 & nhanes$SDMVPSU == 3), ]
stopifnot(all(tapply(nhanes_2psu$SDMVPSU, nhanes_2psu$SDMVSTRA, function(p) length(unique(p))) == 2))

# Bootstrap replicate weights of `strat` (final weights).
BOOT_CALL <- sprintf("{set.seed(%d); %s}", SEED, conversion_call(strat_spec, "bootstrap", replicates = 50))
boot_rd <- run(BOOT_CALL, data_env)
apistrat_boot <- apistrat
boot_w <- unname(as.matrix(weights(boot_rd, "analysis")))
for (r in seq_len(ncol(boot_w))) apistrat_boot[[paste0("rep", r)]] <- boot_w[, r]

# apiclus1 replicate columns:
#   jkstrat      "A" for districts dnum < 300 (5 districts), "B" otherwise (10)
#   jkn1..jkn15  final weights of as.svrepdesign(svydesign(id=~dnum,
#                strata=~jkstrat, weights=~pw, data=apiclus1_rep), type="JKn")
#   fac1..fac15  JK1 adjustment factors of `clus1` (0 or 15/14)
#   sdr1..sdr16  successive-difference factors for the 15 districts in dnum
#                order: 1 + 2^(-3/2) (h[i, r] - h[i + 1, r]), h the rows 2..16
#                of the +-1 form of survey:::hadamard(15), cyclically (row 17 = row 2)
apiclus1_rep <- apiclus1
apiclus1_rep$jkstrat <- ifelse(apiclus1$dnum < 300, "A", "B")
jkn_rd <- as.svrepdesign(svydesign(id = ~dnum, strata = ~jkstrat, weights = ~pw, data = apiclus1_rep),
                         type = "JKn")
jkn_w <- unname(as.matrix(weights(jkn_rd, "analysis")))
jk1_rd <- run(conversion_call(clus1_spec, "JK1"), data_env)
jk1_f <- unname(as.matrix(weights(jk1_rd, "replication")))
H <- 2 * survey:::hadamard(15) - 1
districts <- sort(unique(apiclus1$dnum))
stopifnot(length(districts) == 15, nrow(H) == 16)
sdr_rows <- cbind(2:16, c(3:16, 2))
sdr_f <- 1 + 2^(-1.5) * (H[sdr_rows[, 1], ] - H[sdr_rows[, 2], ])
sdr_f <- sdr_f[match(apiclus1$dnum, districts), ]
for (r in seq_len(ncol(jkn_w))) apiclus1_rep[[paste0("jkn", r)]] <- jkn_w[, r]
for (r in seq_len(ncol(jk1_f))) apiclus1_rep[[paste0("fac", r)]] <- jk1_f[, r]
for (r in seq_len(ncol(sdr_f))) apiclus1_rep[[paste0("sdr", r)]] <- sdr_f[, r]

derived <- list(nhanes_2psu = nhanes_2psu, apistrat_boot = apistrat_boot, apiclus1_rep = apiclus1_rep)
for (nm in names(derived)) {
  write_exact_csv(derived[[nm]], file.path(REF_DATA, paste0(nm, ".csv")))
}
datasets <- c(datasets, derived)
bind_data()


# ---------------------------------------------------------------------------
# (b) Designs
# ---------------------------------------------------------------------------

conversion <- function(source, method, rho = NULL, replicates = NULL, call = NULL) {
  list(kind = "conversion", source = source, method = method, rho = rho, replicates = replicates,
       r_call = if (is.null(call)) conversion_call(source, method, rho, replicates) else call)
}

replicate <- function(data, pattern, method, scale = NULL, rscales = NULL, mse = FALSE,
                      combined_weights = TRUE, rho = NULL) {
  cols <- grep(pattern, names(datasets[[data]]), value = TRUE)
  spec <- list(kind = "replicate", data = data, weights = "pw", replicate_weights = I(cols),
               method = method, scale = scale, rscales = if (is.null(rscales)) NULL else I(rscales),
               mse = mse, combined_weights = combined_weights, rho = rho, pattern = pattern)
  spec$r_call <- replicate_call(spec)
  spec$pattern <- NULL
  spec
}

boot_scale <- unname(boot_rd$scale)
boot_rscales <- unname(boot_rd$rscales)
jkn_rscales <- unname(jkn_rd$rscales)
jk1_scale <- unname(jk1_rd$scale)
stopifnot(isTRUE(all.equal(sort(unique(jkn_rscales)), c(0.8, 0.9))))

designs <- list(
  strat_jkn = conversion(strat_spec, "JKn"),
  clus1_jk1 = conversion(clus1_spec, "JK1"),
  clus1_nofpc_jk1 = conversion(clus1_nofpc_spec, "JK1"),
  nhanes2_brr = conversion(nhanes2_spec, "BRR"),
  nhanes2_fay = conversion(nhanes2_spec, "Fay", rho = 0.3),
  # 100, 50 and 50 PSUs per stratum: split into pairs; the fpc is dropped (warning)
  strat_brr = conversion(strat_spec, "BRR"),
  strat_boot_conversion = conversion(strat_spec, "bootstrap", replicates = 50L, call = BOOT_CALL),
  strat_boot = replicate("apistrat_boot", "^rep[0-9]+$", "bootstrap", scale = boot_scale,
                         rscales = boot_rscales),
  clus1_jkn_mse = replicate("apiclus1_rep", "^jkn[0-9]+$", "JKn", scale = 1, rscales = jkn_rscales,
                            mse = TRUE),
  clus1_jkn = replicate("apiclus1_rep", "^jkn[0-9]+$", "JKn", scale = 1, rscales = jkn_rscales,
                        mse = FALSE),
  clus1_jk1_factors = replicate("apiclus1_rep", "^fac[0-9]+$", "JK1", scale = jk1_scale,
                                combined_weights = FALSE),
  clus1_sdr = replicate("apiclus1_rep", "^sdr[0-9]+$", "SDR", combined_weights = FALSE),
  clus1_other = replicate("apiclus1_rep", "^jkn[0-9]+$", "other", scale = 0.5,
                          rscales = c(0, rep(c(0.5, 1), 7)))
)

for (nm in names(designs)) {
  spec <- designs[[nm]]
  got <- run_collect(spec$r_call, data_env)
  rd <- got$value
  assign(nm, rd, envir = env)
  spec <- c(spec, design_facts(rd, got$warnings))
  if (spec$kind == "conversion") {
    spec$scale <- spec$r_scale
    spec$rscales <- spec$r_rscales
    spec$mse <- spec$r_mse
    if (spec$method == "bootstrap") {
      spec$random <- TRUE
      spec$seed <- SEED
    }
  }
  designs[[nm]] <- spec
}

# The CSV-based designs reproduce the conversions they were exported from.
same_w <- function(a, b) identical(unname(as.matrix(weights(a, "analysis"))),
                                   unname(as.matrix(weights(b, "analysis"))))
stopifnot(same_w(env$strat_boot, env$strat_boot_conversion),
          same_w(env$clus1_jk1_factors, env$clus1_jk1),
          same_w(env$clus1_jkn, jkn_rd),
          identical(env$strat_boot$scale, env$strat_boot_conversion$scale),
          identical(env$clus1_jk1_factors$scale, env$clus1_jk1$scale),
          isTRUE(all.equal(SE(svymean(~api00, env$strat_boot)),
                           SE(svymean(~api00, env$strat_boot_conversion)), tolerance = 1e-14)),
          isTRUE(all.equal(SE(svytotal(~enroll, env$clus1_jk1_factors)),
                           SE(svytotal(~enroll, env$clus1_jk1)), tolerance = 1e-14)))


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

design_data <- function(design) {
  spec <- designs[[design]]
  datasets[[if (spec$kind == "conversion") spec$source$data else spec$data]]
}

# svymean / svytotal (numeric means and totals, factor proportions), overall or
# by domain (svyby(covmat = TRUE): full covariance from the replicates).
case_stat <- function(id, design, estimator, variables, by = NULL, missing = "raise", level = 0.95) {
  data <- design_data(design)
  proportion <- estimator == "proportion"
  fun <- if (estimator == "total") "svytotal" else "svymean"
  f <- formula_terms(data, variables, proportion)
  df_call <- sprintf("degf(%s)", design)
  est_call <- if (is.null(by)) {
    sprintf("%s(%s, %s%s)", fun, f, design, na_arg(missing))
  } else {
    sprintf("svyby(%s, ~%s, %s, %s, covmat=TRUE%s)", f, paste(by, collapse = "+"), design, fun,
            na_arg(missing))
  }
  est <- run(est_call)
  df <- run(df_call)
  ci <- confint(est, level = level, df = df)
  vc <- unname(as.matrix(vcov(est)))
  se <- as.vector(as.matrix(SE(est)))
  stopifnot(isTRUE(all.equal(sqrt(diag(vc)), se, tolerance = 1e-12)))
  domains <- if (is.null(by)) NULL else svyby_domains(est, by)
  r_call <- sprintf("est <- %s; confint(est, level=%s, df=%s); vcov(est)", est_call, level, df_call)
  case <- case_header(id, design, estimator, NULL, by, missing, level, "t", df, r_call)
  case$variables <- I(variables)
  case$cells <- make_cells(stat_labels(data, variables, proportion), domains, coef(est), se, NULL,
                           ci[, 1], ci[, 2])
  case$vcov <- vc
  case
}

case_ratio <- function(id, design, numerator, denominator, by = NULL, missing = "raise", level = 0.95) {
  df_call <- sprintf("degf(%s)", design)
  est_call <- if (is.null(by)) {
    sprintf("svyratio(~%s, ~%s, %s%s)", numerator, denominator, design, na_arg(missing))
  } else {
    sprintf("svyby(~%s, ~%s, %s, svyratio, denominator=~%s, covmat=TRUE%s)",
            numerator, paste(by, collapse = "+"), design, denominator, na_arg(missing))
  }
  est <- run(est_call)
  df <- run(df_call)
  ci <- confint(est, level = level, df = df)
  se <- as.vector(as.matrix(SE(est)))
  vc <- unname(as.matrix(vcov(est)))
  stopifnot(isTRUE(all.equal(sqrt(diag(vc)), se, tolerance = 1e-12)))
  domains <- if (is.null(by)) NULL else svyby_domains(est, by)
  r_call <- sprintf("est <- %s; confint(est, level=%s, df=%s); vcov(est)", est_call, level, df_call)
  case <- case_header(id, design, "ratio", NULL, by, missing, level, "t", df, r_call)
  case$numerator <- I(numerator)
  case$denominator <- I(denominator)
  labels <- list(list(variable = paste0(numerator, "/", denominator), level = NULL))
  case$cells <- make_cells(labels, domains, as.vector(coef(est)), se, NULL, ci[, 1], ci[, 2])
  case$vcov <- vc
  case
}

# svyquantile with survey 4.1.1's defaults for replicate designs: qrule "math",
# interval.type "mean" (Woodruff, replicate variance of the CDF), df = degf(rd);
# se = (ci_high - ci_low) / (2 qt(1 - alpha/2, df)) (checked here).
case_quantile <- function(id, design, variable, quantiles, level = 0.95) {
  df <- degf(get(design, envir = env))
  alpha <- if (level == 0.95) "" else sprintf(", alpha=%s", 1 - level)
  qs <- sprintf("c(%s)", paste(quantiles, collapse = ", "))
  est_call <- sprintf("svyquantile(~%s, %s, quantiles=%s, ci=TRUE, se=TRUE%s)", variable, design, qs, alpha)
  m <- run(est_call)[[variable]]
  stopifnot(identical(rownames(m), as.character(quantiles)),
            isTRUE(all.equal(m[, 4], (m[, 3] - m[, 2]) / (2 * qt(1 - (1 - level) / 2, df)),
                             tolerance = 1e-14)))
  labels <- lapply(quantiles, function(p) list(variable = variable, level = as.character(p)))
  case <- case_header(id, design, "quantile", NULL, NULL, "raise", level, "t", df,
                      sprintf("%s  # interval.type=\"mean\", qrule=\"math\", df=degf(%s)", est_call, design))
  case$variables <- I(variable)
  case$quantiles <- I(quantiles)
  case$interval_type <- "mean"
  case$qrule <- "math"
  case$cells <- make_cells(labels, NULL, m[, 1], m[, 4], NULL, m[, 2], m[, 3])
  case["vcov"] <- list(NULL)
  case
}

cases <- list()
add <- function(case) cases[[length(cases) + 1]] <<- case

api_cases <- function(p) {
  add(case_stat(paste0(p, "_mean"), p, "mean", c("api00", "enroll")))
  add(case_stat(paste0(p, "_total"), p, "total", "enroll"))
  add(case_stat(paste0(p, "_prop_awards"), p, "proportion", "awards"))
  add(case_ratio(paste0(p, "_ratio"), p, "api.stu", "enroll"))
  add(case_stat(paste0(p, "_mean_by_stype"), p, "mean", "api00", by = "stype"))
}
nhanes_cases <- function(p) {
  add(case_stat(paste0(p, "_mean_omit"), p, "mean", c("HI_CHOL", "RIAGENDR"), missing = "omit"))
  add(case_stat(paste0(p, "_total_omit"), p, "total", "HI_CHOL", missing = "omit"))
  add(case_stat(paste0(p, "_prop_agecat"), p, "proportion", "agecat"))
  add(case_ratio(paste0(p, "_ratio_omit"), p, "HI_CHOL", "RIAGENDR", missing = "omit"))
  add(case_stat(paste0(p, "_mean_by_gender_omit"), p, "mean", "HI_CHOL", by = "RIAGENDR",
                missing = "omit"))
  add(case_stat(paste0(p, "_prop_race_by_gender"), p, "proportion", "race", by = "RIAGENDR"))
}

for (p in c("strat_jkn", "strat_brr", "strat_boot")) api_cases(p)
for (p in c("clus1_jk1", "clus1_nofpc_jk1", "clus1_jkn_mse", "clus1_jkn", "clus1_jk1_factors",
            "clus1_sdr", "clus1_other")) {
  api_cases(p)
  add(case_stat(paste0(p, "_mean_avged_omit"), p, "mean", "avg.ed", missing = "omit"))
}
for (p in c("nhanes2_brr", "nhanes2_fay")) nhanes_cases(p)

add(case_stat("strat_jkn_prop_awards_by_stype", "strat_jkn", "proportion", "awards", by = "stype"))
add(case_ratio("strat_jkn_ratio_by_stype", "strat_jkn", "api.stu", "enroll", by = "stype"))
add(case_stat("strat_boot_total_by_stype", "strat_boot", "total", "enroll", by = "stype"))
add(case_stat("clus1_jk1_mean_avged_by_stype_omit", "clus1_jk1", "mean", "avg.ed", by = "stype",
              missing = "omit"))
add(case_stat("clus1_jkn_mse_mean_90", "clus1_jkn_mse", "mean", "api00", level = 0.9))

for (p in c("strat_jkn", "strat_boot", "strat_brr", "clus1_jk1", "clus1_jkn_mse", "clus1_jkn",
            "clus1_sdr")) {
  add(case_quantile(paste0(p, "_quantile"), p, "api00", c(0.25, 0.5)))
}
add(case_quantile("clus1_jk1_quantile_90", "clus1_jk1", "api00", c(0.1, 0.5, 0.9), level = 0.9))

stopifnot(!anyDuplicated(vapply(cases, `[[`, "", "id")))


# ---------------------------------------------------------------------------
# Conversions R refuses
# ---------------------------------------------------------------------------

error_case <- function(id, source, method, rho = NULL) {
  r_call <- conversion_call(source, method, rho)
  msg <- NULL
  capture.output(msg <- tryCatch({
    run_collect(r_call, data_env)
    NULL
  }, error = function(e) conditionMessage(e)))
  if (is.null(msg)) stop("expected an R error for ", id)
  list(id = id, kind = "conversion", source = source, method = method, rho = rho,
       r_call = r_call, r_error = msg)
}

nhanes_spec <- design_spec("nhanes", weights = "WTMEC2YR", strata = "SDMVSTRA",
                           clusters = "SDMVPSU", nest = TRUE)
nhanes_lonely <- nhanes[!(nhanes$SDMVSTRA == 89 & nhanes$SDMVPSU == 2), ]
assign("nhanes_lonely", nhanes_lonely, envir = data_env)  # as tests/reference/data/nhanes_lonely.csv
errors <- list(
  # stratum 86 has 3 PSUs: BRR splits larger strata into pairs and fails on an odd count
  error_case("brr_odd_psus_in_stratum", nhanes_spec, "BRR"),
  error_case("fay_odd_psus_in_stratum", nhanes_spec, "Fay", rho = 0.3),
  # stratum 89 has 1 PSU
  error_case("brr_lonely_psu", design_spec("nhanes_lonely", weights = "WTMEC2YR", strata = "SDMVSTRA",
                                           clusters = "SDMVPSU", nest = TRUE), "BRR"),
  error_case("jk1_stratified", strat_spec, "JK1"),
  error_case("jkn_unstratified", clus1_spec, "JKn"),
  error_case("brr_unstratified", clus1_spec, "BRR"),
  # as.svrepdesign has no successive-difference type
  error_case("sdr_conversion_unsupported", strat_spec, "SDR")
)


# ---------------------------------------------------------------------------
# Write the fixture
# ---------------------------------------------------------------------------

write_fixture("tests/reference/replicates.R", list(designs = designs, cases = cases, errors = errors), FIXTURE)
