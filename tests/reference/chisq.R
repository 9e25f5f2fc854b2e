# Reference numbers for nea_covid's tests of association in two-way tables
# (nc.chisq), computed with R's `survey` (svychisq).
#
# For every table (design x row variable x column variable) this script runs
# svychisq with each statistic ("F", "Chisq", "Wald", "adjWald", "saddlepoint")
# and records R's statistic, parameters, p-value and method, together with the
# facts nc.chisq exposes that svychisq keeps internal:
#   nu               the design degrees of freedom svychisq uses: for Taylor
#                    designs length(unique(cluster[, 1])) - length(unique(strata[, 1]))
#                    over the rows of the (subset) design, for replicate designs degf()
#   pearson          Pearson's X^2 of svytable(~row + col, design, Ntotal = N)
#                    (N = nrow of the design's data, rows with missing values included)
#   design_effects   the eigenvalues of svychisq's Delta (recomputed here with
#                    svychisq's own code; checked against its F statistic)
#   table            svytable(~row + col, design) (unscaled weighted counts)
# Everything is written to tests/reference/fixtures/chisq.json; "errors" lists the
# cases where R returns no usable test, "saddlepoint" R's saddlepoint
# approximation (pchisqsum, pFsum) on its own.
#
# The fixture is GENERATED: do not edit it by hand. Regenerate from the
# repository root with
#     Rscript tests/reference/chisq.R
# Requires R with the packages survey (the fixture records its version) and
# jsonlite. Shared helpers are in tests/reference/helpers.R.
#
# Fixture conventions (as core.json and replicates.json): each design's r_call is
# evaluated with the data sets bound by name; each result's r_call with the
# designs bound under their fixture names. Designs: {"kind": "taylor", "spec":
# <SurveyDesign keywords>} (plus "poststratify": {"variable", "totals"} for a
# post-stratified design), {"kind": "conversion", "source": <keywords>,
# "method"} (SurveyDesign(**source).to_replicate(method)), {"kind":
# "replicate", ...} (ReplicateDesign keywords, as replicates.json).
# "derived" columns are added to the data sets before any design is built:
# {"from": x, "breaks": b} means the integer sum(x > b_i).
#
# Quirks of survey 4.1.1 worth knowing:
#   * svychisq's Taylor nu ignores weights (zero-weight rows count) and is taken
#     over the rows the design holds: a subset of an uncalibrated design drops
#     the other rows, while a subset of a calibrated (post-stratified, raked)
#     design keeps every row with zero weight, so nu, N and the Pearson X^2
#     refer to the whole sample there (case `clus1_ps_sub_stype_awards`);
#   * the table's levels are the distinct values over all of the design's rows,
#     so a level seen only in rows where the other variable is missing (or only
#     in zero-weight rows) gives a zero margin and a NaN statistic; nc.chisq
#     uses the levels observed among complete rows with positive weight;
#   * "lincom" needs the CompQuadForm package; without it R warns and uses the
#     saddlepoint approximation ("lincom" is not part of nc.chisq);
#   * for replicate designs "saddlepoint" uses pchisqsum (no denominator df),
#     for Taylor designs pFsum with ddf = d0 * nu; both fall back to the
#     Satterthwaite value when saddle() returns NA;
#   * "adjWald" with nu - (nr - 1)(nc - 1) + 1 <= 0 never gets as far as its
#     negative ddf: the Wald covariance then has rank at most nu, below the
#     number of contrasts, and solve() stops ("computationally singular"), for
#     "Wald" too (`errors`);
#   * "saddlepoint" p-values carry the error of uniroot's tol = 1e-8, which near
#     the mean of the distribution reaches ~1e-3 relative (`saddlepoint`).

if (!file.exists("tests/reference/chisq.R")) {
  stop("run this script from the repository root: Rscript tests/reference/chisq.R")
}
source("tests/reference/helpers.R")

FIXTURE <- "tests/reference/fixtures/chisq.json"
dir.create(dirname(FIXTURE), recursive = TRUE, showWarnings = FALSE)
SEED <- 20240601L  # replicates.R's seed of the bootstrap conversion (apistrat_boot.csv)

options(survey.lonely.psu = "fail", survey.ultimate.cluster = FALSE,
        survey.adjust.domain.lonely = FALSE, survey.replicates.mse = FALSE)

data(api)
data(nhanes)
apistrat_boot <- read.csv("tests/reference/data/apistrat_boot.csv", stringsAsFactors = FALSE,
                          check.names = FALSE)

