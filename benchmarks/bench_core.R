# R side of benchmarks/bench_core.py: times R's survey package on the benchmark data.
#
# Usage: Rscript benchmarks/bench_core.R DATA_DIR OUT_FILE
#
# DATA_DIR holds the columns written by bench_core.py as raw little-endian binary
# (exact doubles, no CSV rounding): w.f64, y.f64, strat.i32, psu.i32, z.i32 (codes
# 0..4, labels in z_levels.txt), d.i32, and n.txt with the number of rows. Loading is
# not timed. Each task runs once (svyby alone takes tens of seconds on 10^6 rows).
# OUT_FILE gets one tab-separated line per task: name, elapsed seconds, estimates and
# standard errors (comma-separated, 17 significant digits).

suppressPackageStartupMessages(library(survey))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript bench_core.R DATA_DIR OUT_FILE")
dir <- args[[1]]
out <- args[[2]]

n <- as.integer(readLines(file.path(dir, "n.txt")))
read_col <- function(name, what, size) {
  con <- file(file.path(dir, name), "rb")
  on.exit(close(con))
  readBin(con, what = what, n = n, size = size, endian = "little")
}
df <- data.frame(
  w = read_col("w.f64", "double", 8),
  y = read_col("y.f64", "double", 8),
  strat = read_col("strat.i32", "integer", 4),
  psu = read_col("psu.i32", "integer", 4),
  z = factor(read_col("z.i32", "integer", 4), levels = 0:4,
             labels = readLines(file.path(dir, "z_levels.txt"))),
  d = read_col("d.i32", "integer", 4)
)

# fmt(), record() and timed(), from the file beside this script
self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
source(file.path(dirname(normalizePath(self)), "bench_helpers.R"))

r <- timed(svydesign(id = ~psu, strata = ~strat, weights = ~w, data = df))
des <- r$value
record("design", r$elapsed)

r <- timed(svymean(~y, des))
record("mean(y)", r$elapsed, coef(r$value), SE(r$value))

r <- timed(svymean(~z, des))
record("proportion(z)", r$elapsed, coef(r$value), SE(r$value))

r <- timed(svyby(~y, ~d, des, svymean, covmat = TRUE))
stopifnot(all(dim(vcov(r$value)) == c(100L, 100L)) || length(unique(df$d)) != 100L)
record("mean(y, by=d)", r$elapsed, coef(r$value), SE(r$value))

r <- timed(svytotal(~y, des))
record("total(y)", r$elapsed, coef(r$value), SE(r$value))

writeLines(lines, out)
