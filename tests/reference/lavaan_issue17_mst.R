# lavaan / semTools fixtures for issue 17, points 12 (measurement) and 13 (structural).
#
# Fits with lavaan 0.6.14 and semTools 0.5.6 and writes CSV fixtures under
# tests/reference/fixtures/, which tests/test_measurement_extras.py and
# tests/test_structural_extras.py compare with the package (so CI needs no R).
# Run from the repository root, after `PYTHONPATH=src python tests/reference/make_data.py`:
#
#     Rscript tests/reference/lavaan_issue17_mst.R
#
# Data: tests/reference/data/default_items.csv (the default synthetic survey,
# reverse-worded items recoded), model tests/reference/data/structural_model.lav
# (ML, lavaan's sem() defaults). Files:
#
#   issue17_htmt.csv            construct_a, construct_b, htmt, htmt2: semTools::htmt
#                               with htmt2 = FALSE (Henseler et al. 2015) and TRUE
#                               (Roemer et al. 2021), absolute correlations (the default)
#   issue17_vif.csv             item, construct, vif_block, vif_all: 1 / (1 - R^2) of
#                               lm(item ~ other items of its construct) and
#                               lm(item ~ every other item); car is not installed, so
#                               the R^2 come from summary(lm())$r.squared
#   issue17_cross_loadings.csv  item, construct, r: cor(item, rowMeans(items of construct))
#                               for every item and construct (unit-weighted composites)
#   issue17_std.csv             standardizedSolution(fit): lhs, op, rhs, est.std, se,
#                               ci.lower, ci.upper (delta method, type = "std.all")
#   issue17_latent.csv          parameterEstimates(fit) rows "~~" between latents:
#                               lhs, op, rhs, est, se, ci.lower, ci.upper
#   issue17_r2.csv              variable, r2 (lavInspect "rsquare"), se: delta-method SE of
#                               1 - psi_ii / Var(eta)_ii with lavaan's complex-step
#                               Jacobian over the free parameters and vcov(fit)
#   issue17_f2.csv              lhs, rhs, r2_included, r2_excluded, f2: R^2 of lhs on its
#                               predictors in lavInspect(fit, "cov.lv"), without rhs, and
#                               Cohen's f^2 = (R2_incl - R2_excl) / (1 - R2_incl)
#   issue17_mst_meta.csv            versions

suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
fixture_digits <- 17
source(file.path(here, "fixture_helpers.R"))  # data_dir, out_dir, fmt, write_fixture, write_meta

frame <- read.csv(file.path(data_dir, "default_items.csv"), check.names = FALSE)
items <- frame[, setdiff(names(frame), "respondent_id")]
model <- paste(readLines(file.path(data_dir, "structural_model.lav")), collapse = "\n")

pt <- lavaanify(model)
meas <- pt[pt$op == "=~", ]
constructs <- unique(meas$lhs)
blocks <- lapply(constructs, function(f) meas$rhs[meas$lhs == f])
names(blocks) <- constructs
cfa_model <- paste(sprintf("%s =~ %s", constructs,
                           sapply(blocks, paste, collapse = " + ")), collapse = "\n")

# ---- point 12: HTMT and HTMT2 (semTools), item VIF, cross-loadings
h1 <- htmt(cfa_model, data = items, htmt2 = FALSE)
h2 <- htmt(cfa_model, data = items, htmt2 = TRUE)
grid <- expand.grid(b = constructs, a = constructs, stringsAsFactors = FALSE)
write_fixture(data.frame(construct_a = grid$a, construct_b = grid$b,
                         htmt = h1[cbind(grid$a, grid$b)],
                         htmt2 = h2[cbind(grid$a, grid$b)]), "issue17_htmt.csv")

vif_of <- function(item, others) {
  r2 <- summary(lm(reformulate(others, response = item), data = items))$r.squared
  1 / (1 - r2)
}
all_items <- unlist(blocks, use.names = FALSE)
vif <- do.call(rbind, lapply(constructs, function(f) {
  data.frame(item = blocks[[f]], construct = f,
             vif_block = sapply(blocks[[f]], function(i) vif_of(i, setdiff(blocks[[f]], i))),
             vif_all = sapply(blocks[[f]], function(i) vif_of(i, setdiff(all_items, i))))
}))
write_fixture(vif, "issue17_vif.csv")

scores <- sapply(constructs, function(f) rowMeans(items[, blocks[[f]], drop = FALSE]))
cl <- expand.grid(construct = constructs, item = all_items, stringsAsFactors = FALSE)
cl$r <- mapply(function(i, f) cor(items[[i]], scores[, f]), cl$item, cl$construct)
write_fixture(cl[, c("item", "construct", "r")], "issue17_cross_loadings.csv")

# ---- point 13: standardized solution, latent (co)variances, R^2 with delta SE, f^2
fit <- sem(model, data = items)
ss <- standardizedSolution(fit, type = "std.all")
write_fixture(ss[, c("lhs", "op", "rhs", "est.std", "se", "ci.lower", "ci.upper")], "issue17_std.csv")

pe <- parameterEstimates(fit)
lv <- lavNames(fit, "lv")
lat <- pe[pe$op == "~~" & pe$lhs %in% lv & pe$rhs %in% lv, ]
write_fixture(lat[, c("lhs", "op", "rhs", "est", "se", "ci.lower", "ci.upper")], "issue17_latent.csv")

r2_fun <- function(x) {
  m <- lavaan:::lav_model_set_parameters(fit@Model, x)
  veta <- lavaan:::computeVETA(m)[[1]]
  psi <- m@GLIST$psi
  1 - diag(psi) / diag(veta)
}
endo <- names(lavInspect(fit, "rsquare"))
endo <- endo[endo %in% lv]
x <- lavaan:::lav_model_get_parameters(fit@Model)
jac <- lavaan:::lav_func_jacobian_complex(r2_fun, x)
r2_se <- sqrt(diag(jac %*% vcov(fit) %*% t(jac)))
names(r2_se) <- lv
r2 <- lavInspect(fit, "rsquare")
write_fixture(data.frame(variable = endo, r2 = as.numeric(r2[endo]), se = as.numeric(r2_se[endo])),
              "issue17_r2.csv")

cov_lv <- lavInspect(fit, "cov.lv")
r2_on <- function(y, preds) {
  c_xy <- cov_lv[preds, y]
  as.numeric(t(c_xy) %*% solve(cov_lv[preds, preds, drop = FALSE], c_xy) / cov_lv[y, y])
}
reg <- pe[pe$op == "~", ]
f2 <- do.call(rbind, lapply(seq_len(nrow(reg)), function(k) {
  y <- reg$lhs[k]
  preds <- reg$rhs[reg$lhs == y]
  incl <- r2_on(y, preds)
  excl <- r2_on(y, setdiff(preds, reg$rhs[k]))
  data.frame(lhs = y, rhs = reg$rhs[k], r2_included = incl, r2_excluded = excl,
             f2 = (incl - excl) / (1 - incl))
}))
write_fixture(f2, "issue17_f2.csv")

write_meta("issue17_mst_meta.csv", "lavaan_issue17_mst.R", c("lavaan", "semTools"))
cat(sprintf("HTMT IS-ES %.6f HTMT2 %.6f; R2 %s\n", h1["IS", "ES"], h2["IS", "ES"],
            paste(sprintf("%.4f", r2[endo]), collapse = " ")))
