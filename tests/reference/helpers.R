# Helpers shared by the R reference scripts (core.R, replicates.R,
# calibration.R): exact number formatting for CSVs and JSON doubles, design
# calls and specs in the Python API's keywords, result cells, JSON writing.
#
# Sourced from the repository root by each script:
#     source("tests/reference/helpers.R")
# The fixtures these scripts write are GENERATED: do not edit them by hand;
# regenerate with `nox -s r_reference`.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})

# ---------------------------------------------------------------------------
# Exact numeric round trip (CSV)
# ---------------------------------------------------------------------------

# Shortest decimal string (15, 16 or 17 significant digits) for each double
# that reads back to exactly that double both with R's parser and with a
# correctly rounded one (Python, C). R's parser is occasionally one ulp off
# (nhanes WTMEC2YR "23014.322091" is read by R as a different double than by
# Python), so R's round trip alone is not enough: the candidate must also
# differ from the same-precision rendering of both neighbouring doubles, which
# makes x the double nearest to the decimal.
neighbours <- function(x) {
  e <- floor(log2(abs(x)))
  e <- e - (2^e > abs(x)) + (2^(e + 1) <= abs(x))
  ulp <- 2^(e - 52)
  below <- ifelse(abs(x) == 2^e, ulp / 2, ulp)  # spacing halves below a power of two
  list(up = x + sign(x) * ulp, down = x - sign(x) * below)
}

format_exact <- function(x) {
  out <- rep(NA_character_, length(x))
  nb <- neighbours(x)
  for (digits in 15:17) {
    todo <- which(!is.na(x) & is.na(out))
    if (length(todo) == 0) break
    fmt <- function(v) sprintf(paste0("%.", digits, "g"), v)
    s <- fmt(x[todo])
    hit <- as.numeric(s) == x[todo]
    nonzero <- x[todo] != 0
    hit[nonzero] <- hit[nonzero] & s[nonzero] != fmt(nb$up[todo][nonzero]) &
      s[nonzero] != fmt(nb$down[todo][nonzero])
    out[todo[hit]] <- s[hit]
  }
  stopifnot(all(is.na(out) == is.na(x)))
  out
}

same_numbers <- function(a, b) {
  identical(as.numeric(a), as.numeric(b))
}

# write.csv(row.names = FALSE, na = ""), factors as labels; then re-read and
# require every numeric column to be identical to the original.
write_exact_csv <- function(df, path) {
  out <- df
  is_text <- vapply(df, function(col) is.factor(col) || is.character(col), TRUE)
  for (nm in names(out)) {
    col <- out[[nm]]
    out[[nm]] <- if (is.factor(col)) as.character(col) else as.vector(col)
  }
  write_it <- function() {
    write.csv(out, path, row.names = FALSE, na = "", quote = which(is_text))
    read.csv(path, stringsAsFactors = FALSE, check.names = FALSE,
             colClasses = ifelse(is_text, "character", NA))
  }
  # Doubles holding only whole numbers are written as is; other doubles via
  # format_exact() (write.csv's 15 digits are neither always enough nor always
  # read back correctly outside R).
  numeric_cols <- names(df)[!is_text]
  for (nm in numeric_cols) {
    x <- as.vector(df[[nm]])
    if (is.double(x) && any(!is.na(x) & x != round(x))) out[[nm]] <- format_exact(x)
  }
  back <- write_it()
  for (nm in numeric_cols) {
    if (!same_numbers(df[[nm]], back[[nm]])) stop("column ", nm, " of ", path, " does not round-trip")
  }
  for (nm in names(df)[is_text]) {
    orig <- as.character(df[[nm]])
    orig[is.na(orig)] <- ""
    got <- back[[nm]]
    got[is.na(got)] <- ""
    if (!identical(orig, got)) stop("text column ", nm, " of ", path, " does not round-trip")
  }
  invisible(path)
}


# ---------------------------------------------------------------------------
# Taylor designs: Python keywords and the svydesign() call
# ---------------------------------------------------------------------------

design_call <- function(spec) {
  plus <- function(cols) paste0("~", paste(cols, collapse = "+"))
  args <- c(paste0("id=", if (is.null(spec$clusters)) "~1" else plus(spec$clusters)))
  if (!is.null(spec$strata)) args <- c(args, paste0("strata=", plus(spec$strata)))
  if (!is.null(spec$weights)) args <- c(args, paste0("weights=", plus(spec$weights)))
  if (!is.null(spec$fpc)) args <- c(args, paste0("fpc=", plus(spec$fpc)))
  if (isTRUE(spec$nest)) args <- c(args, "nest=TRUE")
  sprintf("svydesign(%s, data=%s)", paste(args, collapse = ", "), spec$data)
}

