# Reference values for the WLSMV analysis layer (xhs_sharing.analysis.ordinal).
#
# Complements lavaan_wlsmv.R (thresholds, polychorics, Gamma, estimates, tests)
# with what the workflow's tables need, for the same two data sets
# (data/default_items.csv; data/skewed_items.csv, complete rows selected first):
#   wlsmv_<set>_std.csv          standardizedSolution() of the structural model: std.all with its
#                                delta-method SE (type = "std.all"), every row
#   wlsmv_<set>_fit_ci.csv       rmsea.ci.lower/upper, standard and .scaled, of the structural model
#   wlsmv_cfa_<set>_estimates.csv  the correlated-factors CFA (data/cfa_model.lav) by WLSMV:
#                                est, se, std.all of every row
#   wlsmv_cfa_<set>_fit.csv      its fitMeasures() (standard and scaled) with the RMSEA intervals
#   wlsmv_cfa_<set>_htmt.csv     semTools::htmt(ordered = items): HTMT on polychoric correlations
#   wlsmv_cfa_<set>_compRel.csv  semTools::compRelSEM(ord.scale = FALSE) and AVE(): reliability of
#                                the latent responses
#
# Run from the repository root (about half a minute):
#   Rscript tests/reference/lavaan_wlsmv_analysis.R
# Needs R >= 4.2 with lavaan 0.6-14 and semTools (Debian: r-cran-lavaan r-cran-semtools).

suppressPackageStartupMessages({library(lavaan); library(semTools)})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")
out_dir <- file.path(here, "fixtures")

read_model <- function(f) paste(readLines(file.path(data_dir, f)), collapse = "\n")
structural <- read_model("structural_model.lav")
cfa_model <- read_model("cfa_model.lav")
num <- function(x) trimws(formatC(x, digits = 15, format = "g"))
write_csv <- function(df, name) write.csv(df, file.path(out_dir, name), row.names = FALSE, quote = TRUE)

read_items <- function(file) {
  d <- read.csv(file.path(data_dir, file), stringsAsFactors = FALSE)
  items <- setdiff(names(d), "respondent_id")
  list(data = d[stats::complete.cases(d[, items]), items], items = items)
}

CI <- c("rmsea.ci.lower", "rmsea.ci.upper", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled")
FIT <- c("ntotal", "npar", "df", "chisq", "pvalue", "chisq.scaled", "pvalue.scaled",
         "chisq.scaling.factor", "baseline.chisq", "baseline.df", "baseline.chisq.scaled",
         "cfi", "tli", "cfi.scaled", "tli.scaled", "rmsea", "rmsea.scaled", "srmr", CI)

measures <- function(fit, which) {
  fm <- fitMeasures(fit, which)
  data.frame(measure = names(fm), value = num(unname(fm)))
}

std_table <- function(fit) {
  s <- standardizedSolution(fit, type = "std.all", ci = FALSE)
  data.frame(lhs = s$lhs, op = s$op, rhs = s$rhs, est_std = num(s$est.std), se = num(s$se))
}

cfa_table <- function(fit) {
  pe <- parameterEstimates(fit, ci = FALSE, standardized = TRUE)
  data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = num(pe$est), se = num(pe$se),
             std_all = num(pe$std.all))
}

run_set <- function(tag, file) {
  d <- read_items(file)
  fit <- sem(structural, data = d$data, ordered = d$items, estimator = "WLSMV")
  write_csv(std_table(fit), sprintf("wlsmv_%s_std.csv", tag))
  write_csv(measures(fit, CI), sprintf("wlsmv_%s_fit_ci.csv", tag))
  cfit <- cfa(cfa_model, data = d$data, ordered = d$items, estimator = "WLSMV")
  stopifnot(lavInspect(cfit, "converged"))
  write_csv(cfa_table(cfit), sprintf("wlsmv_cfa_%s_estimates.csv", tag))
  write_csv(measures(cfit, FIT), sprintf("wlsmv_cfa_%s_fit.csv", tag))
  h <- htmt(cfa_model, data = d$data, ordered = d$items, absolute = TRUE, htmt2 = FALSE)
  hd <- data.frame(construct = rownames(h))
  for (j in colnames(h)) hd[[j]] <- num(h[, j])
  write_csv(hd, sprintf("wlsmv_cfa_%s_htmt.csv", tag))
  cr <- compRelSEM(cfit, ord.scale = FALSE)
  ave <- AVE(cfit)
  write_csv(data.frame(construct = names(cr), cr = num(unname(unlist(cr))),
                       ave = num(unname(unlist(ave[names(cr)])))),
            sprintf("wlsmv_cfa_%s_compRel.csv", tag))
}

run_set("default", "default_items.csv")
run_set("skewed", "skewed_items.csv")
cat("fixtures written to", out_dir, "\n")
