# Reference numbers for nea_covid's comparisons (contrasts, wave-over-wave
# changes, design-based t-tests), computed with R's `survey`.
#
# This script
#   (a) writes derived test-only data sets to tests/reference/data/*.csv (every
#       numeric value round-trips exactly):
#         apiclus1_wide  apiclus1 + integer columns hi99 = (api99 > 600) and
#                        hi00 = (api00 > 600)
#         apiclus1_long  apiclus1 stacked twice, one row per school x wave: all
#                        api99 rows first (wave "w99"), then all api00 rows
#                        (wave "w00"), each block in apiclus1's row order; columns
#                        dnum, snum, pw, fpc, stype, wave (text), api (the score),
#                        above600 (integer 0/1: api > 600), above600_label
#                        ("yes"/"no")
#       and reads tests/reference/data/apistrat_boot.csv (written by
#       replicates.R; checked here against the seeded conversion it came from);
#   (b) computes svycontrast() results, wave-over-wave changes (paired and
#       independent) and svyttest() results, written to
#       tests/reference/fixtures/comparisons.json.
#
# All CSV and JSON outputs are GENERATED: do not edit them by hand.
# Regenerate from the repository root with
#     nox -s r_reference
# or
#     Rscript tests/reference/comparisons.R
# (the output is deterministic: a rerun writes byte-identical files). Requires R
# with the packages survey (the fixture records its version) and jsonlite.
# Shared helpers are in tests/reference/helpers.R.
#
# ---------------------------------------------------------------------------
# Fixture format (comparisons.json)
# ---------------------------------------------------------------------------
# Top level: generated_by, r_version, survey_version, designs, quoted_figures,
# contrasts, changes, ttests. Every r_call is R code that reproduces the numbers:
# design r_calls are evaluated with the data sets bound by name (apiclus1_wide,
# apiclus1_long, apistrat, apistrat_boot), case r_calls with the designs bound
# under their fixture names.
#
# "designs": name -> spec.
#   {"kind": "taylor", <core.json keywords: data, weights, strata, clusters, fpc,
#    nest, lonely_psu>, "r_call", "degf"}
#       SurveyDesign(load(data), **keywords)
#   {"kind": "conversion", "source": <core.json keywords>, "method": "JK1",
#    "rho": null, "replicates": null, "r_call", "degf", "n_replicates", "scale",
#    "rscales", "mse"}      SurveyDesign(**source).to_replicate(method)
#   {"kind": "replicate", "data", "weights", "replicate_weights", "method",
#    "scale", "rscales", "mse", "combined_weights", "rho", "r_call", "degf",
#    "n_replicates"}        ReplicateDesign(load(data), **keywords)
#   (the same forms as replicates.json, without the replicate weight matrices).
#   Designs: clus1 (apiclus1_wide), clus1_long (apiclus1_long), strat (apistrat),
#   clus1_jk1, clus1_long_jk1 (JK1 conversions), strat_boot (50 bootstrap
#   replicates from apistrat_boot.csv, as in replicates.json).
#
# A "cell" is {"by": {column: value as string} ({} without domains),
#              "variable": name, "level": factor level as string or null}.
# Statistics of an estimate are in R's coefficient order: statistic-major,
# domains inner (svyby order). For estimator "ratio" the variable is
# "numerator/denominator".
#
# "contrasts": list of
#   {"id", "design", "r_call",
#    "estimate": {"estimator": "mean"|"total"|"proportion"|"ratio",
#                 "variables": [...], "by": [...] or null, "missing": "raise"
#                 (+ "denominator" for "ratio")},
#    "contrast": ONE contrast object, or an ARRAY of them when the case has
#                several (R's named list of contrasts), each one of
#       {"name", "kind": "linear", "terms": [{"cell": <cell>, "weight": w}, ...]}
#       {"name", "kind": "nonlinear", "r_expression": "log(api00/api99)",
#        "python": "np.log(c['api00'] / c['api99'])",
#        "keys": [{"key": <key>, "cell": <cell>}, ...]}
#    "per_replicate": true when R evaluated a nonlinear contrast on every
#                     replicate (replicate design, return.replicates=TRUE) and
#                     took the replicate variance of the contrast (svrVar:
#                     centred at the mean of the replicate contrasts when
#                     mse = FALSE); false for the delta method (Taylor designs,
#                     and replicate designs without return.replicates),
#    "result": {"estimate": [...], "se": [...], "vcov": [[...]]} (one entry
#              per contrast, in contrast order),
#    "df": degf(design),
#    "r_direct" (only where the replicates had to be reordered, see below):
#              {"estimate", "se", "note"}: what svycontrast() gives on the
#              svyby object as R returns it (mislabelled replicates; for
#              information only)}
#   The Python expression of a nonlinear contrast uses `np` and `c`, where
#   c[key] is the estimate of a cell; "keys" lists every key the expression
#   uses with its cell. Keys:
#     no domains:                      the variable name ("api00"); for a
#                                      proportion the tuple (variable, level)
#     one by variable and one
#     statistic per domain:            the by-level string ("E")
#     otherwise:                       the tuple (by-level..., stat) with stat
#                                      the level of a proportion, else the
#                                      variable name (("E", "api00"),
#                                      ("w00", "1"))
#   In "keys" a tuple is a JSON array.
#
# "changes": list of
#   {"id", "design", "format": "wide"|"long", "estimator": "mean"|"proportion",
#    "variables": [...] (wide: [other, base]; long: [measured variable]),
#    "by": extra domain columns or null, "along": "variable" (wide) | "wave"
#    (long), "base", "other" (variable names for wide, wave values for long),
#    "samples": "paired"|"independent",
#    "cells": [{"by": {extra domains}, "variable": null (wide) or the measured
#               variable (long), "level": level or null}, ...] (one per
#              comparison, in R's order of the "other" statistics),
#    "estimate": [other - base, ...], "se": [...], "df": degf(design), "r_call"}
#   (all paired cases first, then the same cases with independent samples)
#   paired:      svycontrast() of other - base on the joint estimate
#                (wide: svymean(~api00+api99) / svyby(~api00+api99, ~stype, ...,
#                covmat=TRUE); long: svyby(~api, ~wave) / svyby(~api,
#                ~stype+wave), covmat=TRUE), i.e. with their covariance;
#   independent: sqrt(var_base + var_other) of the same two estimates, their
#                covariance ignored.
#   Proportions: "proportion" cases give one comparison per level (factor(...)
#   of an integer column, or a text column); "mean" of the 0/1 columns hi00/hi99
#   is the same change as level "1".
#
# "ttests": list of
#   {"id", "design", "variable", "group" (two-group test, or null),
#    "group_levels" (two-group: [first, second]; estimate = mean in second minus
#    mean in first, R's coefficient of the second level), "mu" (one-sample:
#    H0 mean = mu, via svyttest(I(api00 - mu) ~ 0, ...), or svyttest(api00 ~ 0)
#    for mu = 0; null for two-group), "subset" (null or {"column", "value"}:
#    the test on subset(design, column == value), as in core.json),
#    "estimate" (two-group: difference in means; one-sample: mean - mu),
#    "statistic" (t), "df", "pvalue" (two-sided), "ci_low", "ci_high" (95%,
#    for the estimate, i.e. for mean - mu), "r_call"}
#   R's degrees of freedom: one-sample df = degf(design) - 1 (svyttest.default
#   subtracts one although only a mean is estimated); two-group df =
#   df.residual of svyglm(variable ~ group) = degf(design) + 1 - 2, i.e. also
#   degf(design) - 1 (on subsets: degf of the subset design, which keeps all
#   PSUs). pvalue = 2 pt(-|t|, df) and the interval is estimate +- qt(0.975,
#   df) * SE, SE = estimate / statistic, in both cases.
#
# "quoted_figures": the numbers the project's issue quotes, as R gives them for
#   apiclus1 (design clus1): change of mean api00 - api99 = 37.19 (37.1913...),
#   paired SE 3.085 (3.0852...), independent SE 33.78 (33.780...). The script
#   stops if R does not reproduce them to the quoted digits.
#
# ---------------------------------------------------------------------------
# Behaviour of survey 4.1.1 worth knowing
# ---------------------------------------------------------------------------
#   * svyby(covmat = TRUE) on these Taylor designs gives the FULL covariance
#     across domains (domains sharing PSUs are correlated; across strata of
#     `strat` the covariance is zero because the strata are independent), not a
#     block-diagonal one: every Taylor svyby estimate used here is checked
#     against indicator_vcov() (helpers.R; one svyratio/svytotal call on
#     domain-indicator columns) to 1e-10 relative, and they agree. (Were they
#     to differ, the script would use the indicator numbers, record the
#     indicator call in r_call and print a message.)
#   * Linear svycontrast() on an estimate computed with return.replicates=TRUE
#     fails (svymean/svytotal: "non-conformable arguments" in crossprod;
#     svyby: "'data' must be of a vector type"). Linear contrasts on replicate
#     designs are therefore taken from vcov() (return.replicates=FALSE), which
#     for a linear contrast equals the replicate variance of the contrast
#     (checked here against the replicates computed by hand); they have
#     per_replicate = false.
#   * svyby(return.replicates=TRUE) stores the replicates DOMAIN-major (E:api00,
#     E:api99, H:api00, ...; columns named by domain only) while coef() and
#     vcov() are statistic-major (E:api00, H:api00, M:api00, E:api99, ...), and
#     svycontrast() names the replicate columns with names(coef()) by
#     position. With several statistics per domain (two variables, or the
#     levels of a factor) a per-replicate nonlinear contrast is then computed
#     from the wrong replicates (log(E:api00/E:api99) on clus1_jk1: SE 0.0727
#     instead of 0.00722). The script puts the replicate columns in coefficient
#     order first (r_call shows how; checked against vcov() and, for that
#     case, against the same contrast on subset(clus1_jk1, stype == "E")) and
#     records R's direct result as "r_direct". vcov() of such svyby objects
#     is right. (The log odds ratio of above600 by wave comes out the same
#     either way: the mislabelling swaps w00:1 and w99:0, which leaves that
#     expression unchanged.)
#   * Nonlinear contrasts with return.replicates=TRUE use the replicate
#     variance of the contrast (svycontrast.svrepstat / svycontrast.svyby),
#     which differs from the delta method (e.g. log(api00/api99) on clus1_jk1:
#     SE 0.0060661 per replicate vs 0.0060698 delta; 0.0058711 on the Taylor
#     design clus1); cases of both kinds are in the fixture.
#   * Text columns (above600_label) are used as factor(...) in the formulas;
#     their levels are sorted ("no", "yes"), as are integer levels ("0", "1").