# Design in the Python API's keywords. Multi-column clusters/fpc become JSON lists.
design_spec <- function(data, weights = NULL, strata = NULL, clusters = NULL,
                        fpc = NULL, nest = FALSE, lonely_psu = "raise") {
  as_json_cols <- function(x) if (length(x) > 1) I(x) else x
  list(data = data, weights = weights, strata = strata,
       clusters = as_json_cols(clusters), fpc = as_json_cols(fpc),
       nest = nest, lonely_psu = lonely_psu)
}


# ---------------------------------------------------------------------------
# Cases and cells
# ---------------------------------------------------------------------------

# One label per statistic: numeric variables give one, factors one per level.
stat_labels <- function(data, variables, proportion) {
  do.call(c, lapply(variables, function(v) {
    if (!proportion) return(list(list(variable = v, level = NULL)))
    x <- data[[v]]
    lv <- if (is.factor(x)) levels(x) else as.character(sort(unique(x[!is.na(x)])))
    lapply(lv, function(l) list(variable = v, level = l))
  }))
}

formula_terms <- function(data, variables, proportion) {
  terms <- vapply(variables, function(v) {
    if (proportion && !is.factor(data[[v]])) sprintf("factor(%s)", v) else v
  }, "")
  paste0("~", paste(terms, collapse = "+"))
}

by_label <- function(domains, g) {
  if (is.null(domains)) return(setNames(list(), character(0)))
  lapply(as.list(domains[g, , drop = FALSE]), as.character)
}

# Cells in R's coefficient order: statistic-major, domains inner (svyby order).
make_cells <- function(labels, domains, est, se, deff, ci_low, ci_high) {
  ndom <- if (is.null(domains)) 1 else nrow(domains)
  stopifnot(length(est) == length(labels) * ndom, length(se) == length(est),
            length(ci_low) == length(est), length(ci_high) == length(est),
            is.null(deff) || length(deff) == length(est))
  cells <- list()
  k <- 0
  for (s in seq_along(labels)) {
    for (g in seq_len(ndom)) {
      k <- k + 1
      cells[[k]] <- list(by = by_label(domains, g), variable = labels[[s]]$variable,
                         level = labels[[s]]$level, estimate = unname(est[k]), se = unname(se[k]),
                         deff = if (is.null(deff)) NULL else unname(deff[k]),
                         ci_low = unname(ci_low[k]), ci_high = unname(ci_high[k]))
    }
  }
  cells
}

same_or_both_na <- function(a, b, tolerance = 1e-12) {
  ok <- !is.na(a)
  identical(ok, !is.na(b)) && (!any(ok) || isTRUE(all.equal(a[ok], b[ok], tolerance = tolerance)))
}

svyby_domains <- function(res, by) as.data.frame(res)[, by, drop = FALSE]

