# lavaan fixture for the missing-data summary -- issue 12 point 2.
#
# Punches holes into lavaan's Holzinger-Swineford data (the rule is the
# same in tests/test_missing_summary.py), adds one respondent with no answer
# (lavaan drops such a case with a warning), fits the 3-factor CFA with
# missing = "ml" and writes what xhs_sharing.data.survey.coverage and
# missing_summary must reproduce (so CI needs no R). From the repository root:
#
#     Rscript tests/reference/lavaan_coverage.R
#
# Files: fixtures/hs_holes_coverage.csv (lavInspect(fit, "coverage"), item
# column then one column per item) and fixtures/hs_holes_missing.csv
# (measure, value: cases used, patterns, lavaan version).

suppressPackageStartupMessages(library(lavaan))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out_dir <- file.path(here, "fixtures")

hs <- read.csv(file.path(here, "data", "holzinger_swineford.csv"))
items <- paste0("x", 1:9)
d <- hs[, items]
i <- seq_len(nrow(d)) - 1  # 0-based row number, as in Python
d$x1[i %% 7 == 0] <- NA
d$x4[i %% 5 == 1] <- NA
d$x7[i %% 11 == 2] <- NA
d$x9[i %% 7 == 0 | i %% 13 == 3] <- NA
d[nrow(d) + 1, ] <- NA  # one respondent who answered nothing

model <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
fit <- suppressWarnings(cfa(model, data = d, missing = "ml"))
cov <- lavInspect(fit, "coverage")
out <- data.frame(item = rownames(cov), cov, check.names = FALSE)
write.csv(out, file.path(out_dir, "hs_holes_coverage.csv"), row.names = FALSE)
meta <- data.frame(
  measure = c("ntotal", "n_patterns", "lavaan"),
  value = c(lavInspect(fit, "ntotal"), nrow(lavInspect(fit, "patterns")), as.character(packageVersion("lavaan")))
)
write.csv(meta, file.path(out_dir, "hs_holes_missing.csv"), row.names = FALSE)