if (!file.exists("tests/reference/comparisons.R")) {
  stop("run this script from the repository root: Rscript tests/reference/comparisons.R")
}
source("tests/reference/helpers.R")

REF_DATA <- "tests/reference/data"
FIXTURE <- "tests/reference/fixtures/comparisons.json"
for (dir in c(REF_DATA, dirname(FIXTURE))) {
  dir.create(dir, recursive = TRUE, showWarnings = FALSE)
}
SEED <- 20240601L  # replicates.R's seed for the bootstrap conversion behind apistrat_boot.csv

options(survey.lonely.psu = "fail", survey.ultimate.cluster = FALSE,
        survey.adjust.domain.lonely = FALSE, survey.replicates.mse = FALSE)

data(api)


# ---------------------------------------------------------------------------
# (a) Data
# ---------------------------------------------------------------------------

apiclus1_wide <- apiclus1
apiclus1_wide$hi99 <- as.integer(apiclus1$api99 > 600)
apiclus1_wide$hi00 <- as.integer(apiclus1$api00 > 600)

long_block <- function(wave, score) {
  out <- apiclus1[, c("dnum", "snum", "pw", "fpc", "stype")]
  out$wave <- wave
  out$api <- score
  out$above600 <- as.integer(score > 600)
  out$above600_label <- ifelse(score > 600, "yes", "no")
  out
}
apiclus1_long <- rbind(long_block("w99", apiclus1$api99), long_block("w00", apiclus1$api00))
rownames(apiclus1_long) <- NULL
stopifnot(is.character(apiclus1_long$wave), is.integer(apiclus1_long$api),
          nrow(apiclus1_long) == 2 * nrow(apiclus1))

