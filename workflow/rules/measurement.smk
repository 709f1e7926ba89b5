# Stage 2: measurement validation (reliability, convergent and discriminant
# validity, CFA fit) on whatever survey the data stage prepared. The
# diagnostics come first and gate both models: on data that make the
# structural model meaningless they stop the run in seconds, naming the cause.


rule diagnostics:
    input:
        table=PATHS["items"],
        study=study_spec_path(),
    output:
        diagnostics=PATHS["diagnostics"],
    params:
        settings=config["diagnostics"],
        missing=config["data"]["missing"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/diagnostics.tsv"
    log:
        "logs/measurement/diagnostics.log",
    script:
        "../../scripts/diagnostics.py"


rule measurement:
    input:
        table=PATHS["items"],
        study=study_spec_path(),
        diagnostics=PATHS["diagnostics"],
    output:
        descriptives=PATHS["item_descriptives"],
        reliability=report(
            PATHS["reliability"],
            caption="../report/reliability.rst",
            category="Measurement",
        ),
        fornell_larcker=PATHS["fornell_larcker"],
        htmt=PATHS["htmt"],
        loadings=PATHS["loadings"],
        fit=PATHS["cfa_fit"],
        checks=PATHS["checks"],
        syntax=PATHS["cfa_syntax"],
        htmt2=PATHS["htmt2"],
        htmt_intervals=PATHS["htmt_intervals"],
        cross_loadings=PATHS["cross_loadings"],
        item_vif=PATHS["item_vif"],
        residual_correlations=PATHS["cfa_residual_correlations"],
        modindices=PATHS["cfa_modindices"],
    params:
        scale_points=config["data"]["scale_points"],
        thresholds=config["measurement"]["thresholds"],
        missing=config["data"]["missing"],
        estimator=config["estimator"],
        seed=config["synthetic"]["seed"],
        bootstrap=config["structural"]["bootstrap"],
        chunk_size=config["structural"]["chunk_size"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/measurement.tsv"
    log:
        "logs/measurement/measurement.log",
    script:
        "../../scripts/measurement.py"
