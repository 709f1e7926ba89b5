# lavaan / semTools fixtures for issue 12, points 11, 14 and 15.
#
# Fits with lavaan 0.6.14 and semTools 0.5.6 and writes CSV fixtures under
# tests/reference/fixtures/, which tests compare with the package
# (tests/test_chains.py the chain, tests/test_issue12_reference.py the
# reliability and SRMR fixtures), so CI needs no R. Run from the repository
# root, after
# `PYTHONPATH=src python tests/reference/make_issue12_data.py`:
#
#     Rscript tests/reference/lavaan_issue12.R
#
# issue12_chain.csv (point 11): the serial two-mediator chain model of
#   data/chain_items.csv (X -> M1 -> M2 -> Y, a parallel mediator M3, every
#   direct path), sem() defaults (ML, expected information). Defined
#   parameters (`:=`): every specific indirect effect of X on Y (the serial
#   chain a1*d*b2 among them), M1 -> M2 -> Y, and the total indirect effect
#   of X on Y. Columns: name, est, se (delta method), std_est, std_se
#   (standardizedSolution, type = "std.all").
# issue12_reliability.csv (point 14): semTools compRelSEM() and AVE() with
#   their defaults (obs.var = TRUE: the sample covariance matrix, the EM
#   estimate under missing = "ml") on the correlated-factors CFA of
#   data/default_items.csv ("default"), data/weak_items.csv ("weak") and
#   data/skewed_items.csv with missing = "ml" ("skewed_fiml"; "skewed_fiml_small":
#   the CFA of IS, ES and PR only, quick enough for the fast tests).
#   Columns: case, construct, omega, ave.
# issue12_srmr.csv (point 15): fitMeasures() srmr, srmr_bentler and
#   srmr_bentler_nomean of the CFA ("cfa") and of the structural model
#   (data/structural_model.lav, "sem") fitted to data/skewed_items.csv with
#   missing = "ml" (FIML), of the CFA of IS, ES and PR only ("cfa_small"),
#   and of the complete-data CFA of data/default_items.csv ("cfa_complete",
#   where the three coincide).
#   Columns: case, measure, value.
# issue12_meta.csv: the lavaan, semTools and R versions.

suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "fixture_helpers.R"))  # data_dir, out_dir, fmt, write_fixture, write_meta

read_items <- function(name) {
  d <- read.csv(file.path(data_dir, name), check.names = FALSE)
  d[, setdiff(names(d), "respondent_id"), drop = FALSE]
}

# lavaan's default convergence (nlminb, rel.tol = 1e-10): tighter settings make
# nlminb report non-convergence here; the estimates move by < 1e-7 between them.

# ---- point 11: serial two-mediator chain -----------------------------------
chain_model <- "
X =~ x1 + x2 + x3
M1 =~ p1 + p2 + p3
M2 =~ q1 + q2 + q3
M3 =~ r1 + r2 + r3
Y =~ y1 + y2 + y3
M1 ~ a1*X
M2 ~ d*M1 + a2*X
M3 ~ a3*X
Y ~ b2*M2 + b1*M1 + b3*M3 + c*X
serial := a1*d*b2
via_m1 := a1*b1
via_m2 := a2*b2
via_m3 := a3*b3
m1_m2_y := d*b2
total_indirect := a1*d*b2 + a1*b1 + a2*b2 + a3*b3
"
chain_fit <- sem(chain_model, data = read_items("chain_items.csv"))
stopifnot(lavInspect(chain_fit, "converged"))
pe <- parameterEstimates(chain_fit)
ss <- standardizedSolution(chain_fit, type = "std.all")
def <- pe[pe$op == ":=", ]
sdef <- ss[ss$op == ":=", ]
write_fixture(data.frame(name = def$lhs, est = def$est, se = def$se,
                         std_est = sdef$est.std[match(def$lhs, sdef$lhs)],
                         std_se = sdef$se[match(def$lhs, sdef$lhs)]),
              "issue12_chain.csv")

# ---- point 14: semTools composite reliability and AVE ----------------------
cfa_syntax <- function(items, constructs) {
  paste(sapply(constructs, function(cn) {
    its <- items[toupper(sub("[0-9]+$", "", items)) == cn]
    paste0(cn, " =~ ", paste(its, collapse = " + "))
  }), collapse = "\n")
}
DEFAULT_CONSTRUCTS <- c("IS", "ES", "PR", "PA", "PC", "SN", "CN", "WSI")
default_items <- read_items("default_items.csv")
skewed_items <- read_items("skewed_items.csv")
weak <- read_items("weak_items.csv")

reliability_rows <- function(fit, case) {
  omega <- compRelSEM(fit)
  ave <- AVE(fit)
  data.frame(case = case, construct = names(omega), omega = as.numeric(omega),
             ave = as.numeric(ave[names(omega)]))
}
default_cfa <- cfa(cfa_syntax(names(default_items), DEFAULT_CONSTRUCTS), data = default_items)
weak_cfa <- cfa(cfa_syntax(names(weak), c("A", "B", "C")), data = weak)
skewed_cfa <- cfa(cfa_syntax(names(skewed_items), DEFAULT_CONSTRUCTS), data = skewed_items,
                  missing = "ml")
small_items <- skewed_items[, grep("^(is|es|pr)[0-9]", names(skewed_items))]
small_cfa <- cfa(cfa_syntax(names(small_items), c("IS", "ES", "PR")), data = small_items,
                 missing = "ml")
write_fixture(rbind(reliability_rows(default_cfa, "default"),
                    reliability_rows(weak_cfa, "weak"),
                    reliability_rows(skewed_cfa, "skewed_fiml"),
                    reliability_rows(small_cfa, "skewed_fiml_small")),
              "issue12_reliability.csv")

# ---- point 15: SRMR variants under FIML ------------------------------------
SRMR <- c("srmr", "srmr_bentler", "srmr_bentler_nomean")
srmr_rows <- function(fit, case) {
  fm <- fitMeasures(fit, SRMR)
  data.frame(case = case, measure = SRMR, value = as.numeric(fm[SRMR]))
}
skewed_sem <- sem(paste(readLines(file.path(data_dir, "structural_model.lav")), collapse = "\n"),
                  data = skewed_items,
                  missing = "ml")
write_fixture(rbind(srmr_rows(skewed_cfa, "cfa"), srmr_rows(skewed_sem, "sem"),
                    srmr_rows(small_cfa, "cfa_small"), srmr_rows(default_cfa, "cfa_complete")),
              "issue12_srmr.csv")

write_meta("issue12_meta.csv", "lavaan_issue12.R", c("lavaan", "semTools"))
