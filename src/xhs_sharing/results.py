"""The result-file contract: every file the workflow writes, where it lives, and what it holds.

This module is the one place that names the files of a run. The Snakemake
rules take their output paths from :data:`PATHS` (``workflow/rules/*.smk``),
the scripts write to the paths Snakemake hands them and check each table
against its entry before writing (:func:`check_table`, :func:`check_document`),
and the report reads the files under these names and requires these columns
(:mod:`xhs_sharing.report.read`). Renaming a file or a column here is the
whole change; the tests check that every output of every rule is named here
and that the report reads nothing the contract does not list.

Paths are POSIX paths relative to the workflow's working directory (the
repository root), as the rules write them. For a CSV table ``columns`` are
the columns every run writes, in order; ``extra`` says which columns follow
from the study (one per item, construct or scale point) when there are any.
For a JSON document ``columns`` are the top-level keys every run writes and
``optional`` the keys a reader must do without (files written before the key
existed, or written only in some runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from xhs_sharing.errors import XhsError

RESULTS_DIR = "results"
"""Directory of every result of the analysis."""


MONTECARLO_DIR = "results/montecarlo"
"""Directory of the Monte Carlo study's results."""


ROBUSTNESS_DIR = "results/robustness"
"""Directory of the robustness stage's results."""


@dataclass(frozen=True)
class ResultFile:
    """One file of a run: its key, path and contents.

    Attributes
    ----------
    key : str
        Name used in code (``"paths"``, ``"power"``).
    path : str
        POSIX path relative to the workflow's working directory; may hold Snakemake wildcards.
    columns : tuple of str
        CSV: the columns every run writes, in order; JSON: the top-level keys every run writes.
    text_columns : tuple of str
        Columns a reader must read as text (ids that could look like numbers).
    optional : tuple of str
        JSON keys a reader must do without.
    extra : str
        What further columns follow from the study, if any ("" when none).
    description : str
        One line on what the file holds.
    """

    key: str
    path: str
    columns: tuple[str, ...] = ()
    text_columns: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    extra: str = ""
    description: str = ""

    @property
    def suffix(self) -> str:
        """``csv``, ``json``, ``txt`` or ``html``."""
        return PurePosixPath(self.path).suffix.lstrip(".")

    def relative_to(self, directory: str) -> str:
        """The path relative to ``directory`` (e.g. :data:`RESULTS_DIR`), POSIX style."""
        return str(PurePosixPath(self.path).relative_to(directory))


FIT_COLUMNS = ("baseline_chi2", "baseline_df", "cfi", "chi2", "df", "estimator", "missing", "n", "pvalue", "rmsea",
               "rmsea_ci_high", "rmsea_ci_low", "srmr", "tli")
"""Keys of ``cfa_fit.json`` and ``fit.json``: lavaan's fit measures, the estimator (the config's ``estimator``:
ML, MLR or WLSMV) and how missing answers were handled (``missing``: ``fiml`` when the FIML likelihood was used,
else ``listwise``)."""

ESTIMATOR_KEYS_SINCE_ISSUE13 = ("missing", "estimator")
"""Keys and columns added by issue 13 that files written before it lack (readers must do without them):
``missing`` in the fit documents and ``bootstrap.json``, ``estimator`` in ``claims.json`` and as the last
column of every CSV table of estimates (``loadings``, ``paths``, ``r2``, ``indirect``, ``equivalence``)."""

ROBUST_FIT_KEYS = ("chi2_scaled", "pvalue_scaled", "scaling_factor", "baseline_chi2_scaled", "baseline_scaling_factor",
                   "cfi_robust", "tli_robust", "rmsea_robust", "rmsea_ci_low_robust", "rmsea_ci_high_robust",
                   "test", "se")
"""Keys a fit document has only under MLR: the Yuan-Bentler (Mplus) scaled test and lavaan's robust indices
(xhs_sharing.sem.fit.robust_fit_measures), the test (``yuan.bentler.mplus``) and SEs (``robust.huber.white``)."""

