# careless fixture for the careless-responding screen -- issue 19 point 5.
#
# Takes the default synthetic items (data/default_items.csv), makes some
# respondents careless and punches holes by a rule (the same rule is in
# tests/test_careless.py: careless_input), and writes what
# xhs_sharing.data.careless.longstring and irv must reproduce, from R's
# careless package (Yentes & Wilhelm; longstring(), irv()), so CI needs no R.
# careless is on CRAN, not in Debian: install it (and r-cran-psych, which it
# imports) first. From the repository root:
#
#     Rscript tests/reference/careless_indices.R
#
# File: fixtures/careless_default.csv (respondent_id, longstring, irv,
# careless_version). Rows, 0-based i:
#   i %% 50 == 0          every item 4 (the midpoint straight-liner of the issue)
#   i %% 50 == 1          every item 7, the 5th item (es2) missing
#   i == 7                only the first item (is1) answered
#   i %% 10 == 3          item j (1-based) missing where (7 * i + j) %% 23 == 0
#   i %% 25 == 2          items 1-12 set to 2 (a long run in the first half)

suppressPackageStartupMessages(library(careless))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

d <- read.csv(file.path(here, "data", "default_items.csv"), colClasses = c(respondent_id = "character"))
ids <- d$respondent_id
x <- as.matrix(d[, -1])
storage.mode(x) <- "double"
p <- ncol(x)
for (r in seq_len(nrow(x))) {
  i <- r - 1
  if (i %% 50 == 0) x[r, ] <- 4
  if (i %% 50 == 1) { x[r, ] <- 7; x[r, 5] <- NA }
  if (i %% 25 == 2) x[r, 1:12] <- 2
  if (i %% 10 == 3) for (j in seq_len(p)) if ((7 * i + j) %% 23 == 0) x[r, j] <- NA
  if (i == 7) x[r, 2:p] <- NA
}
ls <- longstring(x)
out <- data.frame(respondent_id = ids, longstring = ls, irv = irv(x),
                  careless_version = as.character(packageVersion("careless")))
write.csv(out, file.path(here, "fixtures", "careless_default.csv"), row.names = FALSE)