# missing values: api00 in the three lowest-numbered districts, awards in every
# tenth school (t-tests with na.rm / svyglm's na.omit)
apiclus1_na <- apiclus1_wide[, c("dnum", "snum", "pw", "fpc", "stype", "api00", "api99",
                                 "awards")]
apiclus1_na$awards <- as.character(apiclus1_na$awards)
apiclus1_na$api00[apiclus1_na$dnum %in% sort(unique(apiclus1_na$dnum))[1:3]] <- NA
apiclus1_na$awards[seq(5, nrow(apiclus1_na), by = 10)] <- NA

derived <- list(apiclus1_wide = apiclus1_wide, apiclus1_long = apiclus1_long,
                apiclus1_na = apiclus1_na)
for (nm in names(derived)) {
  write_exact_csv(derived[[nm]], file.path(REF_DATA, paste0(nm, ".csv")))
}

# apistrat_boot.csv (replicates.R): apistrat + rep1..rep50, the final weights of
# the seeded bootstrap conversion of `strat`. Read back with R's parser (exact,
# as write_exact_csv checked) and compared with that conversion.
apistrat_boot <- read.csv(file.path(REF_DATA, "apistrat_boot.csv"), stringsAsFactors = FALSE,
                          check.names = FALSE)
strat_taylor <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
set.seed(SEED)
boot_rd <- as.svrepdesign(strat_taylor, type = "bootstrap", replicates = 50)
boot_cols <- paste0("rep", 1:50)
stopifnot(identical(unname(as.matrix(apistrat_boot[, boot_cols])),
                    unname(as.matrix(weights(boot_rd, "analysis")))),
          identical(apistrat_boot$pw, apistrat$pw))

datasets <- list(apiclus1_wide = apiclus1_wide, apiclus1_long = apiclus1_long,
                 apiclus1_na = apiclus1_na, apistrat = apistrat, apistrat_boot = apistrat_boot)
data_env <- new.env()
for (nm in names(datasets)) assign(nm, datasets[[nm]], envir = data_env)
env <- new.env(parent = data_env)

run <- function(code, envir = env) eval(parse(text = code), envir = envir)


# ---------------------------------------------------------------------------
# (b) Designs
# ---------------------------------------------------------------------------

clus1_spec <- design_spec("apiclus1_wide", weights = "pw", clusters = "dnum", fpc = "fpc")
clus1_long_spec <- design_spec("apiclus1_long", weights = "pw", clusters = "dnum", fpc = "fpc")
strat_spec <- design_spec("apistrat", weights = "pw", strata = "stype", fpc = "fpc")
clus1_na_spec <- design_spec("apiclus1_na", weights = "pw", clusters = "dnum", fpc = "fpc")

taylor <- function(spec) c(list(kind = "taylor"), spec, list(r_call = design_call(spec)))

conversion <- function(source, method) {
  list(kind = "conversion", source = source, method = method, rho = NULL, replicates = NULL,
       r_call = sprintf('as.svrepdesign(%s, type="%s")', design_call(source), method))
}

boot_scale <- unname(boot_rd$scale)
boot_rscales <- unname(boot_rd$rscales)
numbers_call <- function(x) {
  if (length(x) == 1) format_exact(x) else sprintf("c(%s)", paste(format_exact(x), collapse = ", "))
}
strat_boot_spec <- list(
  kind = "replicate", data = "apistrat_boot", weights = "pw", replicate_weights = I(boot_cols),
  method = "bootstrap", scale = boot_scale, rscales = I(boot_rscales), mse = FALSE,
  combined_weights = TRUE, rho = NULL,
  r_call = sprintf(paste0('svrepdesign(data=apistrat_boot, weights=~pw, repweights="^rep[0-9]+$", ',
                          'type="bootstrap", scale=%s, rscales=%s, combined.weights=TRUE, mse=FALSE)'),
                   numbers_call(boot_scale), numbers_call(boot_rscales)))

designs <- list(
  clus1 = taylor(clus1_spec),
  clus1_long = taylor(clus1_long_spec),
  strat = taylor(strat_spec),
  clus1_jk1 = conversion(clus1_spec, "JK1"),
  clus1_long_jk1 = conversion(clus1_long_spec, "JK1"),
  strat_boot = strat_boot_spec,
  clus1_na = taylor(clus1_na_spec),
  clus1_na_jk1 = conversion(clus1_na_spec, "JK1")
)

for (nm in names(designs)) {
  spec <- designs[[nm]]
  d <- run(spec$r_call, data_env)
  assign(nm, d, envir = env)
  spec$degf <- degf(d)
  if (spec$kind != "taylor") {
    spec$n_replicates <- ncol(as.matrix(weights(d, "analysis")))
    if (spec$kind == "conversion") {
      spec$scale <- unname(d$scale)
      spec$rscales <- I(unname(as.vector(d$rscales)))
      spec$mse <- isTRUE(d$mse)
    } else {
      stopifnot(identical(unname(d$scale), spec$scale), identical(isTRUE(d$mse), spec$mse))
    }
  }
  designs[[nm]] <- spec
}
stopifnot(identical(unname(as.matrix(weights(env$strat_boot, "analysis"))),
                    unname(as.matrix(weights(boot_rd, "analysis")))))

is_taylor <- function(design) designs[[design]]$kind == "taylor"
design_data <- function(design) {
  spec <- designs[[design]]
  datasets[[if (spec$kind == "conversion") spec$source$data else spec$data]]
}


# ---------------------------------------------------------------------------
# Estimates, their cells and R's coefficient names
# ---------------------------------------------------------------------------

# R name as written in code: backquoted unless syntactic.
rname <- function(n) ifelse(make.names(n) == n, n, paste0("`", n, "`"))

named_vector_call <- function(weights) {
  sprintf("c(%s)", paste(sprintf("%s=%s", rname(names(weights)), format_exact(unname(weights))),
                         collapse = ", "))
}