# api00 in four bands (a 3 x 4 table with stype)
derived <- list(api_band = list(from = "api00", breaks = I(c(600, 700, 800))))
band <- function(x, breaks) as.integer(rowSums(outer(x, breaks, ">")))
datasets <- list(apistrat = apistrat, apiclus1 = apiclus1, apiclus2 = apiclus2, nhanes = nhanes,
                 apistrat_boot = apistrat_boot)
for (nm in names(datasets)) {
  for (col in names(derived)) {
    spec <- derived[[col]]
    if (spec$from %in% names(datasets[[nm]])) {
      datasets[[nm]][[col]] <- band(datasets[[nm]][[spec$from]], spec$breaks)
    }
  }
}
stopifnot(identical(sort(unique(datasets$apistrat$api_band)), 0:3))

data_env <- new.env()
for (nm in names(datasets)) assign(nm, datasets[[nm]], envir = data_env)
env <- new.env(parent = data_env)
run <- function(code, envir = env) eval(parse(text = code), envir = envir)


# ---------------------------------------------------------------------------
# Designs
# ---------------------------------------------------------------------------

taylor <- function(spec) list(kind = "taylor", spec = spec, r_call = design_call(spec))

strat_spec <- design_spec("apistrat", weights = "pw", strata = "stype", fpc = "fpc")
clus1_spec <- design_spec("apiclus1", weights = "pw", clusters = "dnum", fpc = "fpc")
STYPE_TOTALS <- list(E = 4421, H = 755, M = 1018)

# The bootstrap replicate weights of apistrat_boot.csv and their scale: R's
# bootstrap conversion of `strat` with replicates.R's seed.
boot_rd <- run(sprintf('{set.seed(%d); as.svrepdesign(%s, type="bootstrap", replicates=50)}',
                       SEED, design_call(strat_spec)), data_env)
boot_cols <- grep("^rep[0-9]+$", names(apistrat_boot), value = TRUE)
stopifnot(length(boot_cols) == 50,
          identical(unname(as.matrix(apistrat_boot[, boot_cols])),
                    unname(as.matrix(weights(boot_rd, "analysis")))))
boot_scale <- unname(boot_rd$scale)
boot_rscales <- unname(boot_rd$rscales)

designs <- list(
  strat = taylor(strat_spec),
  clus1 = taylor(clus1_spec),
  clus2 = taylor(design_spec("apiclus2", clusters = c("dnum", "snum"), fpc = c("fpc1", "fpc2"))),
  nhanes = taylor(design_spec("nhanes", weights = "WTMEC2YR", strata = "SDMVSTRA",
                              clusters = "SDMVPSU", nest = TRUE)),
  clus1_ps = c(taylor(clus1_spec),
               list(poststratify = list(variable = "stype", totals = STYPE_TOTALS))),
  clus1_jk1 = list(kind = "conversion", source = clus1_spec, method = "JK1",
                   r_call = sprintf('as.svrepdesign(%s, type="JK1")', design_call(clus1_spec))),
  strat_boot = list(kind = "replicate", data = "apistrat_boot", weights = "pw",
                    replicate_weights = I(boot_cols), method = "bootstrap", scale = boot_scale,
                    rscales = I(boot_rscales), mse = FALSE, combined_weights = TRUE, rho = NULL,
                    r_call = sprintf(paste0('svrepdesign(data=apistrat_boot, weights=~pw, ',
                                            'repweights="^rep[0-9]+$", type="bootstrap", ',
                                            'scale=%s, rscales=%s, combined.weights=TRUE, ',
                                            'mse=FALSE)'),
                                     format_exact(boot_scale),
                                     sprintf("rep(%s, %d)", format_exact(boot_rscales[1]),
                                             length(boot_rscales))))
)
stopifnot(all(boot_rscales == boot_rscales[1]))
designs$clus1_ps$r_call <- sprintf(
  'postStratify(%s, ~stype, data.frame(stype=c("E", "H", "M"), Freq=c(4421, 755, 1018)))',
  design_call(clus1_spec))

for (nm in names(designs)) {
  d <- run(designs[[nm]]$r_call, data_env)
  assign(nm, d, envir = env)
  designs[[nm]]$degf <- degf(d)
  designs[[nm]]$replicate <- inherits(d, "svyrep.design")
}


# ---------------------------------------------------------------------------
# Tables and tests
# ---------------------------------------------------------------------------

STATISTICS <- c("F", "Chisq", "Wald", "adjWald", "saddlepoint")