INDIRECT_KEYS_SINCE_ISSUE17 = ("boot_se", "std_ci_low", "std_ci_high")
"""Columns of ``indirect_effects.csv`` added by issue 17 (before ``estimator``; files written before lack them):
the bootstrap SE and the percentile-bootstrap interval of the standardized effect."""

ESTIMATOR_COLUMN = "estimator"
"""Last column of every CSV table of estimates: the estimator that made it (the config's ``estimator``)."""


def with_estimator(frame: Any, estimator: str) -> Any:
    """``frame`` (a DataFrame) with the column :data:`ESTIMATOR_COLUMN` set to ``estimator``, last."""
    return frame.assign(**{ESTIMATOR_COLUMN: estimator})


WLSMV_FIT_KEYS = ("chi2_scaled", "pvalue_scaled", "scaling_factor", "shift", "baseline_chi2_scaled",
                  "baseline_scaling_factor", "cfi_scaled", "tli_scaled", "rmsea_scaled", "rmsea_ci_low_scaled",
                  "rmsea_ci_high_scaled", "test", "se")
"""Keys a fit document has only under WLSMV: the scaled-shifted test and lavaan's ``.scaled`` measures
(:func:`xhs_sharing.analysis.ordinal.wlsmv_fit_measures`); the usual keys hold the standard DWLS values."""

FIML_FIT_KEYS = ("srmr_bentler_nomean", "srmr_variant")
"""Keys a fit document has only under FIML: ``srmr`` is then lavaan's with means (``srmr_variant``)."""


FIT_EXTRA_KEYS = ("logl", "unrestricted_logl", "npar", "aic", "bic", "bic2", "rmsea_pvalue", "estimation", "notes")
"""Keys issue 17 (points 10, 11) adds to ``cfa_fit.json`` and ``fit.json`` (xhs_sharing.sem.fit_extras.fit_extras):
lavaan's logl, unrestricted.logl, npar, aic, bic, bic2 and rmsea.pvalue (null under WLSMV, ``notes`` saying why),
and ``estimation`` (free parameters, df, t-rule, scaling, optimizer, iterations, largest gradient element).
``cfa_fit.json`` also gets ``mardia`` (Mardia's multivariate skewness and kurtosis of the items, semTools')."""

RESID_COR_COLUMNS = ("lhs", "rhs", "residual", "estimator")
"""Columns of the residual-correlation tables: observed minus model-implied correlation (lavaan's
``residuals(fit, type = "cor")``), one row per pair of items, the largest |residual| first."""

MODINDICES_COLUMNS = ("lhs", "op", "rhs", "mi", "epc", "sepc_all", "estimator")
"""Columns of the modification-index tables (lavaan's ``modindices(fit, sort = TRUE)``: mi, epc, sepc.all)."""

PLS_FIT_KEYS = ("note",)
"""Keys ``fit.json`` has only under PLS and PLSc: ``note`` says why the ML fit measures (present, null) are absent."""


REPLICATION_COLUMNS = ("n", "replication", "claim_id", "converged", "refitted", "estimate", "std_estimate",
                       "ci_low", "ci_high", "verdict")
"""Columns of a Monte Carlo chunk table and of ``replications.csv``."""


CODEBOOK_KEYS = ("constructs", "id_column", "items", "scale_labels", "scale_points", "title")


_ITEM_TABLE = dict(columns=("respondent_id",), text_columns=("respondent_id",),
                   extra="one column per item of the study spec, in spec order")


_MATRIX = dict(columns=("construct",), text_columns=("construct",),
               extra="one column per construct of the study spec, in the order of the rows")


