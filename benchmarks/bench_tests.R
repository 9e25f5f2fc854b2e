# R side of benchmarks/bench_tests.py: times R's survey package on comparisons, tests
# and models.
#
# Usage: Rscript benchmarks/bench_tests.R DATA_DIR OUT_FILE
#
# DATA_DIR holds the columns written by bench_tests.py as raw little-endian binary
# (exact doubles, no CSV rounding): w.f64, y.f64, x1.f64, x2.f64, x3.f64, z2.f64,
# reps.f64 (the n x R bootstrap replicate weights, column-major), strat.i32, psu.i32,
# d.i32, g.i32 (0/1), wave.i32 (1..4), a5.i32 and b4.i32 (codes 0..4 and 0..3), and
# n.txt (rows), r.txt (replicates), compare.txt (1: run "compare waves", 0: skip it: it
# takes minutes on large data). Loading is not timed. Each task runs once.
#
# OUT_FILE gets one tab-separated line per task: name, elapsed seconds, estimates and
# standard errors (comma-separated, 17 significant digits). "compare waves" lists the
# 300 changes ordered by pair of waves (1-2, 2-3, 3-4), then d ascending; "chisq F"
# lists F, ndf, ddf and the p-value (no SEs).

suppressPackageStartupMessages(library(survey))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript bench_tests.R DATA_DIR OUT_FILE")
dir <- args[[1]]
out <- args[[2]]

n <- as.integer(readLines(file.path(dir, "n.txt")))
n_rep <- as.integer(readLines(file.path(dir, "r.txt")))
read_bin <- function(name, what, size, count = n) {
  con <- file(file.path(dir, name), "rb")
  on.exit(close(con))
  readBin(con, what = what, n = count, size = size, endian = "little")
}
read_codes <- function(name, k) factor(read_bin(name, "integer", 4), levels = 0:(k - 1))
df <- data.frame(
  w = read_bin("w.f64", "double", 8),
  y = read_bin("y.f64", "double", 8),
  x1 = read_bin("x1.f64", "double", 8),
  x2 = read_bin("x2.f64", "double", 8),
  x3 = read_bin("x3.f64", "double", 8),
  z2 = read_bin("z2.f64", "double", 8),
  strat = read_bin("strat.i32", "integer", 4),
  psu = read_bin("psu.i32", "integer", 4),
  d = read_bin("d.i32", "integer", 4),
  g = read_codes("g.i32", 2),
  wave = read_bin("wave.i32", "integer", 4),
  a5 = read_codes("a5.i32", 5),
  b4 = read_codes("b4.i32", 4)
)

# fmt(), record() and timed(), from the file beside this script
self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
source(file.path(dirname(normalizePath(self)), "bench_helpers.R"))

des <- svydesign(id = ~psu, strata = ~strat, weights = ~w, data = df)

# 1. two-group t-test: the difference of the means (g = 1 minus g = 0)
r <- timed(svyttest(y ~ g, des))
record("ttest", r$elapsed, r$value$estimate, r$value$estimate / r$value$statistic)

# 2. 300 successive wave changes within the 100 domains: svyby with the covariance
#    across cells, then one contrast vector per change
if (as.integer(readLines(file.path(dir, "compare.txt")))) r <- timed({
  by <- svyby(~y, ~d + wave, des, svymean, covmat = TRUE)
  cells <- paste(by$d, by$wave, sep = ".")
  changes <- list()
  for (b in 1:3) for (dd in sort(unique(df$d))) {
    v <- setNames(numeric(length(cells)), cells)
    v[paste(dd, b + 1, sep = ".")] <- 1
    v[paste(dd, b, sep = ".")] <- -1
    changes[[paste0(dd, ":", b, "-", b + 1)]] <- v
  }
  svycontrast(by, changes)
})
if (as.integer(readLines(file.path(dir, "compare.txt")))) {
  stopifnot(length(coef(r$value)) == 300L)
  record("compare waves", r$elapsed, coef(r$value), SE(r$value))
}

# 3. Rao-Scott second-order test of a5 x b4
r <- timed(svychisq(~a5 + b4, des, statistic = "F"))
record("chisq F", r$elapsed, c(r$value$statistic, r$value$parameter, r$value$p.value))

# 4. design-based GLMs
r <- timed(svyglm(y ~ x1 + x2 + x3, des, family = gaussian()))
record("glm gaussian", r$elapsed, coef(r$value), SE(r$value))
r <- timed(svyglm(z2 ~ x1 + x2 + x3, des, family = quasibinomial()))
record("glm binomial", r$elapsed, coef(r$value), SE(r$value))
rm(des)
invisible(gc())

# 5. the bootstrap replicate design (replicate weights supplied as final weights).
#    Without the column g: svyglm.svyrep.design evaluates its own call, a local named
#    g, inside with(data, ...), where a data column g would shadow it (survey 4.1.1).
reps <- matrix(read_bin("reps.f64", "double", 8, count = n * n_rep), nrow = n, ncol = n_rep)
rdes <- svrepdesign(data = df[setdiff(names(df), "g")], repweights = reps, weights = ~w, type = "bootstrap",
                    combined.weights = TRUE)
rm(reps)
invisible(gc())

r <- timed(svyglm(y ~ x1 + x2 + x3, rdes, family = gaussian()))
record("rep glm gaussian", r$elapsed, coef(r$value), SE(r$value))

r <- timed(svycontrast(svymean(~y + x1, rdes, return.replicates = TRUE), quote(y / x1)))
record("rep contrast y/x1", r$elapsed, coef(r$value), SE(r$value))

writeLines(lines, out)