design_expr <- function(design, subset) {
  if (is.null(subset)) design else sprintf('subset(%s, %s == "%s")', design, subset$column, subset$value)
}

# svychisq's Delta (its own code, for the eigenvalues it does not return), nu and
# N for the design object `d` (the subset, where there is one).
delta_facts <- function(d, row, col) {
  vars <- d$variables
  nr <- length(na.omit(unique(vars[[row]])))
  nc <- length(na.omit(unique(vars[[col]])))
  fsat <- as.formula(sprintf("~interaction(factor(%s), factor(%s)) - 1", row, col))
  mm <- model.matrix(fsat, model.frame(fsat, vars, na.action = na.pass))
  N <- nrow(mm)
  nu <- if (inherits(d, "svyrep.design")) degf(d) else
    length(unique(d$cluster[, 1])) - length(unique(d$strata[, 1]))
  mf1 <- expand.grid(rows = 1:nr, cols = 1:nc)
  X1 <- model.matrix(~factor(rows) + factor(cols), mf1)
  X12 <- model.matrix(~factor(rows) * factor(cols), mf1)
  mean2 <- svymean(mm, d, na.rm = TRUE)
  Cmat <- qr.resid(qr(X1), X12[, -(1:(nr + nc - 1)), drop = FALSE])
  iDmat <- diag(ifelse(mean2 == 0, 0, 1 / mean2))
  V <- attr(mean2, "var")
  denom <- t(Cmat) %*% (iDmat / N) %*% Cmat
  numr <- t(Cmat) %*% iDmat %*% V %*% iDmat %*% Cmat
  Delta <- solve(denom, numr)
  list(N = N, nu = nu, trace = sum(diag(Delta)),
       eigen = eigen(Delta, only.values = TRUE)$values)
}

chisq_case <- function(id, design, row, col, subset = NULL) {
  dexpr <- design_expr(design, subset)
  d <- run(dexpr)
  vars <- d$variables
  # rows in the domain (a calibrated design's subset keeps the others with weight 0)
  in_domain <- weights(d, "sampling") > 0
  missing_rows <- is.na(vars[[row]]) | is.na(vars[[col]])
  facts <- delta_facts(d, row, col)
  stopifnot(is.double(facts$eigen), all(facts$eigen > 0))
  formula <- sprintf("~%s+%s", row, col)
  tbl <- run(sprintf("svytable(%s, %s)", formula, dexpr))
  pearson_call <- sprintf("chisq.test(svytable(%s, %s, Ntotal=%d), correct=FALSE)$statistic",
                          formula, dexpr, facts$N)
  pearson <- unname(suppressWarnings(run(pearson_call)))
  results <- lapply(STATISTICS, function(stat) {
    r_call <- sprintf('svychisq(%s, %s, statistic="%s")', formula, dexpr, stat)
    res <- run(r_call)
    par <- res$parameter
    list(statistic = stat, r_call = r_call, name = names(res$statistic),
         value = as.vector(res$statistic), pvalue = as.vector(res$p.value),
         ndf = if ("ndf" %in% names(par)) unname(par[["ndf"]]) else
           if ("df" %in% names(par)) unname(par[["df"]]) else NULL,
         ddf = if ("ddf" %in% names(par)) unname(par[["ddf"]]) else NULL,
         method = res$method)
  })
  names(results) <- STATISTICS
  # the recomputed Delta is svychisq's
  stopifnot(isTRUE(all.equal(results$F$value, pearson / facts$trace, tolerance = 1e-13)),
            isTRUE(all.equal(results$Chisq$value, pearson, tolerance = 1e-15)),
            results$Wald$ddf == facts$nu)
  list(id = id, design = design, subset = subset, row = row, column = col,
       missing = if (any(missing_rows)) "omit" else "raise",
       r_call = sprintf("%s; %s", pearson_call, "svytable(...); delta: see delta_facts() in chisq.R"),
       n_rows = facts$N, n_obs = sum(in_domain & !missing_rows),
       n_missing = sum(in_domain & missing_rows),
       nu = facts$nu, pearson = pearson, design_effects = I(facts$eigen),
       row_levels = I(rownames(tbl)), column_levels = I(colnames(tbl)),
       table = unname(matrix(as.vector(tbl), nrow = nrow(tbl))),
       results = unname(results))
}