FILES: tuple[ResultFile, ...] = (
    # ---- data (rules validate_study, simulate_survey, codebook, prepare_data)
    ResultFile("population", "results/calibration/population.json",
               ("declared", "exogenous_correlation", "implied_standardized_paths", "latent_correlation",
                "latent_variances", "loadings", "paths", "r2", "residual_variances"),
               optional=("exogenous_correlation", "implied_standardized_paths", "latent_correlation",
                         "latent_variances", "loadings", "paths", "r2", "residual_variances", "missing", "note"),
               description="population model of the study spec (residual variances, implied R-squared), or "
                           "declared = false with the missing fields when the spec declares no population values"),
    ResultFile("synthetic_survey", "data/synthetic/survey.csv", **_ITEM_TABLE,
               description="the synthetic survey, answers as a respondent gives them (reverse items not recoded)"),
    ResultFile("synthetic_codebook", "data/synthetic/codebook.json", CODEBOOK_KEYS,
               description="codebook of the synthetic survey"),
    ResultFile("codebook", "results/data/codebook.json", CODEBOOK_KEYS,
               description="codebook a user's own survey file is checked against"),
    ResultFile("items", "results/data/items.csv", **_ITEM_TABLE,
               description="the analysis table: recoded items of the respondents analysed"),
    ResultFile("source", "results/data/source.json",
               ("answer_range", "dropped_ids", "dropped_rows", "kind", "listwise_rows", "missing", "missing_data",
                "n_analysed", "n_rows", "no_answer_rows", "path", "renamed_columns", "sha256", "warnings",
                "careless", "careless_rows"),
               optional=("answer_range", "listwise_rows", "missing_data", "no_answer_rows", "renamed_columns",
                         "careless", "careless_rows"),
               description="which survey was analysed (synthetic or observed), its SHA-256, the respondents analysed "
                           "and dropped, the missing-data summary (xhs_sharing.data.survey.missing_summary) and the "
                           "warnings of the data checks"),
    ResultFile("coverage", "results/data/coverage.csv", ("item",), ("item",),
               extra="one column per item of the study spec, in the order of the rows",
               description="covariance coverage: share of the respondents with an answer who answered both items "
                           "(lavaan's lavInspect(fit, 'coverage'))"),
    ResultFile("careless", "results/data/careless.csv",
               ("respondent_id", "n_answered", "longstring", "irv", "flagged_longstring", "flagged_irv", "flagged"),
               ("respondent_id",),
               description="careless-responding screen of every respondent with an answer: long-string index, "
                           "answer SD (IRV) and the flags (xhs_sharing.data.careless; R's careless::longstring, irv)"),
    # ---- measurement (rule measurement)
    ResultFile("item_descriptives", "results/measurement/item_descriptives.csv",
               ("construct", "item", "n", "mean", "sd", "skewness", "kurtosis", "citc"), ("construct", "item"),
               extra="p1 ... pK before citc: share of answers at each point of the K-point scale",
               description="item descriptives"),
    ResultFile("reliability", "results/measurement/reliability.csv",
               ("construct", "n_items", "n", "alpha", "alpha_ci_low", "alpha_ci_high", "cr", "ave", "sqrt_ave",
                "cr_semtools", "ave_semtools"),
               ("construct",), description="Cronbach's alpha with its interval, CR, AVE per construct (standardized "
                                           "loadings), and semTools' compRelSEM and AVE"),
    ResultFile("fornell_larcker", "results/measurement/fornell_larcker.csv", **_MATRIX,
               description="latent correlations below the diagonal, sqrt(AVE) on it"),
    ResultFile("htmt", "results/measurement/htmt.csv", **_MATRIX,
               description="heterotrait-monotrait ratios"),
    ResultFile("loadings", "results/measurement/loadings.csv",
               ("construct", "item", "est", "se", "z", "pvalue", "std_all", "resid_var", "estimator"),
               ("construct", "item", "estimator"), optional=("estimator",),
               description="CFA loadings and residual variances"),
    ResultFile("cfa_fit", "results/measurement/cfa_fit.json", (*FIT_COLUMNS, *FIT_EXTRA_KEYS, "mardia"),
               optional=(*FIML_FIT_KEYS, *ROBUST_FIT_KEYS, *WLSMV_FIT_KEYS, *ESTIMATOR_KEYS_SINCE_ISSUE13[:1],
                         *FIT_EXTRA_KEYS, "mardia"),
               description="fit of the CFA"),
    ResultFile("checks", "results/measurement/checks.json", ("checks", "failed", "passed", "total", "warnings"),
               description="every measurement check with its threshold, comparison, reference and status"),
    ResultFile("cfa_syntax", "results/measurement/cfa_syntax.txt", description="lavaan syntax of the CFA"),
    ResultFile("diagnostics", "results/measurement/diagnostics.json",
               ("findings", "likely_cause", "n", "n_parameters", "n_per_parameter", "settings", "straight_liners",
                "verdict"),
               description="measurement diagnostics run before the models (xhs_sharing.analysis.diagnostics): "
                           "verdict ok or weakened (a stop fails the rule), each finding with its severity, the "
                           "constructs or items it names and its message"),
    ResultFile("cfa_residual_correlations", "results/measurement/residual_correlations.csv", RESID_COR_COLUMNS,
               ("lhs", "rhs", "estimator"),
               description="residual correlations of the CFA (empty under WLSMV; cfa_fit.json's notes say why)"),
    ResultFile("cfa_modindices", "results/measurement/modindices.csv", MODINDICES_COLUMNS,
               ("lhs", "op", "rhs", "estimator"),
               description="modification indices of the CFA with expected parameter changes (empty under WLSMV "
                           "and FIML; cfa_fit.json's notes say why)"),
    # ---- common-method bias (rule method_bias)
    ResultFile("method_bias", "results/measurement/method_bias.json",
               ("claims", "claims_changed", "estimator", "harman", "mc_draws", "measurement", "method_factor",
                "missing", "one_factor", "one_factor_vs_measurement", "paths_changed", "seed"),
               optional=("note",),
               description="Harman's single-factor test, the one-factor CFA against the measurement model (chi-square "
                           "difference), and the structural model with an unmeasured latent method factor: its "
                           "loadings, the variance shares, and every claim judged with and without it"),
    ResultFile("method_bias_paths", "results/measurement/method_bias.csv",
               ("lhs", "op", "rhs", "est", "std_all", "pvalue", "ci_low", "ci_high", "est_method", "std_all_method",
                "pvalue_method", "ci_low_method", "ci_high_method", "delta_std", "significant", "significant_method",
                "changed", "estimator"),
               ("lhs", "op", "rhs", "estimator"),
               description="every structural path without and with the method factor (ML), and whether its 95% "
                           "interval excluding zero changes"),
    # ---- structural (rule structural)
    ResultFile("model_syntax", "results/structural/model_syntax.txt", description="lavaan syntax of the SEM"),
    ResultFile("paths", "results/structural/paths.csv",
               ("lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all", "ci_low", "ci_high", "estimator"),
               ("lhs", "op", "rhs", "estimator"), optional=("estimator",),
               description="structural regressions with Wald intervals (robust SEs under MLR)"),
    ResultFile("r2", "results/structural/r2.csv", ("variable", "r2", "estimator"), ("variable", "estimator"),
               optional=("estimator",),
               description="R-squared of the endogenous constructs"),
    ResultFile("fit", "results/structural/fit.json", (*FIT_COLUMNS, "problems", "proper", *FIT_EXTRA_KEYS),
               optional=("problems", "proper", *FIML_FIT_KEYS, *ROBUST_FIT_KEYS, *WLSMV_FIT_KEYS,
                         *ESTIMATOR_KEYS_SINCE_ISSUE13[:1], *FIT_EXTRA_KEYS, *PLS_FIT_KEYS),
               description="fit of the SEM; proper = false (with the problems) for an improper solution; under "
                           "PLS/PLSc the chi-square family and SRMR are null and note says why"),
    ResultFile("indirect", "results/structural/indirect_effects.csv",
               ("x", "mediator", "y", "effect", "est", "se", "std_est", "std_se", "boot_ci_low", "boot_ci_high",
                "mc_ci_low", "mc_ci_high", "mediation_type", *INDIRECT_KEYS_SINCE_ISSUE17, "estimator"),
               ("x", "mediator", "y", "effect", "mediation_type", "estimator"),
               optional=("estimator", *INDIRECT_KEYS_SINCE_ISSUE17),
               description="specific indirect (one row per chain; mediator 'M1->M2' for a serial chain), total "
                           "indirect, direct and total effects with delta-method SEs, bootstrap and MC intervals; "
                           "bootstrap SE and the percentile-bootstrap interval of the standardized effect"),
    ResultFile("indirect_contrasts", "results/structural/indirect_contrasts.csv",
               ("x", "y", "mediator_1", "mediator_2", "est", "se", "std_est", "std_se", "boot_se", "boot_ci_low",
                "boot_ci_high", "std_ci_low", "std_ci_high", "mc_ci_low", "mc_ci_high", "estimator"),
               ("x", "y", "mediator_1", "mediator_2", "estimator"),
               description="every pairwise difference of the specific indirect effects of one x on one y (via "
                           "mediator_1 minus via mediator_2): delta-method and bootstrap SEs, percentile-bootstrap "
                           "intervals (raw and standardized) and the Monte Carlo interval"),
    ResultFile("bootstrap", "results/structural/bootstrap.json",
               ("chunk_size", "converged", "engine", "estimator", "failed", "failures", "mc_draws", "mc_information",
                "mc_seed", "missing", "requested", "seed"),
               optional=("engine_requested", "error", "note", "categories", *ESTIMATOR_KEYS_SINCE_ISSUE13[:1],
                         "max_failure_rate", "stopped_after"),
               description="bootstrap and Monte Carlo interval settings and convergence counts"),
    ResultFile("equivalence", "results/structural/equivalence.csv",
               ("id", "kind", "estimate", "se", "ci90_low", "ci90_high", "sesoi", "pvalue", "verdict", "sesoi_path",
                "bound_links", "estimator"),
               ("id", "kind", "verdict", "estimator", "bound_links"), optional=("estimator", "sesoi_path", "bound_links"),
               description="TOST equivalence tests of the claims of no effect"),
    ResultFile("sem_residual_correlations", "results/structural/residual_correlations.csv", RESID_COR_COLUMNS,
               ("lhs", "rhs", "estimator"),
               description="residual correlations of the SEM (empty under WLSMV; fit.json's notes say why)"),
    ResultFile("sem_modindices", "results/structural/modindices.csv", MODINDICES_COLUMNS,
               ("lhs", "op", "rhs", "estimator"),
               description="modification indices of the SEM with expected parameter changes (empty under WLSMV "
                           "and FIML; fit.json's notes say why)"),
    # ---- PLS tables (rule structural, written only under estimator PLS or PLSc: PLS_RESULTS)
    ResultFile("pls_outer", "results/structural/pls_outer.csv",
               ("construct", "item", "weight", "loading", "se", "ci_low", "ci_high", "estimator"),
               ("construct", "item", "estimator"),
               description="PLS(c) outer weights and loadings (PLSc: consistent), loadings with bootstrap SE and "
                           "percentile interval; only under PLS/PLSc"),
    ResultFile("pls_quality", "results/structural/pls_quality.csv",
               ("construct", "n_items", "r2", "adj_r2", "alpha", "rho_a", "rho_c", "ave", "estimator"),
               ("construct", "estimator"),
               description="PLS(c) construct quality: R-squared, adjusted R-squared, Cronbach's alpha, rho_A, "
                           "rho_C (composite reliability), AVE; only under PLS/PLSc"),
    ResultFile("pls_htmt", "results/structural/pls_htmt.csv",
               ("construct_a", "construct_b", "htmt", "se", "ci_low", "ci_high", "below_085", "below_090",
                "estimator"), ("construct_a", "construct_b", "estimator"),
               description="HTMT with bootstrap SE and percentile interval, its upper bound against .85/.90 "
                           "(Henseler et al. 2015); only under PLS/PLSc"),
    ResultFile("pls_inner", "results/structural/pls_inner.csv",
               ("source", "target", "path", "f2", "vif", "ci_low", "ci_high", "estimator"),
               ("source", "target", "estimator"),
               description="PLS(c) path coefficients with f-squared, inner VIF and percentile interval; only under "
                           "PLS/PLSc"),
    # ---- claims (rule claims)
    ResultFile("claims", "results/claims.json", ("claims", "estimator", "reproduced", "total"),
               optional=("estimator",),
               description="every claim of the paper with its verdict and the reason"),
    # ---- Monte Carlo study (rules montecarlo_chunk, montecarlo_sensitivity, montecarlo_gather)
    ResultFile("montecarlo_chunk", "results/montecarlo/chunks/n{n}_c{chunk}.csv", REPLICATION_COLUMNS,
               ("claim_id", "verdict"), description="one chunk of replications at one sample size"),
    ResultFile("sensitivity", "results/montecarlo/sensitivity.csv",
               ("claim_id", "path", "effect", "population_effect", "n", "replications", "converged", "detection_rate",
                "ci_low", "ci_high"), ("claim_id", "path"),
               description="detection rate of each claim of no effect over a grid of true effects"),
    ResultFile("replications", "results/montecarlo/replications.csv", REPLICATION_COLUMNS, ("claim_id", "verdict"),
               description="every replication's verdict on every claim"),
    ResultFile("claim_reproduction", "results/montecarlo/claim_reproduction.csv",
               ("claim_id", "n", "replications", "converged", "reproduction_rate", "ci_low", "ci_high"), ("claim_id",),
               description="reproduction rate of each claim by sample size, with Wilson intervals"),
    ResultFile("joint_reproduction", "results/montecarlo/joint_reproduction.csv",
               ("n", "replications", "joint_rate", "ci_low", "ci_high"),
               description="share of replications reproducing every claim, by sample size"),
    ResultFile("power", "results/montecarlo/power.json", ("fits", "joint_80", "joint_95"),
               optional=("min_detectable_80", "sensitivity_n", "settings", "min_detectable_80_interpolated"),
               description="smallest n reaching a joint rate of .80 / .95, fit counts, smallest detectable effects"),
    # ---- robustness stage (rules robustness_spec, robustness_gather)
    ResultFile("robustness_spec", "results/robustness/specs/{spec}.json",
               ("specification", "status", "reason", "n", "removed_paths", "fit", "rows"),
               optional=("bootstrap", "excluded_intervals"),
               description="one specification of the grid: its status, fit statistics and every claim's rows"),
    ResultFile("robustness_specifications", "results/robustness/specifications.csv",
               ("claim", "kind", "expected", "estimator", "missing", "model", "interval", "estimate", "ci_low",
                "ci_high", "std_estimate", "std_ci_low", "std_ci_high", "verdict", "reproduced", "main"),
               ("claim", "kind", "expected", "estimator", "missing", "model", "interval", "verdict"),
               description="one row per specification, interval and claim: settings, estimate, interval, verdict"),
    ResultFile("robustness_summary", "results/robustness/summary.csv",
               ("claim", "specifications", "reproduced", "share_reproduced", "main_verdict", "label", "sentence"),
               ("claim", "main_verdict", "label", "sentence"),
               description="per claim: specifications run, share reproduced, main verdict, robustness label"),
    ResultFile("robustness_excluded", "results/robustness/excluded.csv",
               ("estimator", "missing", "model", "status", "reason"),
               ("estimator", "missing", "model", "status", "reason"),
               description="combinations of the grid that do not exist or could not be estimated, with the reason"),
    ResultFile("robustness_nested", "results/robustness/nested.csv",
               ("estimator", "missing", "removed_paths", "chi2_full", "df_full", "chi2_partial", "df_partial",
                "method", "chi2_diff", "df_diff", "scaling", "pvalue", "note"),
               ("estimator", "missing", "removed_paths", "method", "note"),
               description="full versus partial mediation: chi-square difference tests (lavTestLRT)"),
    # ---- report (rule report)
    ResultFile("report", "reports/replication_report.html", description="the self-contained HTML report"),
    # ---- strict mode (rule strict_check, only with --config strict=true)
    ResultFile("strict_check", "results/strict_check.json", ("reproduced", "total"),
               description="strict mode passed: every claim reproduced (written only then)"),
    # ---- issue 17, points 12 and 13: measurement (rule measurement) and structural (rule structural) extras
    ResultFile("htmt2", "results/measurement/htmt2.csv", **_MATRIX,
               description="HTMT2 (Roemer, Schuberth & Henseler 2021; semTools htmt(htmt2 = TRUE)), diagonal 1"),
    ResultFile("htmt_intervals", "results/measurement/htmt_intervals.csv",
               ("construct_a", "construct_b", "htmt", "htmt_ci_low", "htmt_ci_high", "htmt2", "htmt2_ci_low",
                "htmt2_ci_high", "n_boot", "method"), ("construct_a", "construct_b", "method"),
               description="HTMT and HTMT2 of every pair of constructs with 95% percentile-bootstrap intervals over "
                           "the structural bootstrap's resamples (NaN, and method says why, under WLSMV or with "
                           "missing answers)"),
    ResultFile("cross_loadings", "results/measurement/cross_loadings.csv",
               ("construct", "item", "own", "max_cross", "max_cross_construct", "own_highest"),
               ("construct", "item", "max_cross_construct"),
               extra="one column per construct of the study spec: the item's correlation with its unit-weighted "
                     "composite",
               description="cross-loadings: item correlations with every construct's mean score"),
    ResultFile("item_vif", "results/measurement/item_vif.csv", ("construct", "item", "vif_block", "vif_all"),
               ("construct", "item"),
               description="item variance inflation factors 1 / (1 - R^2), within the construct and across all items"),
    ResultFile("std_paths", "results/structural/std_paths.csv",
               ("lhs", "op", "rhs", "std_all", "se", "z", "pvalue", "ci_low", "ci_high", "estimator"),
               ("lhs", "op", "rhs", "estimator"),
               description="standardized (std.all) paths with delta-method SEs and Wald intervals "
                           "(lavaan standardizedSolution())"),
    ResultFile("latent_covariances", "results/structural/latent_covariances.csv",
               ("lhs", "op", "rhs", "kind", "free", "est", "se", "z", "pvalue", "ci_low", "ci_high", "std_all",
                "std_se", "std_ci_low", "std_ci_high", "estimator"), ("lhs", "op", "rhs", "kind", "estimator"),
               description="covariances and variances of the exogenous constructs and disturbance variances, "
                           "unstandardized and std.all with delta-method SEs"),
    ResultFile("r2_intervals", "results/structural/r2_intervals.csv",
               ("variable", "r2", "se", "ci_low", "ci_high", "boot_ci_low", "boot_ci_high", "boot_n", "estimator"),
               ("variable", "estimator"),
               description="R-squared with its delta-method SE and Wald interval and the percentile interval over "
                           "the structural bootstrap's converged resamples"),
    ResultFile("f2", "results/structural/f2.csv",
               ("lhs", "rhs", "r2_included", "r2_excluded", "f2", "size", "estimator"), ("lhs", "rhs", "size",
                                                                                         "estimator"),
               description="Cohen's f-squared of every path, R-squared without the path recomputed from the "
                           "model-implied latent covariance"),
)
"""Every file the rules write (``logs/`` and ``logs/benchmarks/`` aside)."""