estimate_call <- function(design, estimator, variables, by, denominator, replicates) {
  data <- design_data(design)
  rep_arg <- if (replicates) ", return.replicates=TRUE" else ""
  if (estimator == "ratio") {
    if (is.null(by)) {
      return(sprintf("svyratio(~%s, ~%s, %s%s)", variables, denominator, design, rep_arg))
    }
    return(sprintf("svyby(~%s, ~%s, %s, svyratio, denominator=~%s, covmat=TRUE%s)", variables,
                   paste(by, collapse = "+"), design, denominator, rep_arg))
  }
  fun <- if (estimator == "total") "svytotal" else "svymean"
  f <- formula_terms(data, variables, estimator == "proportion")
  if (is.null(by)) {
    sprintf("%s(%s, %s%s)", fun, f, design, rep_arg)
  } else {
    sprintf("svyby(%s, ~%s, %s, %s, covmat=TRUE%s)", f, paste(by, collapse = "+"), design, fun, rep_arg)
  }
}

# Evaluate an estimate and describe its statistics. For Taylor svyby estimates,
# compare vcov() with indicator_vcov(); should they differ, the indicator
# estimate (a svystat with the full covariance) replaces R's.
estimate <- function(id, design, estimator, variables, by = NULL, denominator = NULL,
                     replicates = FALSE) {
  data <- design_data(design)
  call <- estimate_call(design, estimator, variables, by, denominator, replicates)
  est <- run(call)
  labels <- if (estimator == "ratio") {
    list(list(variable = paste0(variables, "/", denominator), level = NULL))
  } else {
    stat_labels(data, variables, estimator == "proportion")
  }
  domains <- if (is.null(by)) NULL else svyby_domains(est, by)
  ndom <- if (is.null(by)) 1 else nrow(domains)
  cells <- list()
  for (s in seq_along(labels)) {
    for (g in seq_len(ndom)) {
      cells[[length(cells) + 1]] <- list(by = by_label(domains, g), variable = labels[[s]]$variable,
                                         level = labels[[s]]$level)
    }
  }
  # R's coefficient names, rebuilt from the cells (checks the cell order)
  terms <- strsplit(sub("^~", "", formula_terms(data, variables, estimator == "proportion")), "\\+")[[1]]
  names(terms) <- variables
  stat_name <- vapply(cells, function(cell) {
    if (estimator == "ratio") return(cell$variable)
    if (is.null(cell$level)) cell$variable else paste0(terms[[cell$variable]], cell$level)
  }, "")
  expected <- if (is.null(by)) {
    stat_name
  } else {
    dom <- vapply(cells, function(cell) paste(unlist(cell$by), collapse = "."), "")
    if (length(labels) == 1) dom else paste0(dom, ":", stat_name)
  }
  stopifnot(identical(names(coef(est)), expected), length(cells) == length(coef(est)))
  r_call <- sprintf("est <- %s", call)
  direct <- NULL
  if (replicates && !is.null(by) && length(labels) > 1) {
    # svyby(return.replicates=TRUE) stores the replicates domain-major (E:api00,
    # E:api99, H:api00, ...) while coef() is statistic-major; svycontrast()
    # labels the replicate columns with names(coef()) by position. Put them in
    # coefficient order (checked: they reproduce vcov(est)).
    r <- attr(est, "replicates")
    nstat <- length(labels)
    ord <- as.vector(outer(seq_len(ndom) - 1, seq_len(nstat), function(g, s) g * nstat + s))
    ord_call <- sprintf("c(%s)", paste(ord, collapse = ", "))
    fix_call <- sprintf(paste0("r <- attr(est, \"replicates\"); attr(est, \"replicates\") <- ",
                               "structure(r[, %s], scale=attr(r, \"scale\"), rscales=attr(r, \"rscales\"), ",
                               "mse=attr(r, \"mse\"))"), ord_call)
    direct <- est
    assign("est", est, envir = env)
    run(fix_call)
    est <- get("est", envir = env)
    rd <- get(design, envir = env)
    rv <- svrVar(attr(est, "replicates"), rd$scale, rd$rscales, mse = rd$mse, coef = coef(est))
    stopifnot(all(abs(as.matrix(rv) - as.matrix(vcov(est))) <= 1e-10 * max(abs(vcov(est)))))
    r_call <- paste0(r_call, "; ", fix_call)
  }
  if (!is.null(by) && is_taylor(design)) {
    # indicator_vcov() wants the numerator as the statistic of a ratio
    num_labels <- if (estimator == "ratio") list(list(variable = variables, level = NULL)) else labels
    full <- indicator_vcov(design, estimator, num_labels, domains, data, "raise", variables,
                           denominator, evaluate = function(code) run(code))
    vc <- as.matrix(vcov(est))
    scale <- sqrt(outer(diag(vc), diag(vc)))
    agree <- all(abs(full$estimate - coef(est)) <= 1e-10 * abs(coef(est))) &&
      all(abs(full$vcov - unname(vc)) <= 1e-10 * scale)
    if (!agree) {
      message(id, ": svyby(covmat=TRUE) differs from indicator_vcov(); using the indicator numbers")
      v <- full$vcov
      dimnames(v) <- list(names(coef(est)), names(coef(est)))
      est <- structure(setNames(full$estimate, names(coef(est))), var = v, statistic = "mean",
                       class = "svystat")
      sel <- sub(".*coef\\(full\\)\\[(c\\([^]]*\\))\\].*", "\\1", full$r_call)
      r_call <- sprintf(paste0("%s; %s; est <- structure(setNames(coef(full)[%s], names(coef(est))), ",
                               "var=vcov(full)[%s, %s], statistic=\"mean\", class=\"svystat\")"),
                        r_call, full$r_call, sel, sel, sel)
    }
  }
  list(est = est, direct = direct, call = call, r_call = r_call, cells = cells, labels = labels, by = by,
       estimator = estimator, variables = variables, denominator = denominator)
}

cell_index <- function(e, name) {
  i <- match(name, names(coef(e$est)))
  if (is.na(i)) stop("no coefficient ", name)
  i
}

# Python key of a cell (see the header).
python_key <- function(e, cell) {
  stat <- if (is.null(cell$level)) cell$variable else cell$level
  if (length(cell$by) == 0) {
    return(if (is.null(cell$level)) cell$variable else I(c(cell$variable, cell$level)))
  }
  if (length(e$by) == 1 && length(e$labels) == 1) return(cell$by[[1]])
  several_factors <- e$estimator == "proportion" && length(e$variables) > 1
  I(c(unlist(cell$by, use.names = FALSE), if (several_factors) cell$variable, stat))
}


# ---------------------------------------------------------------------------
# Contrasts
# ---------------------------------------------------------------------------

