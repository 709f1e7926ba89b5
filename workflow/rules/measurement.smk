# Stage 2: measurement validation (reliability, convergent and discriminant
# validity, CFA fit) on whatever survey the data stage prepared.


rule measurement:
    input:
        table=PATHS["items"],
        study=study_spec_path(),
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
        residual_correlations=PATHS["cfa_residual_correlations"],
        modindices=PATHS["cfa_modindices"],
    params:
        scale_points=config["data"]["scale_points"],
        thresholds=config["measurement"]["thresholds"],
        missing=config["data"]["missing"],
        estimator=config["estimator"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/measurement.tsv"
    log:
        "logs/measurement/measurement.log",
    script:
        "../../scripts/measurement.py"