tables <- list(
  chisq_case("strat_stype_awards", "strat", "stype", "awards"),
  chisq_case("strat_yrrnd_awards", "strat", "yr.rnd", "awards"),          # 2 x 2
  chisq_case("strat_schwide_compimp", "strat", "sch.wide", "comp.imp"),   # 2 x 2
  chisq_case("strat_stype_band", "strat", "stype", "api_band"),           # 3 x 4
  chisq_case("strat_band_stype", "strat", "api_band", "stype"),           # 4 x 3 (transposed)
  chisq_case("strat_sub_stype_awards", "strat", "stype", "awards",
             subset = list(column = "comp.imp", value = "Yes")),
  chisq_case("clus1_stype_awards", "clus1", "stype", "awards"),
  chisq_case("clus1_stype_schwide", "clus1", "stype", "sch.wide"),
  chisq_case("clus1_both_schwide", "clus1", "both", "sch.wide"),          # an empty cell
  chisq_case("clus2_stype_schwide", "clus2", "stype", "sch.wide"),
  chisq_case("clus2_stype_awards", "clus2", "stype", "awards"),
  chisq_case("nhanes_race_agecat", "nhanes", "race", "agecat"),           # 4 x 4
  chisq_case("nhanes_hichol_gender", "nhanes", "HI_CHOL", "RIAGENDR"),    # missing values
  chisq_case("nhanes_agecat_hichol", "nhanes", "agecat", "HI_CHOL"),      # missing values
  chisq_case("nhanes_sub_race_hichol", "nhanes", "race", "HI_CHOL",
             subset = list(column = "agecat", value = "(19,39]")),
  chisq_case("clus1_ps_sub_stype_awards", "clus1_ps", "stype", "awards",
             subset = list(column = "sch.wide", value = "Yes")),
  chisq_case("clus1_jk1_stype_awards", "clus1_jk1", "stype", "awards"),
  chisq_case("clus1_jk1_stype_band", "clus1_jk1", "stype", "api_band"),
  chisq_case("clus1_jk1_sub_stype_awards", "clus1_jk1", "stype", "awards",
             subset = list(column = "yr.rnd", value = "No")),
  chisq_case("strat_boot_stype_awards", "strat_boot", "stype", "awards"),
  chisq_case("strat_boot_yrrnd_awards", "strat_boot", "yr.rnd", "awards")
)

# the calibrated subset keeps every row (nu and N of the whole sample)
ps_case <- tables[[which(vapply(tables, `[[`, "", "id") == "clus1_ps_sub_stype_awards")]]
stopifnot(ps_case$n_rows == nrow(apiclus1), ps_case$nu == 14)


# ---------------------------------------------------------------------------
# Where R gives no usable test
# ---------------------------------------------------------------------------

# adjWald needs nu - (nr - 1)(nc - 1) + 1 > 0. apiclus1 restricted to four
# districts ("keep": the rows whose `column` is one of `values`; a new design, not
# a subset) has nu = 3 and a 3 x 4 stype x api_band table: numdf = 6, ddf = -2.
# The Wald covariance of 6 cells from 4 PSUs has rank 3, so R's solve() fails for
# both Wald tests (a negative ddf always comes with a singular matrix: its rank is
# at most nu); nc.chisq raises DegreesOfFreedomError for adjWald and warns
# (ZeroVarianceWarning, NaN statistic) for Wald. The Rao-Scott tests are defined.
FEW <- c(178, 437, 568, 716)
few <- datasets$apiclus1[datasets$apiclus1$dnum %in% FEW, ]
assign("apiclus1_few", few, envir = data_env)
few_spec <- design_spec("apiclus1", weights = "pw", clusters = "dnum")
few_r_call <- sub("data=apiclus1", "data=apiclus1_few", design_call(few_spec))
assign("clus1_few", run(few_r_call, data_env), envir = env)
r_error <- function(code) tryCatch({
  run(code)
  NULL
}, error = function(e) conditionMessage(e))
few_calls <- sprintf('svychisq(~stype+api_band, clus1_few, statistic="%s")', c("Wald", "adjWald"))
few_F <- suppressWarnings(run('svychisq(~stype+api_band, clus1_few, statistic="F")'))
errors <- list(
  list(id = "wald_too_few_psus", spec = few_spec, keep = list(column = "dnum", values = I(FEW)),
       design_r_call = few_r_call, row = "stype", column = "api_band",
       nu = length(FEW) - 1L, numdf = 6L,
       statistics = I(c("Wald", "adjWald")), r_calls = I(few_calls),
       r_errors = I(vapply(few_calls, function(code) {
         msg <- suppressWarnings(r_error(code))
         if (is.null(msg)) NA_character_ else msg
       }, "", USE.NAMES = FALSE)),
       # the Rao-Scott F test on the same table is defined
       f_statistic = unname(few_F$statistic), f_pvalue = unname(few_F$p.value),
       f_ndf = unname(few_F$parameter[["ndf"]]), f_ddf = unname(few_F$parameter[["ddf"]]))
)
stopifnot(!anyNA(errors[[1]]$r_errors), grepl("singular", errors[[1]]$r_errors),
          isTRUE(all.equal(errors[[1]]$f_ddf / errors[[1]]$f_ndf, 3)))