# contrasts: named list; each element a named numeric vector (linear; names are
# R's coefficient names) or list(r = <R expression>, py = <Python expression>).
case_contrast <- function(id, design, estimator, variables, contrasts, by = NULL,
                          denominator = NULL, per_replicate = FALSE) {
  stopifnot(!per_replicate || !is_taylor(design))
  e <- estimate(id, design, estimator, variables, by, denominator, replicates = per_replicate)
  linear <- vapply(contrasts, is.numeric, TRUE)
  stopifnot(all(linear) || !any(linear), !(per_replicate && all(linear)))
  single <- length(contrasts) == 1
  items <- if (all(linear)) {
    vapply(contrasts, named_vector_call, "")
  } else {
    vapply(contrasts, function(x) sprintf("quote(%s)", x$r), "")
  }
  con_arg <- if (single && names(contrasts) == "contrast") {
    items[[1]]
  } else {
    sprintf("list(%s)", paste(sprintf("%s=%s", rname(names(contrasts)), items), collapse = ", "))
  }
  con_call <- sprintf("svycontrast(est, %s)", con_arg)
  assign("est", e$est, envir = env)
  con <- run(con_call)
  k <- length(contrasts)
  vc <- matrix(as.numeric(as.matrix(vcov(con))), k, k)
  result <- list(estimate = I(unname(as.numeric(coef(con)))), se = I(unname(as.numeric(SE(con)))),
                 vcov = vc)
  stopifnot(length(result$estimate) == k, isTRUE(all.equal(sqrt(diag(vc)), as.numeric(result$se), tolerance = 1e-12)))

  # Independent recomputation from coef/vcov (linear) or the replicates (nonlinear).
  if (all(linear)) {
    L <- t(vapply(contrasts, function(w) {
      row <- numeric(length(coef(e$est)))
      row[vapply(names(w), function(n) cell_index(e, n), 1L)] <- w
      row
    }, numeric(length(coef(e$est)))))
    stopifnot(all(abs(drop(L %*% coef(e$est)) - result$estimate) <= 1e-10 * pmax(1, abs(result$estimate))),
              all(abs(L %*% as.matrix(vcov(e$est)) %*% t(L) - vc) <= 1e-10 * max(abs(vc))))
    if (!is_taylor(design)) {
      # replicate variance of the contrast by hand equals R's vcov-based one
      rd <- get(design, envir = env)
      reps <- estimate(id, design, estimator, variables, by, denominator, replicates = TRUE)$est
      reps <- if (is.null(by)) reps$replicates else attr(reps, "replicates")
      rv <- svrVar(reps %*% t(L), rd$scale, rd$rscales, mse = rd$mse, coef = drop(L %*% coef(e$est)))
      stopifnot(all(abs(as.matrix(rv) - vc) <= 1e-10 * max(abs(vc))))
    }
  }

  describe <- function(name, x) {
    if (is.numeric(x)) {
      terms <- lapply(names(x), function(n) list(cell = e$cells[[cell_index(e, n)]], weight = unname(x[[n]])))
      list(name = name, kind = "linear", terms = terms)
    } else {
      used <- all.vars(parse(text = x$r)[[1]])
      keys <- lapply(used, function(n) {
        cell <- e$cells[[cell_index(e, n)]]
        list(key = python_key(e, cell), cell = cell)
      })
      list(name = name, kind = "nonlinear", r_expression = x$r, python = x$py, keys = keys)
    }
  }
  described <- mapply(describe, names(contrasts), contrasts, SIMPLIFY = FALSE, USE.NAMES = FALSE)
  spec <- list(estimator = estimator, variables = I(variables), by = if (is.null(by)) NULL else I(by),
               missing = "raise")
  if (!is.null(denominator)) spec$denominator <- denominator
  case <- list(id = id, design = design,
       r_call = sprintf("%s; con <- %s; coef(con); SE(con); vcov(con)", e$r_call, con_call),
       estimate = spec,
       contrast = if (single) described[[1]] else described,
       per_replicate = per_replicate, result = result, df = degf(get(design, envir = env)))
  if (!is.null(e$direct)) {
    # what svycontrast() gives on the svyby object as R returns it
    assign("est", e$direct, envir = env)
    bad <- run(con_call)
    case$r_direct <- list(estimate = I(unname(as.numeric(coef(bad)))), se = I(unname(as.numeric(SE(bad)))),
                          note = paste("svycontrast() on svyby(return.replicates=TRUE) with several statistics",
                                       "per domain, without reordering the replicates (survey 4.1.1 mislabels",
                                       "them; the SE is wrong unless the expression is invariant to the",
                                       "mislabelling, as the log odds ratio of a binary factor is)"))
  }
  case
}

contrasts <- list()
addc <- function(case) contrasts[[length(contrasts) + 1]] <<- case

diff_0099 <- list(contrast = c(api00 = 1, api99 = -1))
eh <- list(contrast = c(E = 1, H = -1, M = 0))
eh_em <- list(EH = c(E = 1, H = -1), EM = c(E = 1, M = -1))
log_ratio <- list(contrast = list(r = "log(api00/api99)", py = "np.log(c['api00'] / c['api99'])"))
dom_ratio <- list(contrast = list(r = "E/H", py = "c['E'] / c['H']"))
dom_ratios <- list(EH = list(r = "E/H", py = "c['E'] / c['H']"),
                   MH = list(r = "M/H", py = "c['M'] / c['H']"))

# means: difference of two variables
for (p in c("clus1", "strat", "clus1_jk1", "strat_boot")) {
  addc(case_contrast(paste0(p, "_mean_diff"), p, "mean", c("api00", "api99"), diff_0099))
}
# means by domain: one contrast with a zero weight, and two at once
for (p in c("clus1", "strat", "clus1_jk1", "strat_boot")) {
  addc(case_contrast(paste0(p, "_mean_by_stype_EH"), p, "mean", "api00", eh, by = "stype"))
  addc(case_contrast(paste0(p, "_mean_by_stype_EH_EM"), p, "mean", "api00", eh_em, by = "stype"))
}
# two variables by domain: change within E, and E-vs-H difference of changes
addc(case_contrast("clus1_mean2_by_stype", "clus1", "mean", c("api00", "api99"),
                   list(changeE = c(`E:api00` = 1, `E:api99` = -1),
                        changeE_minus_H = c(`E:api00` = 1, `E:api99` = -1, `H:api00` = -1, `H:api99` = 1)),
                   by = "stype"))
