# Reference numbers for nea_covid's weight calibration (post-stratification,
# raking, linear/raking/logit calibration, weight trimming), computed with R's
# `survey`.
#
# This script calibrates the Taylor designs `strat`, `clus1` and `clus2` of
# core.json and a JK1 conversion of `clus1` to the api population (apipop), and
# writes the calibrated weights (and, for the replicate design, the calibrated
# replicate weights), estimates on the calibrated designs, and the R errors the
# Python side must reproduce to tests/reference/fixtures/calibration.json.
# It reads no CSVs of its own: the data sets are survey's api data (exported by
# core.R).
#
# The JSON output is GENERATED: do not edit it by hand.
# Regenerate from the repository root with
#     nox -s r_reference
# or
#     Rscript tests/reference/calibration.R
# Requires R with the packages survey (the fixture records its version) and
# jsonlite. Shared helpers are in tests/reference/helpers.R.
#
# Fixture conventions (as core.json): each calibration's "design" is either the
# SurveyDesign keywords of core.json or a conversion spec (as in
# replicates.json: SurveyDesign(**source).to_replicate(method)); "operation"
# and "args" are the Python method and its keyword arguments; "r_call" is
# evaluated with the base designs bound under their names (`strat`, `clus1`,
# `clus2`, `clus1_jk1`), and each case's r_call with the calibrated design bound
# under the calibration's id. "weights_out" = weights(d) (sampling weights),
# "repweights_out" = weights(rd, "analysis") (n x R, list of rows). Cells follow
# R's coefficient order (statistic-major, domains inner); "vcov" is the full
# covariance in cell order: by domain, from svyby(covmat = TRUE) for the
# replicate design and from one svyratio/svytotal call on domain-indicator
# columns for Taylor designs (indicator_vcov in helpers.R; see case_stat).
#
# Population totals come from apipop: stype E 4421, H 755, M 1018; sch.wide
# No 1072, Yes 5122; api99 3914069; N = 6194. R's calibrate() takes totals of
# the model-matrix columns (intercept and treatment dummies), the Python API
# totals per level: args hold the Python form, r_call R's vector.
#
# Quirks of survey 4.1.1 worth knowing:
#   * rake(control = list(epsilon = e)) with e < 1 stops when no cell of the
#     joint table of the full-sample weights moves by more than e * sum(weights)
#     in an iteration; a replicate design's replicates are raked for the same
#     number of iterations, converged or not. With epsilon = 1e-12 the JK1
#     replicates of clus1 still miss the stype margin by 8e-11 (relative), so
#     raking here runs to epsilon = 1e-15: every weight column reproduces every
#     margin to 1e-11 (relative; checked, and printed when the script runs).
#     The rake args carry the Python keywords max_iter = 100 and tol = 1e-12:
#     the Python tolerance is its own convergence rule, not R's epsilon (a
#     margin tolerance of 1e-15 * sum(weights) is below rounding noise);
#   * calibrate() stops when |misfit| / (1 + |total|) < epsilon for every
#     total; linear calibration without bounds is closed-form (regcalibrate),
#     with finite bounds it iterates (grake) and fails ("Calibration failed",
#     after a "Failed to converge" warning) when the bounds cannot be met, as
#     does logit (see "errors"; with the default maxit and epsilon, R's logit
#     error is "missing value where TRUE/FALSE needed" instead);
#   * trimWeights(strict = FALSE) moves the trimmed excess equally onto the
#     untrimmed weights once (they may cross a bound again); strict = TRUE
#     repeats until all weights are within the bounds;
#   * svyby(covmat = TRUE) fails on calibrated (post-stratified, raked,
#     calibrated) Taylor designs ("number of items to replace is not a multiple
#     of replacement length"); see case_stat for the covariance used instead;
#   * trimWeights on a replicate design is broken in survey 4.1.1 (the sampling
#     weights are left unchanged and the replicate weights garbled, with a
#     recycling warning): it is listed under "not_reproduced", not as a case.

if (!file.exists("tests/reference/calibration.R")) {
  stop("run this script from the repository root: Rscript tests/reference/calibration.R")
}
source("tests/reference/helpers.R")

FIXTURE <- "tests/reference/fixtures/calibration.json"
dir.create(dirname(FIXTURE), recursive = TRUE, showWarnings = FALSE)

options(survey.lonely.psu = "fail", survey.ultimate.cluster = FALSE,
        survey.adjust.domain.lonely = FALSE, survey.replicates.mse = FALSE)

data(api)
datasets <- list(apistrat = apistrat, apiclus1 = apiclus1, apiclus2 = apiclus2)

