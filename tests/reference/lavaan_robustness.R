# lavaan fixtures for the robustness stage (issue 16): full against partial
# mediation as a nested-model test.
#
# Fits the default structural model (data/structural_model.lav) and its
# full-mediation variant (the direct paths IS, ES, PR, PA -> WSI fixed at 0,
# i.e. left out) on the default survey (data/default_items.csv) with ML, MLR
# and WLSMV (items declared ordered), and writes lavTestLRT's difference test
# for each to fixtures/robustness_lrt.csv (so CI needs no R):
#   ML     method "standard" (likelihood ratio);
#   MLR    method "satorra.bentler.2001" (lavaan's default for MLR);
#   WLSMV  method "satorra.2000", scaled.shifted (lavaan's default for WLSMV).
# Run from the repository root:  Rscript tests/reference/lavaan_robustness.R

suppressPackageStartupMessages(library(lavaan))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "fixture_helpers.R"))  # data_dir, out_dir, fmt, write_fixture, write_meta

items <- read.csv(file.path(data_dir, "default_items.csv"), check.names = FALSE)
items <- items[, setdiff(names(items), "respondent_id")]
partial <- paste(readLines(file.path(data_dir, "structural_model.lav")), collapse = "\n")
full <- sub("WSI ~ SN + CN + PC + IS + ES + PR + PA", "WSI ~ SN + CN + PC", partial, fixed = TRUE)
stopifnot(full != partial)

rows <- list()
for (est in c("ML", "MLR", "WLSMV")) {
  ordered <- if (est == "WLSMV") names(items) else NULL
  f1 <- sem(partial, data = items, estimator = est, ordered = ordered)
  f0 <- sem(full, data = items, estimator = est, ordered = ordered)
  lrt <- lavTestLRT(f1, f0)
  stat_col <- "Chisq diff"
  method <- c(ML = "standard", MLR = "satorra.bentler.2001", WLSMV = "satorra.2000")[[est]]
  stopifnot(est == "ML" || grepl(method, attr(lrt, "heading"), fixed = TRUE))
  rows[[est]] <- data.frame(
    estimator = est,
    method = method,
    chi2_full = fitMeasures(f0, "chisq")[[1]], df_full = fitMeasures(f0, "df")[[1]],
    chi2_partial = fitMeasures(f1, "chisq")[[1]], df_partial = fitMeasures(f1, "df")[[1]],
    scaling_full = if (est == "ML") NA else fitMeasures(f0, "chisq.scaling.factor")[[1]],
    scaling_partial = if (est == "ML") NA else fitMeasures(f1, "chisq.scaling.factor")[[1]],
    chi2_diff = lrt[2, stat_col], df_diff = lrt[2, "Df diff"], pvalue = lrt[2, "Pr(>Chisq)"]
  )
  cat(sprintf("%-6s diff=%.6f df=%d p=%.6f\n", est, lrt[2, stat_col], lrt[2, "Df diff"], lrt[2, "Pr(>Chisq)"]))
}
out <- do.call(rbind, rows)
for (col in names(out)) if (is.double(out[[col]])) out[[col]] <- fmt(out[[col]])
write.csv(out, file.path(out_dir, "robustness_lrt.csv"), row.names = FALSE, quote = FALSE, na = "")