# totals
addc(case_contrast("clus1_total_diff", "clus1", "total", c("api00", "api99"), diff_0099))
addc(case_contrast("clus1_total_by_stype_sum", "clus1", "total", "enroll",
                   list(contrast = c(E = 1, H = 1, M = 1)), by = "stype"))
addc(case_contrast("clus1_jk1_total_by_stype_EH", "clus1_jk1", "total", "enroll", eh, by = "stype"))
addc(case_contrast("strat_total_enroll_apistu", "strat", "total", c("enroll", "api.stu"),
                   list(contrast = c(enroll = 1, api.stu = -1))))
# proportions
addc(case_contrast("strat_prop_awards_diff", "strat", "proportion", "awards",
                   list(contrast = c(awardsYes = 1, awardsNo = -1))))
addc(case_contrast("clus1_prop_awards_by_stype", "clus1", "proportion", "awards",
                   list(contrast = c(`E:awardsYes` = 1, `H:awardsYes` = -1)), by = "stype"))
addc(case_contrast("clus1_jk1_prop_awards_by_stype", "clus1_jk1", "proportion", "awards",
                   list(contrast = c(`E:awardsYes` = 1, `H:awardsYes` = -1)), by = "stype"))
addc(case_contrast("clus1_prop_hi_diff", "clus1", "proportion", c("hi00", "hi99"),
                   list(contrast = c(`factor(hi00)1` = 1, `factor(hi99)1` = -1))))
addc(case_contrast("clus1_long_prop_above600_by_wave", "clus1_long", "proportion", "above600",
                   list(contrast = c(`w00:factor(above600)1` = 1, `w99:factor(above600)1` = -1)),
                   by = "wave"))
# ratios (svyratio by domain)
addc(case_contrast("clus1_ratio_by_stype_EH", "clus1", "ratio", "api.stu", eh, by = "stype",
                   denominator = "enroll"))
addc(case_contrast("clus1_jk1_ratio_by_stype_EH", "clus1_jk1", "ratio", "api.stu", eh, by = "stype",
                   denominator = "enroll"))
# nonlinear: log ratio of two means
addc(case_contrast("clus1_mean_log_ratio", "clus1", "mean", c("api00", "api99"), log_ratio))
addc(case_contrast("strat_mean_log_ratio", "strat", "mean", c("api00", "api99"), log_ratio))
addc(case_contrast("clus1_jk1_mean_log_ratio", "clus1_jk1", "mean", c("api00", "api99"), log_ratio,
                   per_replicate = TRUE))
addc(case_contrast("clus1_jk1_mean_log_ratio_delta", "clus1_jk1", "mean", c("api00", "api99"),
                   log_ratio))
addc(case_contrast("strat_boot_mean_log_ratio", "strat_boot", "mean", c("api00", "api99"), log_ratio,
                   per_replicate = TRUE))
addc(case_contrast("clus1_mean_log_ratio_and_ratio", "clus1", "mean", c("api00", "api99"),
                   list(log_ratio = list(r = "log(api00/api99)", py = "np.log(c['api00'] / c['api99'])"),
                        ratio = list(r = "api00/api99", py = "c['api00'] / c['api99']"))))
addc(case_contrast("clus1_jk1_mean_log_ratio_and_ratio", "clus1_jk1", "mean", c("api00", "api99"),
                   list(log_ratio = list(r = "log(api00/api99)", py = "np.log(c['api00'] / c['api99'])"),
                        ratio = list(r = "api00/api99", py = "c['api00'] / c['api99']")),
                   per_replicate = TRUE))
# nonlinear: ratio of two domain means
for (p in c("clus1", "strat")) {
  addc(case_contrast(paste0(p, "_mean_by_stype_ratio"), p, "mean", "api00", dom_ratio, by = "stype"))
  addc(case_contrast(paste0(p, "_mean_by_stype_ratios"), p, "mean", "api00", dom_ratios, by = "stype"))
}
for (p in c("clus1_jk1", "strat_boot")) {
  addc(case_contrast(paste0(p, "_mean_by_stype_ratio"), p, "mean", "api00", dom_ratio, by = "stype",
                     per_replicate = TRUE))
  addc(case_contrast(paste0(p, "_mean_by_stype_ratios"), p, "mean", "api00", dom_ratios, by = "stype",
                     per_replicate = TRUE))
}
addc(case_contrast("clus1_jk1_mean_by_stype_ratio_delta", "clus1_jk1", "mean", "api00", dom_ratio,
                   by = "stype"))
# nonlinear with tuple keys: log change ratio within E; log odds ratio of above600 w00 vs w99
addc(case_contrast("clus1_mean2_by_stype_log_ratio", "clus1", "mean", c("api00", "api99"),
                   list(contrast = list(r = "log(`E:api00`/`E:api99`)",
                                        py = "np.log(c[('E', 'api00')] / c[('E', 'api99')])")),
                   by = "stype"))
addc(case_contrast("clus1_jk1_mean2_by_stype_log_ratio", "clus1_jk1", "mean", c("api00", "api99"),
                   list(contrast = list(r = "log(`E:api00`/`E:api99`)",
                                        py = "np.log(c[('E', 'api00')] / c[('E', 'api99')])")),
                   by = "stype", per_replicate = TRUE))
log_or <- list(log_odds_ratio = list(
  r = "log((`w00:factor(above600)1`/`w00:factor(above600)0`)/(`w99:factor(above600)1`/`w99:factor(above600)0`))",
  py = "np.log((c[('w00', '1')] / c[('w00', '0')]) / (c[('w99', '1')] / c[('w99', '0')]))"))
addc(case_contrast("clus1_long_prop_above600_log_odds_ratio", "clus1_long", "proportion", "above600",
                   log_or, by = "wave"))
addc(case_contrast("clus1_long_jk1_prop_above600_log_odds_ratio", "clus1_long_jk1", "proportion",
                   "above600", log_or, by = "wave", per_replicate = TRUE))
addc(case_contrast("strat_prop_awards_log_odds", "strat", "proportion", "awards",
                   list(contrast = list(r = "log(awardsYes/awardsNo)",
                                        py = "np.log(c[('awards', 'Yes')] / c[('awards', 'No')])"))))

