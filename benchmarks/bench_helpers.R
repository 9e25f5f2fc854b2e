# Shared by bench_core.R, bench_replicates.R and bench_tests.R: timing and the tab-separated record
# each task writes (task, seconds, estimates, SEs) for the Python side to read.

fmt <- function(x) paste(formatC(as.numeric(x), digits = 17, format = "g"), collapse = ",")

lines <- character()
record <- function(task, elapsed, est = numeric(), se = numeric()) {
  lines[[length(lines) + 1]] <<- paste(task, format(elapsed, digits = 6), fmt(est), fmt(se),
                                       sep = "\t")
}

timed <- function(expr) {
  gc()
  t <- system.time(value <- expr)[["elapsed"]]
  list(value = value, elapsed = t)
}