# Full covariance of by-domain estimates, across ALL cells (in cell order).
# svyby(covmat = TRUE) in survey 4.1.1 is block-diagonal for Taylor designs: it
# sets the covariance between different domains to zero, although domains that
# share PSUs are correlated. Here every domain estimate is written as a function
# of totals of indicator-product columns, in ONE estimator call, so svyrecvar
# sees all influence columns together:
#   total   svytotal(~ I(ifelse(D_g, y, 0)) + ..., design)
#   mean    svyratio(~ I(ifelse(D_g, y, 0)) + ..., ~ I(ifelse(D_g, 1, 0)) + ...)
#   ratio   svyratio(~ I(ifelse(D_g, y, 0)) + ..., ~ I(ifelse(D_g, x, 0)) + ...)
# with y the level indicator (awards == "No") for proportions. svyratio(covmat =
# TRUE) returns all numerator x denominator ratios (numerator index fastest), of
# which the (cell, own domain) pairs are kept. For missing = "omit", D_g also
# requires complete data, i.e. incomplete rows leave the domain (as na.rm = TRUE
# does inside svyby).
# `evaluate(call)` evaluates the estimator call (where `design` is bound).
# Returns list(r_call, estimate, vcov).
indicator_vcov <- function(design, estimator, labels, domains, data, missing,
                           variables, denominator = NULL, evaluate) {
  literal <- function(column, value) {
    if (is.numeric(data[[column]])) value else encodeString(value, quote = '"')
  }
  condition <- function(columns, values) {
    paste(sprintf("%s == %s", columns, mapply(literal, columns, values)), collapse = " & ")
  }
  complete <- if (missing == "omit") {
    sprintf("!is.na(%s)", c(variables, denominator))
  } else {
    character(0)
  }
  domain_cond <- vapply(seq_len(nrow(domains)), function(g) {
    values <- vapply(domains[g, , drop = FALSE], as.character, "")
    paste(c(condition(names(domains), values), complete), collapse = " & ")
  }, "")
  # numerator terms in cell order (statistic-major, domains inner)
  stat_value <- vapply(labels, function(s) {
    if (is.null(s$level)) s$variable else sprintf("(%s == %s)", s$variable, literal(s$variable, s$level))
  }, "")
  ndom <- length(domain_cond)
  cell_dom <- rep(seq_len(ndom), times = length(labels))
  num <- sprintf("I(ifelse(%s, %s, 0))", domain_cond[cell_dom], rep(stat_value, each = ndom))
  plus <- function(terms) paste0("~", paste(terms, collapse = " + "))
  if (estimator == "total") {
    idx <- seq_along(num)
    call <- sprintf("svytotal(%s, %s)", plus(num), design)
  } else {
    den <- sprintf("I(ifelse(%s, %s, 0))", domain_cond, if (is.null(denominator)) 1 else denominator)
    idx <- seq_along(num) + (cell_dom - 1) * length(num)
    call <- sprintf("svyratio(%s, %s, %s, covmat=TRUE)", plus(num), plus(den), design)
  }
  sel <- sprintf("c(%s)", paste(idx, collapse = ", "))
  r_call <- sprintf("full <- %s; coef(full)[%s]; vcov(full)[%s, %s]", call, sel, sel, sel)
  full <- evaluate(call)
  list(r_call = r_call, estimate = unname(coef(full)[idx]),
       vcov = unname(as.matrix(vcov(full))[idx, idx, drop = FALSE]))
}

na_arg <- function(missing) if (missing == "omit") ", na.rm=TRUE" else ""

case_header <- function(id, design, estimator, subset, by, missing, level, ci_method, df, r_call) {
  list(id = id, design = design, subset = subset, estimator = estimator,
       by = if (is.null(by)) NULL else I(by), missing = missing,
       confidence_level = level, ci_method = ci_method, df = df, r_call = r_call)
}


# ---------------------------------------------------------------------------
# JSON with exact doubles
# ---------------------------------------------------------------------------

# jsonlite prints at most 15 significant digits (also with digits = NA or
# I(17)), which does not round-trip every double. So doubles are formatted here
# with format_exact() (shortest of 15/16/17 significant digits that reads back
# identically) and inserted verbatim; NA, NaN and +-Inf become null.
json_numbers <- function(x) {
  s <- format_exact(as.numeric(x))
  s[is.na(x) | !is.finite(x)] <- "null"
  s
}

json_array <- function(items) paste0("[", paste(items, collapse = ", "), "]")

exact_numbers <- function(x) {
  if (is.list(x)) {
    x[] <- lapply(x, exact_numbers)
    return(x)
  }
  if (!is.double(x)) return(x)
  json <- if (is.matrix(x)) {
    json_array(apply(x, 1, function(row) json_array(json_numbers(row))))
  } else if (inherits(x, "AsIs") || length(x) != 1) {
    json_array(json_numbers(x))
  } else {
    json_numbers(x)
  }
  structure(json, class = "json")
}

write_json_exact <- function(x, path) {
  json <- toJSON(exact_numbers(x), auto_unbox = TRUE, pretty = TRUE, null = "null",
                 na = "null", json_verbatim = TRUE)
  writeLines(json, path)
}

# Write a fixture: provenance (script, R and survey versions) followed by `parts`
# (a named list), with every double written exactly; report the sizes on stdout.
write_fixture <- function(script, parts, path) {
  fixture <- c(list(generated_by = script, r_version = R.version.string,
                    survey_version = as.character(packageVersion("survey"))), parts)
  write_json_exact(fixture, path)
  sizes <- vapply(parts, function(x) if (is.list(x)) length(x) else 1L, 1L)
  cat("wrote", path, "with", paste(sizes, names(parts), collapse = ", "), "\n")
}
