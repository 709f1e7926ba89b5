"""The structural equation modelling engine: everything that knows SEM, nothing of this study.

One model representation (:mod:`.model`, lavaan syntax parsed by semopy into a
LISREL all-y structure), the discrepancy functions (:mod:`.objectives`), the
missing-data likelihood (:mod:`.mvnorm_missing`), the single-sample and batched
estimators (:mod:`.estimation`, :mod:`.batched`), fit measures (:mod:`.fit`),
standardization (:mod:`.standardize`), the improper-solution check
(:mod:`.checks`) and resampling (:mod:`.resample`, :mod:`.bootstrap`).
It imports nothing from the study, data, analysis, pipeline or report layers
(import-linter contract in ``pyproject.toml``), as lavaan's estimation code
knows nothing of its output layer.
"""
