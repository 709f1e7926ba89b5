# lavaan fixtures for issue 17, points 14 and 15: contrasts between specific
# indirect effects, and the common-method-bias checks.
#
# Fits with lavaan 0.6-14 (Debian: apt-get install r-base-core r-cran-lavaan;
# no other package) and writes CSV fixtures under tests/reference/fixtures/,
# which tests/test_mediation_contrasts.py and tests/test_method_bias.py compare
# with xhs_sharing (so CI needs no R). Run from the repository root:
#
#     Rscript tests/reference/lavaan_issue17_cmb.R
#
# Data: tests/reference/data/default_items.csv (the default survey as the
# default run analyses it), model tests/reference/data/structural_model.lav.
#
# Files:
#   issue17_contrasts.csv   the eight specific indirect effects and, for each X
#                           with two of them to WSI, the contrast via SN minus
#                           via CN, as `:=` defined parameters (se = "standard",
#                           the delta method): est, se, and std.all with its
#                           delta-method se from standardizedSolution()
#   issue17_cmb_estimates.csv  parameterEstimates() (est, se) and std.all of
#                           the structural model plus an unmeasured latent
#                           method factor CMV loading on all 25 items,
#                           orthogonal to the eight constructs (CMV ~~ 0*F);
#                           identified by its first loading fixed at 1 and its
#                           variance free (lavaan's default marker; the same
#                           model as variance 1 with every loading free).
#                           The likelihood is nearly flat along the method
#                           loadings: nlminb stops with estimates about 1e-5
#                           from a tighter optimum (at rel.tol = 1e-14 it moves
#                           CN ~ IS from -0.315657 to -0.315677 and reports no
#                           convergence), so tests compare them to 5e-5 and the
#                           chi-square to 1e-7
#   issue17_cmb_fit.csv     measure, value: chi-square, df, npar of the method
#                           model, of the structural model without it, of the
#                           eight-factor CFA and of the one-factor CFA (all 25
#                           items on one factor), and CFI/TLI/RMSEA/SRMR of the
#                           one-factor CFA
#   issue17_harman.csv      measure, value: Harman's test as usually reported,
#                           the share of the total variance of the first
#                           unrotated principal component of the item
#                           correlations (prcomp(scale. = TRUE), as SPSS's
#                           "Extraction: principal components", 1 factor), and
#                           the share of an unrotated one-factor ML factor
#                           analysis (factanal): sum of squared loadings / 25
#   issue17_cmb_meta.csv        lavaan and R versions

suppressPackageStartupMessages(library(lavaan))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "fixture_helpers.R"))  # data_dir, out_dir, fmt, write_fixture, write_meta

items <- read.csv(file.path(data_dir, "default_items.csv"), check.names = FALSE)
items <- items[, setdiff(names(items), "respondent_id")]
observed <- names(items)
model <- paste(readLines(file.path(data_dir, "structural_model.lav")), collapse = "\n")

# ---- point 14: contrasts between specific indirect effects (delta method)
labelled <- sub("SN ~ IS + ES + PR + PA", "SN ~ a_IS_SN*IS + a_ES_SN*ES + a_PR_SN*PR + a_PA_SN*PA",
                model, fixed = TRUE)
labelled <- sub("CN ~ PR + PA + IS + ES", "CN ~ a_PR_CN*PR + a_PA_CN*PA + a_IS_CN*IS + a_ES_CN*ES",
                labelled, fixed = TRUE)
labelled <- sub("WSI ~ SN + CN", "WSI ~ b_SN*SN + b_CN*CN", labelled, fixed = TRUE)
xs <- c("IS", "ES", "PR", "PA")
defs <- c(
  sprintf("ind_%s_SN := a_%s_SN*b_SN", xs, xs),
  sprintf("ind_%s_CN := a_%s_CN*b_CN", xs, xs),
  sprintf("con_%s := a_%s_SN*b_SN - a_%s_CN*b_CN", xs, xs, xs)
)
fit_med <- sem(paste(labelled, paste(defs, collapse = "\n"), sep = "\n"), data = items, se = "standard")
pe <- parameterEstimates(fit_med)
ss <- standardizedSolution(fit_med)
def <- pe[pe$op == ":=", c("lhs", "est", "se")]
sdef <- ss[ss$op == ":=", c("lhs", "est.std", "se")]
names(sdef) <- c("lhs", "std_est", "std_se")
contr <- merge(def, sdef, by = "lhs", sort = FALSE)
write_fixture(contr, "issue17_contrasts.csv")

# ---- point 15: unmeasured latent method construct (Podsakoff et al. 2003)
latents <- c("IS", "ES", "PR", "PA", "PC", "SN", "CN", "WSI")
method_lines <- c(paste("CMV =~", paste(observed, collapse = " + ")),
                  sprintf("CMV ~~ 0*%s", latents))
fit_cmv <- sem(paste(model, paste(method_lines, collapse = "\n"), sep = "\n"), data = items)
pe <- parameterEstimates(fit_cmv)
std <- standardizedSolution(fit_cmv)
pe$std_all <- std$est.std[match(paste(pe$lhs, pe$op, pe$rhs), paste(std$lhs, std$op, std$rhs))]
write_fixture(pe[, c("lhs", "op", "rhs", "est", "se", "std_all")], "issue17_cmb_estimates.csv")

fit_base <- sem(model, data = items)
cfa_lines <- sub("^#.*", "", strsplit(model, "\n")[[1]])
cfa_model <- paste(grep("=~", cfa_lines, value = TRUE), collapse = "\n")
fit_cfa <- cfa(cfa_model, data = items)
fit_one <- cfa(paste("G =~", paste(observed, collapse = " + ")), data = items)
meas <- function(fit, prefix, keys) {
  fm <- fitMeasures(fit, keys)
  data.frame(measure = paste0(prefix, names(fm)), value = as.numeric(fm))
}
core <- c("chisq", "df", "npar")
fit_frame <- rbind(
  meas(fit_cmv, "method.", c(core, "cfi", "rmsea")),
  meas(fit_base, "structural.", core),
  meas(fit_cfa, "cfa.", core),
  meas(fit_one, "one_factor.", c(core, "pvalue", "cfi", "tli", "rmsea", "srmr"))
)
diff <- anova(fit_one, fit_cfa)
fit_frame <- rbind(fit_frame, data.frame(
  measure = c("diff.chisq", "diff.df", "diff.pvalue"),
  value = c(diff[["Chisq diff"]][2], diff[["Df diff"]][2], diff[["Pr(>Chisq)"]][2])))
write_fixture(fit_frame, "issue17_cmb_fit.csv")

# ---- point 15: Harman's single-factor test
pca <- prcomp(items, center = TRUE, scale. = TRUE)
eig <- pca$sdev^2
fa1 <- factanal(items, factors = 1, rotation = "none")
write_fixture(data.frame(
  measure = c("pca_first_share", "pca_first_eigenvalue", "pca_n_eigen_above_1", "fa_ml_first_share"),
  value = c(eig[1] / sum(eig), eig[1], sum(eig > 1), sum(fa1$loadings^2) / ncol(items))
), "issue17_harman.csv")

write_meta("issue17_cmb_meta.csv", "lavaan_issue17_cmb.R")
