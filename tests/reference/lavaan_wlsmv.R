# Reference fits for the ordinal (WLSMV) estimator of xhs_sharing.sem.ordinal / .wls.
#
# Fits the default structural model with lavaan's ordinal WLSMV
# (ordered = <all items>, estimator = "WLSMV": delta parameterization,
# DWLS with the diagonal of the two-step Gamma as weight, robust.sem standard
# errors, scaled-shifted test) to
#   (a) data/default_items.csv   the default synthetic survey as analysed
#   (b) data/skewed_items.csv    skewed items, MCAR gaps, a sparse top category
# and writes CSV fixtures to fixtures/ so that the Python tests need no R:
#   wlsmv_<set>_thresholds.csv   sample thresholds (step 1) with the category values they separate
#   wlsmv_<set>_polychoric.csv   polychoric correlation matrix (step 2)
#   wlsmv_<set>_gamma.csv        NACOV (Gamma): its diagonal and two full rows, long format
#   wlsmv_<set>_estimates.csv    parameterEstimates(): est, se of every row (free or fixed)
#   wlsmv_<set>_fit.csv          test statistics, scaling factor, shift, df, fit measures
#   wlsmv_meta.csv               lavaan and R versions, N, timing of one fit and of
#                                bootstrapLavaan(R = 50) on (a), failed resamples
#
# Missing answers: listwise deletion happens here, before lavaan sees the data.
# lavaan's own missing = "listwise" takes the ordered levels from the rows
# *before* deletion and then stops with "some categories of variable ... are
# empty" on (b); deleting first lets lavaan take the levels from the rows it
# analyses, which is how it treats a category nobody used (the category is
# not a level, the neighbouring thresholds become adjacent).
#
# Run from the repository root (about a minute, most of it the bootstrap):
#   Rscript tests/reference/lavaan_wlsmv.R
# Needs R >= 4.2 with lavaan 0.6-14 (Debian: r-base-core r-cran-lavaan).

suppressPackageStartupMessages(library(lavaan))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")
out_dir <- file.path(here, "fixtures")
dir.create(out_dir, showWarnings = FALSE)

model <- paste(readLines(file.path(data_dir, "structural_model.lav")), collapse = "\n")

write_csv <- function(df, name) {
  write.csv(df, file.path(out_dir, name), row.names = FALSE, quote = TRUE)
}

num <- function(x) trimws(formatC(x, digits = 15, format = "g"))

read_items <- function(file) {
  d <- read.csv(file.path(data_dir, file), stringsAsFactors = FALSE)
  items <- setdiff(names(d), "respondent_id")
  complete <- stats::complete.cases(d[, items])
  list(data = d[complete, items], items = items, n_read = nrow(d), n_complete = sum(complete))
}

fit_wlsmv <- function(data, items) {
  sem(model, data = data, ordered = items, estimator = "WLSMV")
}

threshold_table <- function(fit, data, items) {
  th <- lavInspect(fit, "sampstat")$th
  rows <- lapply(items, function(it) {
    lv <- sort(unique(data[[it]]))
    k <- seq_len(length(lv) - 1L)
    nm <- paste0(it, "|t", k)
    data.frame(item = it, threshold = k, below = lv[k], above = lv[k + 1L],
               value = num(unname(th[nm])))
  })
  do.call(rbind, rows)
}

polychoric_table <- function(fit) {
  r <- lavInspect(fit, "sampstat")$cov
  out <- data.frame(item = rownames(r), stringsAsFactors = FALSE)
  for (j in colnames(r)) out[[j]] <- num(r[, j])
  out
}

gamma_table <- function(fit) {
  g <- lavInspect(fit, "gamma")
  nth <- length(lavInspect(fit, "sampstat")$th)
  nm <- colnames(g)
  if (is.null(nm)) nm <- as.character(seq_len(ncol(g)))
  idx <- rbind(cbind(seq_len(nrow(g)), seq_len(nrow(g))),
               cbind(1L, seq_len(ncol(g))),
               cbind(nth + 1L, seq_len(ncol(g))))
  idx <- unique(idx)
  data.frame(row = idx[, 1], col = idx[, 2], row_name = nm[idx[, 1]], col_name = nm[idx[, 2]],
             value = num(g[idx]))
}

estimates_table <- function(fit) {
  pe <- parameterEstimates(fit, ci = FALSE)
  pt <- parTable(fit)
  key <- paste(pt$lhs, pt$op, pt$rhs)
  free <- pt$free[match(paste(pe$lhs, pe$op, pe$rhs), key)]
  label <- if (is.null(pe$label)) rep("", nrow(pe)) else pe$label
  data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, label = label,
             free = ifelse(is.na(free), 0L, free), est = num(pe$est), se = num(pe$se))
}