# ---------------------------------------------------------------------------
# The saddlepoint approximation on its own
# ---------------------------------------------------------------------------

# Upper tails of sum(a_i chi2_1) (pchisqsum, replicate designs) and of
# sum(a_i chi2_1) / (chi2_ddf / ddf) (pFsum, Taylor designs) by R's saddlepoint
# method; "fallback" marks where saddle() gives NA and R returns the Satterthwaite
# value (x = sum(a) puts the saddlepoint at zero). Near that point the
# approximation is ill-conditioned: R's root tolerance (uniroot tol = 1e-8) moves
# its p-value by up to ~1e-3 relative. "pvalue_tight" is the same computation with
# the root found to tol = 1e-14 (saddle() with only its tolerance changed).
A <- c(2, 1, 0.5, 0.25)
saddle_src <- deparse(survey:::saddle)
stopifnot(sum(grepl("tol = 1e-08", saddle_src, fixed = TRUE)) == 1)
saddle_tol <- eval(parse(text = sub("function (x, lambda) ", "function (x, lambda, tol = 1e-08) ",
                                    sub("tol = 1e-08", "tol = tol", saddle_src, fixed = TRUE),
                                    fixed = TRUE)))
environment(saddle_tol) <- asNamespace("survey")
stopifnot(identical(saddle_tol(3.76, A), survey:::saddle(3.76, A)))
quiet <- function(expr) suppressWarnings(expr)  # sqrt(negative) inside saddle(): NA
tight <- function(x, lambda, fallback) {
  s <- quiet(saddle_tol(x, lambda, tol = 1e-14))
  if (is.na(s)) fallback else s
}
saddlepoint <- list()
for (x in c(0.5, sum(A), 3.76, 10, 40)) {
  sat <- survey:::pchisqsum(x, rep(1, 4), A, lower.tail = FALSE, method = "satterthwaite")
  saddlepoint[[length(saddlepoint) + 1]] <- list(
    kind = "pchisqsum", x = x, a = I(A), ddf = NULL,
    r_call = sprintf('survey:::pchisqsum(%s, rep(1, 4), c(2, 1, 0.5, 0.25), lower.tail=FALSE, method="saddlepoint")',
                     format_exact(x)),
    pvalue = quiet(survey:::pchisqsum(x, rep(1, 4), A, lower.tail = FALSE, method = "saddlepoint")),
    pvalue_tight = tight(x, A, sat), satterthwaite = sat,
    fallback = quiet(is.na(survey:::saddle(x, A))))
}
for (ddf in c(0.5, 5.5, 30, 200.7)) {
  for (x in c(1, 3.75, 10, 40)) {
    lambda <- if (ddf > 1) rep(c(A, -x / ddf), c(rep(1, 4), ddf)) else c(A, -x / ddf)
    sat <- survey:::pFsum(x, rep(1, 4), A, ddf = ddf, lower.tail = FALSE, method = "satterthwaite")
    saddlepoint[[length(saddlepoint) + 1]] <- list(
      kind = "pFsum", x = x, a = I(A), ddf = ddf,
      r_call = sprintf('survey:::pFsum(%s, rep(1, 4), c(2, 1, 0.5, 0.25), ddf=%s, lower.tail=FALSE, method="saddlepoint")',
                       format_exact(x), format_exact(ddf)),
      pvalue = quiet(survey:::pFsum(x, rep(1, 4), A, ddf = ddf, lower.tail = FALSE,
                                    method = "saddlepoint")),
      pvalue_tight = tight(0, lambda, sat), satterthwaite = sat,
      fallback = quiet(is.na(survey:::saddle(0, lambda))))
  }
}
stopifnot(any(vapply(saddlepoint, `[[`, TRUE, "fallback")))

write_fixture("tests/reference/chisq.R",
              list(derived = derived, designs = designs, tables = tables, errors = errors,
                   saddlepoint = saddlepoint),
              FIXTURE)
