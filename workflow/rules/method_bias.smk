# Common-method bias (issue 17): Harman's single-factor test, the one-factor
# CFA against the measurement model, and the structural model with an
# unmeasured latent method factor.


rule method_bias:
    input:
        table=PATHS["items"],
        study=study_spec_path(),
        # the diagnostics gate every model: a survey they stop fits no method factor
        diagnostics=PATHS["diagnostics"],
    output:
        document=PATHS["method_bias"],
        paths=PATHS["method_bias_paths"],
    params:
        seed=config["synthetic"]["seed"],
        mc_draws=config["structural"]["mc_draws"],
        missing=config["data"]["missing"],
        estimator=config["estimator"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/method_bias.tsv"
    log:
        "logs/method_bias/method_bias.log",
    script:
        "../../scripts/method_bias.py"
