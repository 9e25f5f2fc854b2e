# R side of benchmarks/bench_replicates.py: times R's survey package on replicate
# weights, bootstrap conversion and raking.
#
# Usage: Rscript benchmarks/bench_replicates.R DATA_DIR OUT_FILE
#
# DATA_DIR holds the columns written by bench_replicates.py as raw little-endian binary
# (exact doubles, no CSV rounding): w.f64, y.f64, fpc.f64, reps.f64 (the n x R
# replicate weights, column-major), strat.i32, psu.i32, d.i32, a.i32, b.i32, c.i32
# (raking margins, codes 0..K-1), a_tot.f64, b_tot.f64, c_tot.f64 (population count
# per code), and n.txt (rows), r.txt (replicates), rake_iter.txt (the raking sweeps
# nea_covid needed: R runs exactly as many, so that the weights are comparable).
# Loading is not timed. Each task runs once.
#
# OUT_FILE gets one tab-separated line per task: name, elapsed seconds, estimates and
# standard errors (comma-separated, 17 significant digits); for the bootstrap tasks,
# mean(y) and its SE on the new design (computed after the timing). The raked weights
# go to DATA_DIR/rake_w.f64.

suppressPackageStartupMessages(library(survey))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript bench_replicates.R DATA_DIR OUT_FILE")
dir <- args[[1]]
out <- args[[2]]

n <- as.integer(readLines(file.path(dir, "n.txt")))
n_rep <- as.integer(readLines(file.path(dir, "r.txt")))
rake_iter <- as.integer(readLines(file.path(dir, "rake_iter.txt")))
read_bin <- function(name, what, size, count = n) {
  con <- file(file.path(dir, name), "rb")
  on.exit(close(con))
  readBin(con, what = what, n = count, size = size, endian = "little")
}
read_codes <- function(name, k) factor(read_bin(name, "integer", 4), levels = 0:(k - 1))
margin <- function(name) {
  tot <- read_bin(paste0(name, "_tot.f64"), "double", 8, count = 1000L)
  out <- data.frame(factor(0:(length(tot) - 1), levels = 0:(length(tot) - 1)), tot)
  names(out) <- c(name, "Freq")
  out
}
margins <- list(margin("a"), margin("b"), margin("c"))
df <- data.frame(
  w = read_bin("w.f64", "double", 8),
  y = read_bin("y.f64", "double", 8),
  fpc = read_bin("fpc.f64", "double", 8),
  strat = read_bin("strat.i32", "integer", 4),
  psu = read_bin("psu.i32", "integer", 4),
  d = read_bin("d.i32", "integer", 4),
  a = read_codes("a.i32", nrow(margins[[1]])),
  b = read_codes("b.i32", nrow(margins[[2]])),
  c = read_codes("c.i32", nrow(margins[[3]]))
)
reps <- matrix(read_bin("reps.f64", "double", 8, count = n * n_rep), nrow = n, ncol = n_rep)

# fmt(), record() and timed(), from the file beside this script
self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
source(file.path(dirname(normalizePath(self)), "bench_helpers.R"))

# 1. replicate weights supplied as final weights (bootstrap: scale 1/(R - 1))
r <- timed(svrepdesign(data = df, repweights = reps, weights = ~w, type = "bootstrap",
                       combined.weights = TRUE))
rdes <- r$value
record("replicate design", r$elapsed)
rm(reps)

r <- timed(svymean(~y, rdes))
record("mean(y)", r$elapsed, coef(r$value), SE(r$value))

r <- timed(svyby(~y, ~d, rdes, svymean, covmat = TRUE))
stopifnot(all(dim(vcov(r$value)) == c(100L, 100L)) || length(unique(df$d)) != 100L)
record("mean(y, by=d)", r$elapsed, coef(r$value), SE(r$value))
rm(rdes)
invisible(gc())

# 2. bootstrap replicates from a Taylor design (R's bootweights), without and with fpc
des <- svydesign(id = ~psu, strata = ~strat, weights = ~w, data = df)
des_fpc <- svydesign(id = ~psu, strata = ~strat, weights = ~w, fpc = ~fpc, data = df)
set.seed(1)
for (task in c("bootstrap", "bootstrap, fpc")) {
  base <- if (task == "bootstrap") des else des_fpc
  r <- timed(as.svrepdesign(base, type = "bootstrap", replicates = n_rep))
  m <- svymean(~y, r$value)
  record(task, r$elapsed, coef(m), SE(m))
}
rm(des_fpc)
invisible(gc())

# 3. raking on three margins, exactly as many sweeps as nea_covid (epsilon 0 never
#    stops early; the "did not converge" warning that this causes is expected)
r <- timed(suppressWarnings(rake(des, list(~a, ~b, ~c), margins,
                                 control = list(maxit = rake_iter, epsilon = 0))))
record("rake", r$elapsed)
writeBin(as.numeric(weights(r$value)), file.path(dir, "rake_w.f64"), size = 8,
         endian = "little")

writeLines(lines, out)
