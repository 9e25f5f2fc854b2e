# Exports the Hadamard matrices that R's survey package keeps precomputed
# (survey:::hadamard.list, sizes 4, 16, 28 and 36; entries 0/1), which its BRR
# replicate weights start from. nea_covid builds BRR weights from the same matrices
# so that its replicate weights equal R's. GENERATED file: nea_covid/data/hadamard.txt
# (one matrix per line, rows separated by commas). Regenerate: nox -s r_reference.
suppressPackageStartupMessages(library(survey))
lines <- vapply(survey:::hadamard.list,
                function(h) paste(apply(h, 1, paste, collapse = ""), collapse = ","),
                character(1))
writeLines(lines, "nea_covid/data/hadamard.txt")

# Reference: survey:::hadamard(n) for a range of n (tests/reference/fixtures/hadamard.json)
ns <- c(1:45, 50, 60, 64, 70, 100, 127, 128, 150, 200)
fix <- lapply(ns, function(n) {
  h <- survey:::hadamard(n)
  list(n = n, rows = apply(h, 1, paste, collapse = ""))
})
jsonlite::write_json(fix, "tests/reference/fixtures/hadamard.json", auto_unbox = TRUE)
