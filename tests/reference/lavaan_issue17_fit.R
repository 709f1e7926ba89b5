# lavaan / semTools fixtures for the fit extras of issue 17 (points 10 and 11).
#
# Fits with lavaan 0.6.14 and semTools 0.5.6 and writes CSV fixtures under
# tests/reference/fixtures/, which tests/test_fit_extras.py compares with
# xhs_sharing.sem.fit_extras, .modindices and .mardia (so CI needs no R).
# Run from the repository root:
#
#     Rscript tests/reference/lavaan_issue17_fit.R
#
# Cases:
#   issue17_cfa_ml     the correlated-factors CFA (data/cfa_model.lav, the
#                      measurement step's syntax) on data/default_items.csv, ML
#   issue17_sem_ml     the default structural model (data/structural_model.lav)
#                      on the same data, sem(), ML
#   issue17_sem_mlr    the same, estimator = "MLR"
#   issue17_sem_fiml   the same on data/skewed_items.csv, missing = "ml"
#                      (fit measures only: the intercepts count in npar)
#   issue17_hs_ml      lavaan's Holzinger-Swineford 3-factor CFA, ML
#
# Files per case: <case>_fitx.csv (measure, value: fitMeasures logl,
# unrestricted.logl, npar, ntotal, aic, bic, bic2, rmsea.pvalue, chisq, df),
# <case>_rescor.csv (lhs, rhs, value: residuals(fit, type = "cor")$cov, the
# lower triangle) and, except FIML, <case>_mi.csv (modindices(fit, sort =
# TRUE): lhs, op, rhs, mi, epc, sepc.all); <case>_est.csv the estimates
# (parameterEstimates: lhs, op, rhs, est), so the MIs can be checked at
# lavaan's own solution. issue17_mardia.csv: semTools'
# mardiaSkew / mardiaKurtosis of the 25 default items and of the nine HS items.
# issue17_fit_meta.csv records the versions.

suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "fixture_helpers.R"))  # data_dir, out_dir, fmt, write_fixture, write_meta

MEASURES <- c("npar", "ntotal", "chisq", "df", "logl", "unrestricted.logl", "aic", "bic",
              "bic2", "rmsea", "rmsea.pvalue")

write_case <- function(fit, case, mi = TRUE) {
  fm <- fitMeasures(fit)
  keep <- intersect(MEASURES, names(fm))
  write_fixture(data.frame(measure = keep, value = as.numeric(fm[keep])),
                paste0(case, "_fitx.csv"))
  r <- residuals(fit, type = "cor")$cov
  low <- which(lower.tri(r), arr.ind = TRUE)
  write_fixture(data.frame(lhs = rownames(r)[low[, 1]], rhs = colnames(r)[low[, 2]],
                           value = r[low]), paste0(case, "_rescor.csv"))
  pe <- parameterEstimates(fit, se = FALSE, zstat = FALSE, pvalue = FALSE, ci = FALSE)
  write_fixture(pe[, c("lhs", "op", "rhs", "est")], paste0(case, "_est.csv"))
  if (mi) {
    m <- modindices(fit, sort. = TRUE)
    write_fixture(m[, c("lhs", "op", "rhs", "mi", "epc", "sepc.all")], paste0(case, "_mi.csv"))
  }
  cat(sprintf("%-18s logl=%.4f aic=%.4f bic=%.4f rmsea.pvalue=%.5f\n", case, fm[["logl"]],
              fm[["aic"]], fm[["bic"]], fm[["rmsea.pvalue"]]))
}

read_items <- function(name) {
  frame <- read.csv(file.path(data_dir, name), check.names = FALSE)
  frame[, setdiff(names(frame), "respondent_id")]
}

cfa_model <- paste(readLines(file.path(data_dir, "cfa_model.lav")), collapse = "\n")
sem_model <- paste(readLines(file.path(data_dir, "structural_model.lav")), collapse = "\n")
default_items <- read_items("default_items.csv")
skewed_items <- read_items("skewed_items.csv")

write_case(cfa(cfa_model, data = default_items), "issue17_cfa_ml")
write_case(sem(sem_model, data = default_items), "issue17_sem_ml")
write_case(sem(sem_model, data = default_items, estimator = "MLR"), "issue17_sem_mlr")
write_case(sem(sem_model, data = skewed_items, missing = "ml"), "issue17_sem_fiml", mi = FALSE)

hs_model <- "
visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
"
hs <- read.csv(file.path(data_dir, "holzinger_swineford.csv"))
write_case(cfa(hs_model, data = hs), "issue17_hs_ml")

mardia_rows <- function(dat, case) {
  s <- mardiaSkew(dat)
  k <- mardiaKurtosis(dat)
  data.frame(case = case, measure = c(paste0("skew.", names(s)), paste0("kurt.", names(k))),
             value = c(as.numeric(s), as.numeric(k)))
}
write_fixture(rbind(mardia_rows(default_items, "default"), mardia_rows(hs, "hs")),
              "issue17_mardia.csv")

write_meta("issue17_fit_meta.csv", "lavaan_issue17_fit.R", c("lavaan", "semTools"))
