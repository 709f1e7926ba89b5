# lavaan fixtures for robust ML (MLR) -- issue 13.
#
# Fits with lavaan (Debian: apt-get install r-base-core r-cran-lavaan) and
# writes CSV fixtures under tests/reference/fixtures/, which tests/test_mlr.py
# compares with xhs_sharing.sem.robust (so CI needs no R). Run from the
# repository root, after `PYTHONPATH=src python tests/reference/make_data.py`:
#
#     Rscript tests/reference/lavaan_mlr.R
#
# Cases (estimator = "MLR": ML estimates, Huber-White sandwich standard
# errors with the observed information, Yuan-Bentler Mplus-variant scaled
# chi-square, robust CFI/TLI/RMSEA):
#   default_mlr          the default structural model on the default survey
#   skewed_mlr_fiml      the same model on the skewed survey, missing = "ml"
#   skewed_mlr_listwise  the same, listwise deletion (lavaan's default)
#   skewed_misfit_fiml   a one-factor model of the six IS and ES items on the
#                        skewed survey, missing = "ml" (misfits on purpose)
#   hs_mlr               lavaan's Holzinger-Swineford (1939) 3-factor CFA
#
# Files per case: <case>_estimates.csv (parameterEstimates: lhs, op, rhs,
# free, est, se) and <case>_fit.csv (measure, value: fitMeasures plus the
# Yuan-Bentler trace pieces from lavInspect(fit, "test")). meta.csv records
# the lavaan and R versions; holzinger_swineford.csv the HS data as fitted.

suppressPackageStartupMessages(library(lavaan))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "fixture_helpers.R"))  # data_dir, out_dir, fmt, write_fixture, write_meta

MEASURES <- c(
  "npar", "ntotal", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled",
  "pvalue.scaled", "chisq.scaling.factor",
  "baseline.chisq", "baseline.df", "baseline.chisq.scaled",
  "baseline.chisq.scaling.factor",
  "cfi", "tli", "cfi.scaled", "tli.scaled", "cfi.robust", "tli.robust",
  "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
  "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled",
  "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust",
  "srmr", "logl", "unrestricted.logl"
)

write_case <- function(fit, case) {
  pe <- parameterEstimates(fit, ci = FALSE, zstat = FALSE, pvalue = FALSE)
  pt <- parTable(fit)
  pe$free <- pt$free[match(paste(pe$lhs, pe$op, pe$rhs),
                           paste(pt$lhs, pt$op, pt$rhs))]
  write_fixture(pe[, c("lhs", "op", "rhs", "free", "est", "se")],
                paste0(case, "_estimates.csv"))
  fm <- fitMeasures(fit)
  keep <- intersect(MEASURES, names(fm))
  test <- lavInspect(fit, "test")$yuan.bentler.mplus
  fit_frame <- data.frame(
    measure = c(keep, "trace.UGamma", "scaling.factor.h1", "scaling.factor.h0"),
    value = c(as.numeric(fm[keep]), test$trace.UGamma,
              test$scaling.factor.h1, test$scaling.factor.h0)
  )
  write_fixture(fit_frame, paste0(case, "_fit.csv"))
  cat(sprintf("%-20s N=%d chisq=%.4f scaled=%.4f c=%.5f cfi.robust=%.4f rmsea.robust=%.4f\n",
              case, lavInspect(fit, "ntotal"), fm[["chisq"]], fm[["chisq.scaled"]],
              fm[["chisq.scaling.factor"]], fm[["cfi.robust"]], fm[["rmsea.robust"]]))
}

read_items <- function(name) {
  frame <- read.csv(file.path(data_dir, name), check.names = FALSE)
  frame[, setdiff(names(frame), "respondent_id")]
}

model <- paste(readLines(file.path(data_dir, "structural_model.lav")),
               collapse = "\n")

default_items <- read_items("default_items.csv")
write_case(sem(model, data = default_items, estimator = "MLR"), "default_mlr")

skewed_items <- read_items("skewed_items.csv")
write_case(sem(model, data = skewed_items, estimator = "MLR", missing = "ml"),
           "skewed_mlr_fiml")
write_case(sem(model, data = skewed_items, estimator = "MLR"),
           "skewed_mlr_listwise")
# A misspecified model on the skewed survey (IS and ES items on one factor),
# so that the FIML-corrected robust CFI and RMSEA are not clamped at 1 and 0.
misfit_model <- "F =~ is1 + is2 + is3 + es1 + es2 + es3"
write_case(cfa(misfit_model, data = skewed_items, estimator = "MLR",
               missing = "ml"), "skewed_misfit_fiml")

hs_model <- "
visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
"
hs <- HolzingerSwineford1939[, paste0("x", 1:9)]
write.csv(data.frame(lapply(hs, fmt)), file.path(data_dir, "holzinger_swineford.csv"),
          row.names = FALSE, quote = FALSE)
write_case(cfa(hs_model, data = hs, estimator = "MLR"), "hs_mlr")

write_meta("meta.csv", "lavaan_mlr.R")