data_env <- new.env()
for (nm in names(datasets)) assign(nm, datasets[[nm]], envir = data_env)
env <- new.env(parent = data_env)

run <- function(code, envir = env) eval(parse(text = code), envir = envir)

run_collect <- function(code, envir = env) {
  warns <- character(0)
  value <- withCallingHandlers(run(code, envir), warning = function(w) {
    warns <<- c(warns, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = warns)
}


# ---------------------------------------------------------------------------
# Population totals (apipop)
# ---------------------------------------------------------------------------

pop_stype <- table(apipop$stype)
pop_schwide <- table(apipop$sch.wide)
api99_total <- sum(apipop$api99)
N <- nrow(apipop)
stopifnot(!anyNA(apipop$api99), !anyNA(apipop$stype), !anyNA(apipop$sch.wide),
          identical(as.vector(pop_stype), c(4421L, 755L, 1018L)),
          identical(as.vector(pop_schwide), c(1072L, 5122L)), api99_total == 3914069, N == 6194)

py_totals <- function(tab) as.list(setNames(as.vector(tab), names(tab)))
r_vector <- function(x) sprintf("c(%s)", paste(x, collapse = ", "))
r_strings <- function(x) r_vector(encodeString(x, quote = '"'))
# data.frame(<variable>=c(levels), Freq=c(counts)) as postStratify/rake take it
pop_frame <- function(variable, tab) {
  sprintf("data.frame(%s=%s, Freq=%s)", variable, r_strings(names(tab)), r_vector(as.vector(tab)))
}
# calibrate()'s population: totals of model.matrix(~stype + api99) columns
cal_population <- sprintf("c(`(Intercept)`=%d, stypeH=%d, stypeM=%d, api99=%s)", N,
                          pop_stype[["H"]], pop_stype[["M"]], format(api99_total))
py_cal_totals <- list(stype = py_totals(pop_stype), api99 = api99_total)


# ---------------------------------------------------------------------------
# Base designs
# ---------------------------------------------------------------------------

base <- list(
  strat = design_spec("apistrat", weights = "pw", strata = "stype", fpc = "fpc"),
  clus1 = design_spec("apiclus1", weights = "pw", clusters = "dnum", fpc = "fpc"),
  clus2 = design_spec("apiclus2", clusters = c("dnum", "snum"), fpc = c("fpc1", "fpc2"))
)
for (nm in names(base)) base[[nm]]$r_call <- design_call(base[[nm]])
base$clus1_jk1 <- list(kind = "conversion", source = base$clus1[names(base$clus1) != "r_call"],
                       method = "JK1", rho = NULL, replicates = NULL,
                       r_call = sprintf('as.svrepdesign(%s, type="JK1")', base$clus1$r_call))
for (nm in names(base)) assign(nm, run(base[[nm]]$r_call, data_env), envir = env)
is_rep <- function(name) inherits(get(name, envir = env), "svyrep.design")


# ---------------------------------------------------------------------------
# Cases on calibrated designs
# ---------------------------------------------------------------------------

# svymean / svytotal, overall or by domain. By domain, the covariance of a
# replicate design comes from svyby(covmat = TRUE); for a calibrated Taylor
# design svyby(covmat = TRUE) fails in survey 4.1.1 (calibrated subsets keep all
# rows, so the influence functions do not fit svyby's domain rows), so svyby
# gives estimates and SEs and the full covariance comes from indicator_vcov()
# (one svyratio/svytotal call on domain-indicator columns), checked against the
# svyby SEs.
case_stat <- function(id, design, estimator, variables, by = NULL, missing = "raise", level = 0.95,
                      data) {
  proportion <- estimator == "proportion"
  fun <- if (estimator == "total") "svytotal" else "svymean"
  f <- formula_terms(data, variables, proportion)
  df_call <- sprintf("degf(%s)", design)
  taylor_by <- !is.null(by) && !is_rep(design)
  est_call <- if (is.null(by)) {
    sprintf("%s(%s, %s%s)", fun, f, design, na_arg(missing))
  } else {
    sprintf("svyby(%s, ~%s, %s, %s%s%s)", f, paste(by, collapse = "+"), design, fun,
            if (taylor_by) "" else ", covmat=TRUE", na_arg(missing))
  }
  est <- run(est_call)
  df <- run(df_call)
  ci <- confint(est, level = level, df = df)
  se <- as.vector(as.matrix(SE(est)))
  domains <- if (is.null(by)) NULL else svyby_domains(est, by)
  labels <- stat_labels(data, variables, proportion)
  r_call <- sprintf("est <- %s; confint(est, level=%s, df=%s)", est_call, level, df_call)
  if (taylor_by) {
    full <- indicator_vcov(design, estimator, labels, domains, data, missing, variables,
                           evaluate = function(call) run(call))
    stopifnot(all(abs(full$estimate - coef(est)) <= 1e-10 * abs(coef(est))))
    vc <- full$vcov
    r_call <- paste0(r_call, "; ", full$r_call)
  } else {
    vc <- unname(as.matrix(vcov(est)))
    r_call <- paste0(r_call, "; vcov(est)")
  }
  stopifnot(isTRUE(all.equal(sqrt(diag(vc)), se, tolerance = 1e-10)))
  case <- case_header(id, design, estimator, NULL, by, missing, level, "t", df, r_call)
  case$variables <- I(variables)
  case$cells <- make_cells(labels, domains, coef(est), se, NULL, ci[, 1], ci[, 2])
  case$vcov <- vc
  case
}

calibration_cases <- function(id, data_name) {
  data <- datasets[[data_name]]
  omit <- if (anyNA(data$enroll)) "omit" else "raise"
  list(
    case_stat(paste0(id, "_mean"), id, "mean", "api00", data = data),
    case_stat(paste0(id, "_total"), id, "total", "api00", data = data),
    case_stat(paste0(id, "_total_enroll", if (omit == "omit") "_omit" else ""), id, "total", "enroll",
              missing = omit, data = data),
    case_stat(paste0(id, "_mean_by_stype"), id, "mean", "api00", by = "stype", data = data),
    case_stat(paste0(id, "_prop_awards"), id, "proportion", "awards", data = data)
  )
}


# ---------------------------------------------------------------------------
# Calibrations
# ---------------------------------------------------------------------------

# r_template: the R call with %s for the base design's name.
calibration <- function(id, design, operation, args, r_template) {
  list(id = id, design_name = design, operation = operation, args = args,
       r_call = sprintf(r_template, design))
}

poststratify_call <- sprintf("postStratify(%%s, ~stype, %s)", pop_frame("stype", pop_stype))
rake_call <- sprintf("rake(%%s, list(~stype, ~sch.wide), list(%s, %s), control=list(maxit=100, epsilon=1e-15))",
                     pop_frame("stype", pop_stype), pop_frame("sch.wide", pop_schwide))
calibrate_call <- function(calfun, bounds = NULL) {
  b <- if (is.null(bounds)) "" else sprintf(", bounds=c(%s)", paste(format(bounds), collapse = ", "))
  iter <- if (calfun == "linear" && is.null(bounds)) "" else ", maxit=1000, epsilon=1e-12"
  sprintf('calibrate(%%s, ~stype + api99, %s, calfun="%s"%s%s)', cal_population, calfun, b, iter)
}
trim_call <- function(lower, upper, strict) {
  sprintf("trimWeights(%%s, lower=%s, upper=%s, strict=%s)", lower, upper, strict)
}

poststratify_args <- list(variable = "stype", totals = py_totals(pop_stype))
rake_args <- list(margins = list(stype = py_totals(pop_stype), sch.wide = py_totals(pop_schwide)),
                  max_iter = 100L, tol = 1e-12)
calibrate_args <- function(method, bounds = NULL) {
  a <- list(totals = py_cal_totals, method = method)
  if (!is.null(bounds)) a$bounds <- I(bounds)
  a
}
trim_args <- function(lower, upper, strict) list(lower = lower, upper = upper, strict = strict)

calibrations <- list(
  calibration("strat_poststratify", "strat", "poststratify", poststratify_args, poststratify_call),
  calibration("strat_poststratify_schwide", "strat", "poststratify",
              list(variable = "sch.wide", totals = py_totals(pop_schwide)),
              sprintf("postStratify(%%s, ~sch.wide, %s)", pop_frame("sch.wide", pop_schwide))),
  calibration("strat_rake", "strat", "rake", rake_args, rake_call),
  calibration("strat_calibrate_linear", "strat", "calibrate", calibrate_args("linear"),
              calibrate_call("linear")),
  calibration("strat_calibrate_linear_bounded", "strat", "calibrate",
              calibrate_args("linear", c(0.97, 1.03)), calibrate_call("linear", c(0.97, 1.03))),
  calibration("strat_calibrate_raking", "strat", "calibrate", calibrate_args("raking"),
              calibrate_call("raking")),
  calibration("strat_calibrate_logit", "strat", "calibrate", calibrate_args("logit", c(0.5, 2)),
              calibrate_call("logit", c(0.5, 2))),
  calibration("strat_trim", "strat", "trim_weights", trim_args(20, 45, FALSE), trim_call(20, 45, FALSE)),
  calibration("strat_trim_strict", "strat", "trim_weights", trim_args(20, 45, TRUE),
              trim_call(20, 45, TRUE)),
  calibration("clus1_poststratify", "clus1", "poststratify", poststratify_args, poststratify_call),
  calibration("clus1_rake", "clus1", "rake", rake_args, rake_call),
  calibration("clus1_calibrate_linear", "clus1", "calibrate", calibrate_args("linear"),
              calibrate_call("linear")),
  calibration("clus2_calibrate_linear", "clus2", "calibrate", calibrate_args("linear"),
              calibrate_call("linear")),
  calibration("clus2_calibrate_logit", "clus2", "calibrate", calibrate_args("logit", c(0.5, 2)),
              calibrate_call("logit", c(0.5, 2))),
  calibration("clus2_trim", "clus2", "trim_weights", trim_args(20, 100, FALSE),
              trim_call(20, 100, FALSE)),
  calibration("clus1_jk1_poststratify", "clus1_jk1", "poststratify", poststratify_args,
              poststratify_call),
  calibration("clus1_jk1_rake", "clus1_jk1", "rake", rake_args, rake_call),
  calibration("clus1_jk1_calibrate_linear", "clus1_jk1", "calibrate", calibrate_args("linear"),
              calibrate_call("linear")),
  calibration("clus1_jk1_calibrate_raking", "clus1_jk1", "calibrate", calibrate_args("raking"),
              calibrate_call("raking"))
)

# Totals the calibrated weights must reproduce (relative 1e-11), per weight
# column; returns the largest relative miss.
check_margins <- function(entry, data, w) {
  w <- as.matrix(w)
  level_miss <- function(variable, totals) {
    got <- t(vapply(names(totals), function(l) colSums(w[data[[variable]] == l, , drop = FALSE]),
                    numeric(ncol(w))))
    max(abs(got - unlist(totals)) / unlist(totals))
  }
  a <- entry$args
  err <- switch(entry$operation,
    poststratify = level_miss(a$variable, a$totals),
    rake = max(mapply(level_miss, names(a$margins), a$margins)),
    calibrate = max(level_miss("stype", a$totals$stype),
                    abs(colSums(w * data$api99) - a$totals$api99) / a$totals$api99),
    trim_weights = 0)
  if (!(err < 1e-11)) stop(entry$id, ": calibrated weights miss the totals by ", err)
  err
}

for (k in seq_along(calibrations)) {
  entry <- calibrations[[k]]
  base_spec <- base[[entry$design_name]]
  entry$design <- if (is.null(base_spec$kind)) base_spec[names(base_spec) != "r_call"] else base_spec
  entry$base_r_call <- base_spec$r_call
  got <- run_collect(entry$r_call)
  if (length(got$warnings)) stop(entry$id, ": ", paste(got$warnings, collapse = "; "))
  d <- got$value
  assign(entry$id, d, envir = env)
  data_name <- if (is.null(base_spec$kind)) base_spec$data else base_spec$source$data
  data <- datasets[[data_name]]
  if (inherits(d, "svyrep.design")) {
    entry$weights_out <- I(unname(as.vector(weights(d, "sampling"))))
    entry$repweights_out <- unname(as.matrix(weights(d, "analysis")))
    entry$degf <- degf(d)
    entry$scale <- unname(d$scale)
    entry$rscales <- I(unname(as.vector(d$rscales)))
    miss <- max(check_margins(entry, data, entry$weights_out),
                check_margins(entry, data, entry$repweights_out))
  } else {
    entry$weights_out <- I(unname(as.vector(weights(d))))
    entry$degf <- degf(d)
    miss <- check_margins(entry, data, entry$weights_out)
  }
  if (entry$operation != "trim_weights") {
    cat(sprintf("%-34s totals reproduced to %.1e (relative)\n", entry$id, miss))
  }
  if (entry$operation == "trim_weights") {
    w <- entry$weights_out
    stopifnot(abs(sum(w) - sum(weights(get(entry$design_name, envir = env)))) < 1e-9 * sum(w))
    if (isTRUE(entry$args$strict)) stopifnot(all(w >= entry$args$lower - 1e-9 & w <= entry$args$upper + 1e-9))
  }
  entry$cases <- calibration_cases(entry$id, data_name)
  calibrations[[k]] <- entry
}
stopifnot(!anyDuplicated(unlist(lapply(calibrations, function(e) c(e$id, vapply(e$cases, `[[`, "", "id"))))))


# ---------------------------------------------------------------------------
# Errors R raises that the Python side must raise too
# ---------------------------------------------------------------------------

error_case <- function(id, design, operation, args, r_template) {
  entry <- calibration(id, design, operation, args, r_template)
  msg <- NULL
  # postStratify prints the offending table before some errors; keep it quiet.
  capture.output(msg <- tryCatch({
    got <- run_collect(entry$r_call)
    NULL
  }, error = function(e) conditionMessage(e)))
  if (is.null(msg)) stop("expected an R error for ", id)
  base_spec <- base[[design]]
  entry$design <- if (is.null(base_spec$kind)) base_spec[names(base_spec) != "r_call"] else base_spec
  entry$r_error <- msg
  entry
}

pop_stype_no_m <- pop_stype[c("E", "H")]
pop_stype_extra <- c(pop_stype, X = 10)
errors <- list(
  # a sample level (M) missing from the population totals
  error_case("poststratify_level_missing_from_population", "strat", "poststratify",
             list(variable = "stype", totals = py_totals(pop_stype_no_m)),
             sprintf("postStratify(%%s, ~stype, %s)", pop_frame("stype", pop_stype_no_m))),
  # a population level (X) absent from the sample
  error_case("poststratify_level_missing_from_sample", "strat", "poststratify",
             list(variable = "stype", totals = py_totals(pop_stype_extra)),
             sprintf("postStratify(%%s, ~stype, %s)", pop_frame("stype", pop_stype_extra))),
  error_case("rake_level_missing_from_margin", "clus1", "rake",
             list(margins = list(stype = py_totals(pop_stype_no_m), sch.wide = py_totals(pop_schwide)),
                  max_iter = 100L, tol = 1e-12),
             sprintf("rake(%%s, list(~stype, ~sch.wide), list(%s, %s), control=list(maxit=100, epsilon=1e-15))",
                     pop_frame("stype", pop_stype_no_m), pop_frame("sch.wide", pop_schwide))),
  error_case("rake_level_missing_from_sample", "clus1", "rake",
             list(margins = list(stype = py_totals(pop_stype_extra), sch.wide = py_totals(pop_schwide)),
                  max_iter = 100L, tol = 1e-12),
             sprintf("rake(%%s, list(~stype, ~sch.wide), list(%s, %s), control=list(maxit=100, epsilon=1e-15))",
                     pop_frame("stype", pop_stype_extra), pop_frame("sch.wide", pop_schwide))),
  # bounds the calibration cannot meet
  error_case("calibrate_linear_infeasible_bounds", "strat", "calibrate",
             calibrate_args("linear", c(0.98, 1.02)), calibrate_call("linear", c(0.98, 1.02))),
  error_case("calibrate_logit_infeasible_bounds", "strat", "calibrate",
             calibrate_args("logit", c(0.99, 1.01)), calibrate_call("logit", c(0.99, 1.01)))
)


# ---------------------------------------------------------------------------
# What R gets wrong (recorded, not reproduced)
# ---------------------------------------------------------------------------

trim_rep <- calibration("clus1_jk1_trim", "clus1_jk1", "trim_weights", trim_args(20, 45, FALSE),
                        trim_call(20, 45, FALSE))
got <- run_collect(trim_rep$r_call)
trim_rep$r_warnings <- I(got$warnings)
trim_rep$note <- paste(
  "survey 4.1.1 trimWeights.svyrep.design never stores the trimmed sampling weights",
  "(design$prob <- 1/pw uses the untrimmed weights; svyrep designs use pweights anyway), and",
  "rebuilds the replicate weights as rwnew[!outside] + t(t(!outside) + ...), which recycles",
  "vectors (the warning) and garbles them: the zero weights of each deleted PSU become about 35",
  "and the replicate totals change. Python should not copy this.")
trim_rep$sampling_weights_changed <- !identical(weights(got$value, "sampling"),
                                                weights(env$clus1_jk1, "sampling"))
stopifnot(length(got$warnings) > 0)
not_reproduced <- list(trim_rep)


# ---------------------------------------------------------------------------
# Write the fixture
# ---------------------------------------------------------------------------

write_fixture("tests/reference/calibration.R", list(
  population = list(stype = py_totals(pop_stype), sch.wide = py_totals(pop_schwide),
                    api99 = api99_total, N = N),
  designs = base, calibrations = calibrations, errors = errors,
  not_reproduced = not_reproduced), FIXTURE)
