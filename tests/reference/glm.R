# Reference numbers for nea_covid.glm (R's svyglm), computed with R's `survey`.
#
# This script fits design-based generalised linear models (gaussian and
# quasibinomial) with svyglm on Taylor designs (stratified with fpc, one- and
# two-stage cluster samples, a subset, a post-stratified design, missing values)
# and on replicate designs (JK1, JKn, BRR, bootstrap replicate weights read from
# tests/reference/data/apistrat_boot.csv, a subset, mse = TRUE), and writes
# coefficients, their covariance, SEs, t statistics, p-values, df.residual,
# Wald intervals (confint.svyglm), the dispersion (summary()$dispersion, and the
# svyvar of the unscaled Pearson residuals, "pearson_variance"), the
# IRLS iteration count and, for replicate designs, the replicate coefficients
# to tests/reference/fixtures/glm.json.
#
# The fixture is GENERATED: do not edit it by hand. Regenerate from the
# repository root with
#     Rscript tests/reference/glm.R
# (after core.R and replicates.R, whose data sets it reads). Requires R with
# the packages survey (the fixture records its version) and jsonlite.
#
# Fixture conventions: "designs" as in core.json / replicates.json:
#   {"kind": "taylor", <SurveyDesign keywords>, "calibrate": null | {...}}
#   {"kind": "conversion", "source": <SurveyDesign keywords>, "method", "mse"}
#       = SurveyDesign(**source).to_replicate(method, mse=mse)
#   {"kind": "replicate", "data", "weights", "replicate_weights", "method",
#    "scale", "rscales", "mse", "combined_weights"} = ReplicateDesign(...)
# A case's "subset" {"column", "op" ("==" or "!="), "value"} restricts the
# design first (design.subset(data[column] op value)); "formula" is the
# Python (patsy) formula, "r_formula" R's. Coefficients are in R's order, which
# nea_covid follows (terms by order of interaction, then as written).
#
# Quirks of survey 4.1.1 worth knowing:
#   * the model weights are the design weights over their mean (rescale =
#     TRUE) among the design's rows, the mean taken before rows with missing
#     values are dropped (and, for a subset of an uncalibrated Taylor design,
#     among the subset's rows, which R drops; a calibrated design keeps them
#     with zero weight);
#   * df.residual is degf(design) + 1 - p, degf taken AFTER dropping rows
#     with missing values for Taylor designs but BEFORE for replicate designs;
#   * replicate fits start at the full-sample coefficients with weights
#     w_r / sum(w_r) (svyglm.svyrep.design);
#   * Wald intervals use t on df.residual (via pnorm/qnorm: identical);
#   * summary()$dispersion is svyvar() of the Pearson residuals for Taylor designs,
#     but those residuals are (y - mu) / sqrt(V(mu)) times sqrt(mean(w[complete]) /
#     mean(w[domain])) (1 without missing values); for replicate designs it is the
#     uncentred weighted mean of squared residuals scaled by sum(w[complete]) /
#     mean(w[domain]) (about the sample size). "pearson_variance" is svyvar() of the
#     unscaled residuals on the design of the fit, nea_covid's `dispersion`.

if (!file.exists("tests/reference/glm.R")) {
  stop("run this script from the repository root: Rscript tests/reference/glm.R")
}
source("tests/reference/helpers.R")

REF_DATA <- "tests/reference/data"
FIXTURE <- "tests/reference/fixtures/glm.json"

options(survey.lonely.psu = "fail", survey.ultimate.cluster = FALSE,
        survey.adjust.domain.lonely = FALSE, survey.replicates.mse = FALSE,
        na.action = "na.omit")

data(api)
data(nhanes)
read_ref <- function(name) read.csv(file.path(REF_DATA, paste0(name, ".csv")), check.names = FALSE)
datasets <- list(apistrat = apistrat, apiclus1 = apiclus1, apiclus2 = apiclus2, nhanes = nhanes,
                 apistrat_boot = read_ref("apistrat_boot"), nhanes_2psu = read_ref("nhanes_2psu"))

