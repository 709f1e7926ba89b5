"""Structural equation models: one representation, one objective, two solvers over it.

The modules, from the bottom up (each imports only those above it in this list):

* :mod:`~xhs_sharing.sem.linalg`: Cholesky, triangular and PD inverses of stacks of matrices;
* :mod:`~xhs_sharing.sem.frames`: data frames to validated float matrices;
* :mod:`~xhs_sharing.sem.standardize`: ``(I - B)^-1``, ``Var(eta)``, lavaan's ``std.all``,
  Wald tests, delta-method standard errors;
* :mod:`~xhs_sharing.sem.model`: the LISREL :class:`~xhs_sharing.sem.model.ModelStructure`
  and the only use of semopy (parsing lavaan syntax, the SLSQP start);
* :mod:`~xhs_sharing.sem.objectives`: the ML discrepancy ``F_ML(Sigma, S)``, single and stacked;
* :mod:`~xhs_sharing.sem.checks`: the improper-solution check, single and stacked;
* :mod:`~xhs_sharing.sem.resample`: bootstrap counts and covariances, Monte Carlo intervals;
* :mod:`~xhs_sharing.sem.mvnorm_missing`: EM and FIML for data with missing values;
* :mod:`~xhs_sharing.sem.estimation`: the single-sample ML/FIML estimator;
* :mod:`~xhs_sharing.sem.fit`: lavaan's global fit measures;
* :mod:`~xhs_sharing.sem.bootstrap`: one-by-one bootstrap refits;
* :mod:`~xhs_sharing.sem.batched`: the batched ML estimator over the same structure.
* :mod:`~xhs_sharing.sem.robust`: MLR, the Huber-White sandwich and the Yuan-Bentler
  scaled test with lavaan's robust fit measures (not yet wired into the workflow);
* :mod:`~xhs_sharing.sem.bvn`, :mod:`~xhs_sharing.sem.ordinal`, :mod:`~xhs_sharing.sem.wls`:
  bivariate normal probabilities, thresholds, polychoric correlations and their asymptotic
  covariance, and DWLS/WLSMV estimation, single and batched over resamples (not yet wired
  into the workflow).

The layer knows nothing of this study: it imports nothing from the study, data,
analysis, pipeline or report layers (import-linter contract in
``pyproject.toml``), as lavaan's estimation code knows nothing of its output.
"""
