"""The workflow steps: one function per Snakemake rule that computes results.

The top layer of the package (``pipeline > report > analysis > study | data >
sem``).  Each function takes the step's inputs and settings and returns every
table of its ``results/`` directory; the thin scripts in ``scripts/`` only
read the inputs, call it and write the outputs.

* :func:`xhs_sharing.pipeline.measurement.run_measurement` -- measurement
  validation (``results/measurement/``);
* :func:`xhs_sharing.pipeline.structural.run_structural` -- the structural
  model, mediation and equivalence tests (``results/structural/``);
* :func:`xhs_sharing.pipeline.claims.run_claims` -- the verdict on every
  claim (``results/claims.json``);
* :func:`xhs_sharing.pipeline.provenance.run_info` -- provenance of the run
  (the report's appendix).

Settings default to the config JSON Schema's values
(:func:`xhs_sharing.study.spec.config_defaults`), so a Python caller and the
pipeline get the same numbers from the same config.
"""
