# lavaan's bootstrap, timed for benchmarks/bootstrap.py (issue 14).
#
#     Rscript benchmarks/lavaan_bootstrap.R ITEMS.csv MODEL.lav R NCPUS MISSING
#
# ITEMS.csv: the items (a respondent_id column is dropped), NA for a missing
# answer; MODEL.lav: lavaan syntax; R: resamples; NCPUS: cores of
# parallel = "multicore"; MISSING: "listwise" (ML on complete data), "ml"
# (FIML) or "wlsmv" (every item ordered, estimator = "WLSMV", listwise). Fits sem(model, data, missing = MISSING) once, then times
# bootstrapLavaan(fit, R, type = "ordinary", FUN = "coef",
# parallel = "multicore", ncpus = NCPUS, iseed = 20261127) and prints one
# "key=value" line per figure for the Python side to parse.

suppressPackageStartupMessages(library(lavaan))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 5) {
  stop("usage: Rscript lavaan_bootstrap.R ITEMS.csv MODEL.lav R NCPUS MISSING")
}
items <- read.csv(args[1], na.strings = c("", "NA"))
items$respondent_id <- NULL
model <- paste(readLines(args[2], warn = FALSE), collapse = "\n")
n_boot <- as.integer(args[3])
ncpus <- as.integer(args[4])
missing <- args[5]

t_fit <- system.time(
  fit <- if (missing == "wlsmv") {
    sem(model, data = items, ordered = names(items), estimator = "WLSMV")
  } else {
    sem(model, data = items, missing = missing)
  }
)[["elapsed"]]
if (!lavInspect(fit, "converged")) stop("the full-sample fit did not converge")
timing <- system.time(
  boot <- bootstrapLavaan(fit, R = n_boot, type = "ordinary", FUN = "coef",
                          parallel = "multicore", ncpus = ncpus, iseed = 20261127)
)
failed <- sum(!stats::complete.cases(boot))
cat(sprintf("lavaan_version=%s\n", as.character(packageVersion("lavaan"))))
cat(sprintf("R_version=%s\n", paste(R.version$major, R.version$minor, sep = ".")))
cat(sprintf("missing=%s\n", missing))
cat(sprintf("n=%d\n", lavInspect(fit, "nobs")))
cat(sprintf("npar=%d\n", length(coef(fit))))
cat(sprintf("fit_seconds=%.4f\n", t_fit))
cat(sprintf("R=%d\n", n_boot))
cat(sprintf("ncpus=%d\n", ncpus))
cat(sprintf("failed=%d\n", failed))
cat(sprintf("wall_seconds=%.4f\n", timing[["elapsed"]]))
cat(sprintf("cpu_seconds=%.4f\n", timing[["user.self"]] + timing[["sys.self"]] +
              timing[["user.child"]] + timing[["sys.child"]]))