BY_KEY: dict[str, ResultFile] = {f.key: f for f in FILES}
"""Key -> its :class:`ResultFile`."""


PATHS: dict[str, str] = {f.key: f.path for f in FILES}
"""Key -> path: what the Snakemake rules write."""


REPORT_RESULTS: tuple[str, ...] = (
    "item_descriptives", "reliability", "fornell_larcker", "htmt", "loadings", "cfa_fit", "checks",
    "model_syntax", "paths", "r2", "fit", "indirect", "bootstrap", "equivalence", "claims",
    "htmt2", "htmt_intervals", "cross_loadings", "item_vif", "std_paths", "latent_covariances", "r2_intervals", "f2",
    "cfa_residual_correlations", "cfa_modindices", "sem_residual_correlations", "sem_modindices",
    "method_bias", "method_bias_paths", "indirect_contrasts",
)
"""Keys of the files under :data:`RESULTS_DIR` the report reads (and the default target asks for)."""

REPORT_OPTIONAL_SINCE_ISSUE17: tuple[str, ...] = (
    "htmt2", "htmt_intervals", "cross_loadings", "item_vif", "std_paths", "latent_covariances", "r2_intervals", "f2",
    "indirect_contrasts",
)
"""Keys of :data:`REPORT_RESULTS` added by issue 17 (points 12, 13): results written before them lack these files,
and the report then leaves out their tables (a file that is present must hold its columns)."""