data_env <- new.env()
for (nm in names(datasets)) assign(nm, datasets[[nm]], envir = data_env)
env <- new.env(parent = data_env)
run <- function(code, envir = env) eval(parse(text = code), envir = envir)

# The bootstrap replicate weights' scale and rscales, as replicates.R recorded them.
boot <- jsonlite::fromJSON("tests/reference/fixtures/replicates.json")$designs$strat_boot


# ---------------------------------------------------------------------------
# Designs
# ---------------------------------------------------------------------------

taylor <- function(spec, calibrate = NULL, template = "%s") {
  spec$kind <- "taylor"
  spec$calibrate <- calibrate
  spec$r_call <- sprintf(template, design_call(spec))
  spec
}

conversion <- function(source, method, mse = FALSE) {
  list(kind = "conversion", source = source, method = method, mse = mse,
       r_call = sprintf('as.svrepdesign(%s, type="%s", mse=%s)', design_call(source), method, mse))
}

strat_spec <- design_spec("apistrat", weights = "pw", strata = "stype", fpc = "fpc")
clus1_spec <- design_spec("apiclus1", weights = "pw", clusters = "dnum", fpc = "fpc")
clus2_spec <- design_spec("apiclus2", clusters = c("dnum", "snum"), fpc = c("fpc1", "fpc2"))
nhanes_spec <- design_spec("nhanes", weights = "WTMEC2YR", strata = "SDMVSTRA",
                           clusters = "SDMVPSU", nest = TRUE)
nhanes2_spec <- design_spec("nhanes_2psu", weights = "WTMEC2YR", strata = "SDMVSTRA",
                            clusters = "SDMVPSU", nest = TRUE)
boot_cols <- grep("^rep[0-9]+$", names(datasets$apistrat_boot), value = TRUE)

designs <- list(
  strat = taylor(strat_spec),
  clus1 = taylor(clus1_spec),
  clus2 = taylor(clus2_spec),
  nhanes = taylor(nhanes_spec),
  clus1_ps = taylor(clus1_spec,
    calibrate = list(method = "poststratify", variable = "stype",
                     totals = list(E = 4421, H = 755, M = 1018)),
    template = paste0('postStratify(%s, ~stype, data.frame(stype=c("E", "H", "M"), ',
                      'Freq=c(4421, 755, 1018)))')),
  clus1_jk1 = conversion(clus1_spec, "JK1"),
  clus1_jk1_mse = conversion(clus1_spec, "JK1", mse = TRUE),
  strat_jkn = conversion(strat_spec, "JKn"),
  nhanes2_brr = conversion(nhanes2_spec, "BRR"),
  strat_boot = list(
    kind = "replicate", data = "apistrat_boot", weights = "pw", replicate_weights = I(boot_cols),
    method = "bootstrap", scale = boot$scale, rscales = I(boot$rscales), mse = FALSE,
    combined_weights = TRUE,
    r_call = sprintf(paste0('svrepdesign(data=apistrat_boot, weights=~pw, repweights="^rep[0-9]+$", ',
                            'type="bootstrap", scale=%s, rscales=%s, combined.weights=TRUE, mse=FALSE)'),
                     format_exact(boot$scale),
                     sprintf("c(%s)", paste(format_exact(boot$rscales), collapse = ", "))))
)

for (nm in names(designs)) {
  spec <- designs[[nm]]
  d <- run(spec$r_call, data_env)
  assign(nm, d, envir = env)
  designs[[nm]]$degf <- degf(d)
}


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

R_FAMILY <- c(gaussian = "gaussian()", binomial = "quasibinomial()")

design_expr <- function(design, subset) {
  if (is.null(subset)) return(design)
  sprintf('subset(%s, %s %s "%s")', design, subset$column, subset$op, subset$value)
}