stopifnot(!anyDuplicated(vapply(contrasts, `[[`, "", "id")))

# The reordered per-replicate contrast within E equals the same contrast on the
# subset design (where svymean's replicates need no reordering).
contrast_of <- function(id) contrasts[[match(id, vapply(contrasts, `[[`, "", "id"))]]
within_E <- run(paste0('svycontrast(svymean(~api00+api99, subset(clus1_jk1, stype == "E"), ',
                       'return.replicates=TRUE), quote(log(api00/api99)))'))
stopifnot(isTRUE(all.equal(as.numeric(SE(within_E)),
                           as.numeric(contrast_of("clus1_jk1_mean2_by_stype_log_ratio")$result$se),
                           tolerance = 1e-12)))


# ---------------------------------------------------------------------------
# Changes (wave over wave)
# ---------------------------------------------------------------------------

case_change <- function(id, design, format, estimator, variables, base, other, samples, by = NULL) {
  along <- if (format == "wide") "variable" else "wave"
  est_by <- if (format == "wide") by else c(by, "wave")
  e <- estimate(id, design, estimator, variables, est_by)
  key <- function(cell) {
    if (format == "wide") list(by = cell$by, level = cell$level)
    else list(by = cell$by[names(cell$by) != "wave"], variable = cell$variable, level = cell$level)
  }
  is_side <- function(cell, side) {
    if (format == "wide") cell$variable == side else cell$by$wave == side
  }
  names_r <- names(coef(e$est))
  other_i <- which(vapply(e$cells, is_side, TRUE, side = other))
  base_i <- vapply(other_i, function(i) {
    j <- which(vapply(e$cells, function(cell) is_side(cell, base) && identical(key(cell), key(e$cells[[i]])), TRUE))
    stopifnot(length(j) == 1)
    j
  }, 1L)
  cells <- lapply(other_i, function(i) {
    k <- key(e$cells[[i]])
    list(by = k$by, variable = if (format == "wide") NULL else k$variable, level = k$level)
  })
  b <- coef(e$est)
  v <- diag(as.matrix(vcov(e$est)))
  picks <- function(idx) sprintf("c(%s)", paste(encodeString(names_r[idx], quote = '"'), collapse = ", "))
  if (samples == "paired") {
    labels <- vapply(cells, function(cell) {
      parts <- c(unlist(cell$by, use.names = FALSE), cell$level)
      if (length(parts) == 0) "change" else paste(parts, collapse = ":")
    }, "")
    items <- mapply(function(o, bb) named_vector_call(setNames(c(1, -1), names_r[c(o, bb)])),
                    other_i, base_i)
    con_call <- sprintf("svycontrast(est, list(%s))", paste(sprintf("%s=%s", rname(labels), items), collapse = ", "))
    assign("est", e$est, envir = env)
    con <- run(con_call)
    estimate <- unname(as.numeric(coef(con)))
    se <- unname(as.numeric(SE(con)))
    stopifnot(all(abs(estimate - (b[other_i] - b[base_i])) <= 1e-10 * pmax(1, abs(estimate))))
    r_call <- sprintf("%s; con <- %s; coef(con); SE(con)", e$r_call, con_call)
  } else {
    estimate <- unname(b[other_i] - b[base_i])
    se <- unname(sqrt(v[other_i] + v[base_i]))
    r_call <- sprintf("%s; v <- diag(vcov(est)); coef(est)[%s] - coef(est)[%s]; sqrt(v[%s] + v[%s])",
                      e$r_call, picks(other_i), picks(base_i), picks(other_i), picks(base_i))
  }
  list(id = id, design = design, format = format, estimator = estimator, variables = I(variables),
       by = if (is.null(by)) NULL else I(by), along = along, base = base, other = other,
       samples = samples, cells = cells, estimate = I(estimate), se = I(se),
       df = degf(get(design, envir = env)), r_call = r_call)
}

changes <- list()
addch <- function(case) changes[[length(changes) + 1]] <<- case

for (samples in c("paired", "independent")) {
  s <- samples
  # means
  for (p in c("clus1", "clus1_jk1", "strat", "strat_boot")) {
    addch(case_change(sprintf("%s_wide_mean_%s", p, s), p, "wide", "mean", c("api00", "api99"),
                      "api99", "api00", s))
  }
  for (p in c("clus1_long", "clus1_long_jk1")) {
    addch(case_change(sprintf("%s_mean_%s", p, s), p, "long", "mean", "api", "w99", "w00", s))
  }
  # proportions
  for (p in c("clus1", "clus1_jk1")) {
    addch(case_change(sprintf("%s_wide_prop01_%s", p, s), p, "wide", "mean", c("hi00", "hi99"),
                      "hi99", "hi00", s))
    addch(case_change(sprintf("%s_wide_prop_%s", p, s), p, "wide", "proportion", c("hi00", "hi99"),
                      "hi99", "hi00", s))
  }
  for (p in c("clus1_long", "clus1_long_jk1")) {
    addch(case_change(sprintf("%s_prop_%s", p, s), p, "long", "proportion", "above600", "w99", "w00", s))
    addch(case_change(sprintf("%s_prop_label_%s", p, s), p, "long", "proportion", "above600_label",
                      "w99", "w00", s))
  }
  # domains
  for (p in c("clus1", "clus1_jk1")) {
    addch(case_change(sprintf("%s_wide_mean_by_stype_%s", p, s), p, "wide", "mean", c("api00", "api99"),
                      "api99", "api00", s, by = "stype"))
    addch(case_change(sprintf("%s_wide_prop_by_stype_%s", p, s), p, "wide", "proportion",
                      c("hi00", "hi99"), "hi99", "hi00", s, by = "stype"))
  }
  for (p in c("clus1_long", "clus1_long_jk1")) {
    addch(case_change(sprintf("%s_mean_by_stype_%s", p, s), p, "long", "mean", "api", "w99", "w00", s,
                      by = "stype"))
    addch(case_change(sprintf("%s_prop_by_stype_%s", p, s), p, "long", "proportion", "above600",
                      "w99", "w00", s, by = "stype"))
  }
}
stopifnot(!anyDuplicated(vapply(changes, `[[`, "", "id")))