FIT_MEASURES <- c(
  "ntotal", "npar", "fmin", "df", "chisq", "pvalue",
  "chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor",
  "baseline.chisq", "baseline.df", "baseline.chisq.scaled", "baseline.df.scaled",
  "baseline.chisq.scaling.factor",
  "cfi", "tli", "cfi.scaled", "tli.scaled", "cfi.robust", "tli.robust",
  "rmsea", "rmsea.scaled", "rmsea.robust", "srmr"
)

fit_table <- function(fit) {
  fm <- fitMeasures(fit, FIT_MEASURES)
  ss <- lavInspect(fit, "test")$scaled.shifted
  base <- lav_fit_measures_baseline_shift(fit)
  data.frame(
    measure = c(names(fm), "chisq.shift.parameters", "trace.UGamma", "trace.UGamma2",
                "baseline.chisq.shift.parameters"),
    value = num(c(unname(fm), ss$shift.parameter, ss$trace.UGamma, ss$trace.UGamma2, base))
  )
}

# shift parameter of the baseline (independence) model's scaled-shifted test
lav_fit_measures_baseline_shift <- function(fit) {
  b <- fit@baseline$test
  if (is.null(b) || is.null(b$scaled.shifted)) return(NA_real_)
  b$scaled.shifted$shift.parameter
}

# wall and CPU seconds of evaluating expr (the machine may be shared: CPU time
# is the figure to compare, wall time is what a user waits)
timed <- function(expr) {
  t0 <- proc.time()
  value <- expr
  dt <- proc.time() - t0
  list(value = value, wall = dt[["elapsed"]], cpu = dt[["user.self"]] + dt[["sys.self"]])
}

run_set <- function(tag, file) {
  d <- read_items(file)
  tf <- timed(fit_wlsmv(d$data, d$items))
  fit <- tf$value
  stopifnot(lavInspect(fit, "converged"))
  write_csv(threshold_table(fit, d$data, d$items), sprintf("wlsmv_%s_thresholds.csv", tag))
  write_csv(polychoric_table(fit), sprintf("wlsmv_%s_polychoric.csv", tag))
  write_csv(gamma_table(fit), sprintf("wlsmv_%s_gamma.csv", tag))
  write_csv(estimates_table(fit), sprintf("wlsmv_%s_estimates.csv", tag))
  write_csv(fit_table(fit), sprintf("wlsmv_%s_fit.csv", tag))
  list(fit = fit, meta = data.frame(
    key = paste0(tag, c(".file", ".n_read", ".n_listwise", ".fit_wall_seconds", ".fit_cpu_seconds",
                        ".iterations")),
    value = c(file, d$n_read, d$n_complete, num(tf$wall), num(tf$cpu), lavInspect(fit, "iterations"))
  ))
}

time_bootstrap <- function(fit, R = 50L) {
  set.seed(20261127)
  tb <- timed(suppressWarnings(bootstrapLavaan(fit, R = R, type = "ordinary", FUN = "coef")))
  boot <- tb$value
  failed <- attr(boot, "error.idx")
  n_failed <- if (is.null(failed)) sum(!stats::complete.cases(boot)) else length(failed)
  data.frame(
    key = c("bootstrap.R", "bootstrap.wall_seconds", "bootstrap.cpu_seconds",
            "bootstrap.wall_seconds_per_resample", "bootstrap.cpu_seconds_per_resample", "bootstrap.failed"),
    value = c(R, num(tb$wall), num(tb$cpu), num(tb$wall / R), num(tb$cpu / R), n_failed)
  )
}

a <- run_set("default", "default_items.csv")
b <- run_set("skewed", "skewed_items.csv")
meta <- rbind(
  data.frame(key = c("lavaan.version", "R.version", "date", "estimator", "parameterization",
                     "test", "se", "missing"),
             value = c(as.character(packageVersion("lavaan")), R.version$version.string,
                       format(Sys.Date()), "WLSMV",
                       lavInspect(a$fit, "options")$parameterization,
                       paste(lavInspect(a$fit, "options")$test, collapse = ";"),
                       lavInspect(a$fit, "options")$se,
                       "listwise (complete rows selected before lavaan)")),
  a$meta, b$meta, time_bootstrap(a$fit)
)
write_csv(meta, "wlsmv_meta.csv")
cat("fixtures written to", out_dir, "\n")