case_glm <- function(id, design, r_formula, formula, family, subset = NULL, missing = "raise",
                     level = 0.95) {
  dexpr <- design_expr(design, subset)
  is_rep <- designs[[design]]$kind != "taylor"
  fit_call <- sprintf("svyglm(%s, %s, family=%s%s)", r_formula, dexpr, R_FAMILY[[family]],
                      if (is_rep) ", return.replicates=TRUE" else "")
  # summary.glm's "observations with zero weight not used for calculating dispersion"
  # (a calibrated design's subset keeps zero-weight rows) is about glm's own dispersion
  quiet <- function(expr) withCallingHandlers(expr, warning = function(w) {
    if (grepl("zero weight not used", conditionMessage(w))) invokeRestart("muffleWarning")
  })
  fit <- quiet(run(fit_call))
  s <- summary(fit)
  ct <- s$coefficients
  ci <- confint(fit, level = level)
  vc <- unname(as.matrix(vcov(fit)))
  stopifnot(!anyNA(coef(fit)), fit$converged,
            isTRUE(all.equal(sqrt(diag(vc)), unname(ct[, 2]), tolerance = 1e-13)))
  nas <- if (is_rep) attr(fit$model, "na.action") else fit$na.action
  if (missing == "raise") stopifnot(length(nas) == 0) else stopifnot(length(nas) > 0)
  # the design-weighted variance of the unscaled Pearson residuals (y - mu) / sqrt(V(mu))
  # on the design the model was fitted on
  mu <- fitted(fit)
  pearson <- (fit$y - mu) / sqrt(fit$family$variance(mu))
  pearson_variance <- as.vector(unlist(svyvar(pearson, fit$survey.design, estimate.only = TRUE)))[1]
  case <- list(
    id = id, design = design, subset = subset, family = family, formula = formula,
    r_formula = r_formula, missing = missing, confidence_level = level,
    r_call = sprintf("fit <- %s; summary(fit); confint(fit, level=%s)", fit_call, level),
    terms = I(names(coef(fit))), coef = I(unname(coef(fit))), vcov = vc,
    se = I(unname(ct[, 2])), t = I(unname(ct[, 3])), p = I(unname(ct[, 4])),
    df = fit$df.residual, ci_low = I(unname(ci[, 1])), ci_high = I(unname(ci[, 2])),
    dispersion = unname(as.vector(s$dispersion))[1], pearson_variance = pearson_variance,
    iterations = fit$iter,
    n_missing = length(nas), n_obs = sum(fit$prior.weights > 0)
  )
  if (is_rep) case$replicates <- unname(as.matrix(fit$replicates))
  case
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- case_glm(...)

ne_e <- list(column = "stype", op = "!=", value = "E")
is_e <- list(column = "stype", op = "==", value = "E")

# Taylor designs
add("strat_gaussian", "strat", "api00 ~ ell + meals + mobility", "api00 ~ ell + meals + mobility",
    "gaussian")
add("strat_gaussian_stype", "strat", "api00 ~ ell + meals + stype", "api00 ~ ell + meals + stype",
    "gaussian", level = 0.9)
add("strat_gaussian_interaction", "strat", "api00 ~ meals + ell * stype",
    "api00 ~ meals + ell * stype", "gaussian")
add("strat_gaussian_factor_interaction", "strat", "api00 ~ stype * sch.wide",
    'api00 ~ stype * Q("sch.wide")', "gaussian")
add("strat_binomial", "strat", "I(api00 > 700) ~ ell + meals + mobility",
    "I(api00 > 700) ~ ell + meals + mobility", "binomial")
add("strat_binomial_text_response", "strat", "sch.wide ~ ell + meals + stype",
    'Q("sch.wide") ~ ell + meals + stype', "binomial")
add("strat_subset_gaussian", "strat", "api00 ~ ell + meals + stype", "api00 ~ ell + meals + stype",
    "gaussian", subset = ne_e)
add("strat_omit_gaussian", "strat", "api00 ~ ell + acs.k3", 'api00 ~ ell + Q("acs.k3")',
    "gaussian", missing = "omit")
add("clus1_gaussian", "clus1", "api00 ~ ell + meals + mobility", "api00 ~ ell + meals + mobility",
    "gaussian")
add("clus1_binomial", "clus1", "sch.wide ~ ell + meals + stype", 'Q("sch.wide") ~ ell + meals + stype',
    "binomial")
add("clus1_omit_binomial", "clus1", "I(api00 > 700) ~ ell + avg.ed",
    'I(api00 > 700) ~ ell + Q("avg.ed")', "binomial", missing = "omit")
add("clus1_subset_binomial", "clus1", "I(api00 > 700) ~ ell + meals", "I(api00 > 700) ~ ell + meals",
    "binomial", subset = is_e)
add("clus1_ps_gaussian", "clus1_ps", "api00 ~ ell + meals", "api00 ~ ell + meals", "gaussian")
add("clus1_ps_subset_gaussian", "clus1_ps", "api00 ~ ell + meals", "api00 ~ ell + meals",
    "gaussian", subset = is_e)
add("clus2_gaussian", "clus2", "api00 ~ ell + meals + stype", "api00 ~ ell + meals + stype",
    "gaussian")
add("clus2_omit_binomial", "clus2", "I(api00 > 650) ~ meals + enroll",
    "I(api00 > 650) ~ meals + enroll", "binomial", missing = "omit")
add("nhanes_omit_binomial", "nhanes", "HI_CHOL ~ RIAGENDR + factor(race) + agecat",
    "HI_CHOL ~ RIAGENDR + C(race) + agecat", "binomial", missing = "omit")
add("nhanes_no_intercept", "nhanes", "HI_CHOL ~ 0 + agecat", "HI_CHOL ~ 0 + agecat", "gaussian",
    missing = "omit")

# Replicate designs
add("clus1_jk1_gaussian", "clus1_jk1", "api00 ~ ell + meals + mobility",
    "api00 ~ ell + meals + mobility", "gaussian")
add("clus1_jk1_binomial", "clus1_jk1", "sch.wide ~ ell + meals", 'Q("sch.wide") ~ ell + meals',
    "binomial")
add("clus1_jk1_omit_gaussian", "clus1_jk1", "api00 ~ ell + avg.ed", 'api00 ~ ell + Q("avg.ed")',
    "gaussian", missing = "omit")
add("clus1_jk1_subset_gaussian", "clus1_jk1", "api00 ~ ell + meals", "api00 ~ ell + meals",
    "gaussian", subset = is_e)
add("clus1_jk1_mse_binomial", "clus1_jk1_mse", "I(api00 > 700) ~ ell + meals",
    "I(api00 > 700) ~ ell + meals", "binomial")
add("strat_jkn_gaussian_stype", "strat_jkn", "api00 ~ ell + meals + stype",
    "api00 ~ ell + meals + stype", "gaussian")
add("strat_jkn_binomial", "strat_jkn", "I(api00 > 700) ~ ell + meals + mobility",
    "I(api00 > 700) ~ ell + meals + mobility", "binomial")
add("strat_jkn_subset_binomial", "strat_jkn", "sch.wide ~ ell + meals", 'Q("sch.wide") ~ ell + meals',
    "binomial", subset = ne_e)
add("strat_boot_gaussian", "strat_boot", "api00 ~ ell + meals + mobility",
    "api00 ~ ell + meals + mobility", "gaussian")
# apistrat_boot comes from a CSV: sch.wide is text there, which glm() needs as a factor
add("strat_boot_binomial", "strat_boot", "factor(sch.wide) ~ ell + meals + stype",
    'Q("sch.wide") ~ ell + meals + stype', "binomial", level = 0.9)
add("strat_boot_omit_binomial", "strat_boot", "I(api00 > 700) ~ ell + acs.k3",
    'I(api00 > 700) ~ ell + Q("acs.k3")', "binomial", missing = "omit")
add("nhanes2_brr_omit_binomial", "nhanes2_brr", "HI_CHOL ~ RIAGENDR + factor(race) + agecat",
    "HI_CHOL ~ RIAGENDR + C(race) + agecat", "binomial", missing = "omit")

stopifnot(!anyDuplicated(vapply(cases, `[[`, "", "id")))


# ---------------------------------------------------------------------------
# Write the fixture
# ---------------------------------------------------------------------------

write_fixture("tests/reference/glm.R", list(designs = designs, cases = cases), FIXTURE)