# Wide and long formats give the same changes (same design, same numbers).
change_of <- function(id) changes[[match(id, vapply(changes, `[[`, "", "id"))]]
same_change <- function(a, b) {
  x <- change_of(a)
  y <- change_of(b)
  isTRUE(all.equal(x$estimate, y$estimate, tolerance = 1e-10)) &&
    isTRUE(all.equal(x$se, y$se, tolerance = 1e-10))
}
for (s in c("paired", "independent")) {
  stopifnot(same_change(paste0("clus1_wide_mean_", s), paste0("clus1_long_mean_", s)),
            same_change(paste0("clus1_jk1_wide_mean_", s), paste0("clus1_long_jk1_mean_", s)),
            same_change(paste0("clus1_wide_mean_by_stype_", s), paste0("clus1_long_mean_by_stype_", s)),
            same_change(paste0("clus1_wide_prop_", s), paste0("clus1_long_prop_", s)),
            same_change(paste0("clus1_long_prop_", s), paste0("clus1_long_prop_label_", s)))
}

# The issue's figures.
paired <- change_of("clus1_wide_mean_paired")
independent <- change_of("clus1_wide_mean_independent")
stopifnot(round(paired$estimate, 2) == 37.19, round(paired$se, 3) == 3.085,
          round(independent$se, 2) == 33.78)
quoted_figures <- list(
  design = "clus1", change = as.numeric(paired$estimate)[1], se_paired = as.numeric(paired$se)[1],
  se_independent = as.numeric(independent$se)[1],
  quoted = list(change = 37.19, se_paired = 3.085, se_independent = 33.78),
  r_call = paste0("est <- svymean(~api00+api99, clus1); svycontrast(est, c(api00=1, api99=-1)); ",
                  "sqrt(sum(diag(vcov(est))))"))


# ---------------------------------------------------------------------------
# t-tests
# ---------------------------------------------------------------------------

case_ttest <- function(id, design, variable, group = NULL, mu = NULL, subset = NULL,
                       missing = "raise") {
  stopifnot(xor(is.null(group), is.null(mu)))
  dexpr <- if (is.null(subset)) design else sprintf('subset(%s, %s == "%s")', design, subset$column, subset$value)
  lhs <- if (!is.null(mu) && mu != 0) sprintf("I(%s - %s)", variable, format_exact(mu)) else variable
  # one-sample: na.rm reaches svymean; two groups: svyglm drops incomplete rows itself
  na <- if (missing == "omit" && is.null(group)) ", na.rm = TRUE" else ""
  call <- sprintf("svyttest(%s ~ %s, %s%s)", lhs, if (is.null(group)) "0" else group, dexpr, na)
  tt <- run(call)
  ci <- as.numeric(tt$conf.int)
  stopifnot(isTRUE(all.equal(unname(tt$p.value), 2 * pt(-abs(unname(tt$statistic)), unname(tt$parameter)),
                             tolerance = 1e-14)))
  levels <- if (is.null(group)) NULL else levels(factor(design_data(design)[[group]]))
  list(id = id, design = design, variable = variable, group = group,
       group_levels = if (is.null(levels)) NULL else I(levels), mu = mu, subset = subset,
       missing = missing,
       estimate = unname(tt$estimate), statistic = unname(tt$statistic), df = unname(tt$parameter),
       pvalue = unname(tt$p.value), ci_low = ci[1], ci_high = ci[2],
       r_call = sprintf("tt <- %s; tt$estimate; tt$statistic; tt$parameter; tt$p.value; tt$conf.int", call))
}

ttests <- list()
addt <- function(case) ttests[[length(ttests) + 1]] <<- case
for (p in c("clus1", "strat", "clus1_jk1", "strat_boot")) {
  addt(case_ttest(paste0(p, "_awards"), p, "api00", group = "awards"))
  addt(case_ttest(paste0(p, "_schwide"), p, "api00", group = "sch.wide"))
  addt(case_ttest(paste0(p, "_mu700"), p, "api00", mu = 700))
  addt(case_ttest(paste0(p, "_mu0"), p, "api00", mu = 0))
}
E <- list(column = "stype", value = "E")
addt(case_ttest("clus1_awards_subset_E", "clus1", "api00", group = "awards", subset = E))
addt(case_ttest("clus1_mu700_subset_E", "clus1", "api00", mu = 700, subset = E))
addt(case_ttest("clus1_jk1_awards_subset_E", "clus1_jk1", "api00", group = "awards", subset = E))
for (p in c("clus1_na", "clus1_na_jk1")) {
  addt(case_ttest(paste0(p, "_awards"), p, "api00", group = "awards", missing = "omit"))
  addt(case_ttest(paste0(p, "_mu700"), p, "api00", mu = 700, missing = "omit"))
}
stopifnot(!anyDuplicated(vapply(ttests, `[[`, "", "id")))


# ---------------------------------------------------------------------------
# Joint Wald tests: regTermTest on svyglm(api00 ~ stype). Its two coefficients
# are the differences H - E and M - E of the domain means, with the same
# covariance, so the Python side compares nc.compare(nc.mean(..., by="stype"),
# base="E") with joint_test(df = df.residual).
# ---------------------------------------------------------------------------

case_joint <- function(id, design) {
  call <- sprintf("regTermTest(svyglm(api00 ~ stype, %s), ~stype, method = \"Wald\")", design)
  rt <- run(call)
  list(id = id, design = design, variable = "api00", by = "stype", base = "E",
       statistic = unname(as.numeric(rt$Ftest)), ndf = unname(as.numeric(rt$df)),
       ddf = unname(as.numeric(rt$ddf)), chisq = unname(as.numeric(rt$Ftest) * rt$df),
       pvalue = unname(as.numeric(rt$p)), r_call = call)
}
joint_tests <- lapply(c("clus1", "strat", "clus1_jk1", "strat_boot"),
                      function(p) case_joint(paste0(p, "_stype"), p))


# ---------------------------------------------------------------------------
# Write the fixture
# ---------------------------------------------------------------------------

write_fixture("tests/reference/comparisons.R",
              list(designs = designs, quoted_figures = quoted_figures, contrasts = contrasts,
                   changes = changes, ttests = ttests, joint_tests = joint_tests),
              FIXTURE)
