"""The analyses of the replication, built on the SEM engine.

Measurement validation (:mod:`.measurement`), the structural model and its
tables (:mod:`.structural`), mediation (:mod:`.mediation`), the verdict on every
claim (:mod:`.claims`) and the Monte Carlo reproducibility study
(:mod:`.montecarlo`). They orchestrate and summarise; the numerical kernels
live in :mod:`xhs_sharing.sem`. Nothing here imports the report layer.
"""