MONTECARLO_RESULTS: tuple[str, ...] = (
    "replications", "claim_reproduction", "joint_reproduction", "power", "sensitivity",
)
"""Keys of the Monte Carlo study's outputs (the ``montecarlo`` target; the report reads them all)."""


PLS_RESULTS: tuple[str, ...] = ("pls_outer", "pls_quality", "pls_htmt", "pls_inner")
"""Keys of the PLS tables the structural step writes only under estimator PLS or PLSc (the rule's outputs then;
no file, not an empty one, under ML, MLR and WLSMV, so the default run's files are unchanged)."""


ROBUSTNESS_RESULTS: tuple[str, ...] = (
    "robustness_specifications", "robustness_summary", "robustness_excluded", "robustness_nested",
)
"""Keys of the robustness stage's gathered outputs (the ``robustness`` target; the report reads them all)."""


class ContractError(XhsError):
    """A table or document does not hold what :data:`FILES` says its file holds."""


def path(key: str, **wildcards: Any) -> str:
    """The path of a result file, wildcards filled in (``path("montecarlo_chunk", n=150, chunk=0)``)."""
    return BY_KEY[key].path.format(**wildcards) if wildcards else BY_KEY[key].path


def missing_columns(key: str, present: Iterable[str]) -> list[str]:
    """The columns (or keys) of the contract for ``key`` that ``present`` lacks, optional ones aside."""
    entry = BY_KEY[key]
    have = set(present)
    return [c for c in entry.columns if c not in have and c not in entry.optional]


def check_table(key: str, frame: Any) -> Any:
    """Return ``frame`` (a DataFrame) when it has every column of ``key``'s contract; raise :class:`ContractError` if not.

    A named index counts as a column (it is written as one with ``index=True``).
    """
    missing = missing_columns(key, [*(n for n in frame.index.names if n is not None), *frame.columns])
    if missing:
        raise ContractError(f"the {key} table lacks column(s) {missing} that {BY_KEY[key].path} must hold")
    return frame


def check_document(key: str, doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return ``doc`` when it has every key of ``key``'s contract; raise :class:`ContractError` if not."""
    missing = missing_columns(key, doc)
    if missing:
        raise ContractError(f"the {key} document lacks key(s) {missing} that {BY_KEY[key].path} must hold")
    return doc
