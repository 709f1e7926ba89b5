# Stage 2: measurement validation (reliability, convergent and discriminant
# validity, CFA fit) on whatever survey the data stage prepared.


rule measurement:
    input:
        table="results/data/items.csv",
        study=study_spec_path(),
    output:
        descriptives="results/measurement/item_descriptives.csv",
        reliability=report(
            "results/measurement/reliability.csv",
            caption="../report/reliability.rst",
            category="Measurement",
        ),
        fornell_larcker="results/measurement/fornell_larcker.csv",
        htmt="results/measurement/htmt.csv",
        loadings="results/measurement/loadings.csv",
        fit="results/measurement/cfa_fit.json",
        checks="results/measurement/checks.json",
        syntax="results/measurement/cfa_syntax.txt",
    params:
        scale_points=config["synthetic"]["scale_points"],
        thresholds=config["measurement"]["thresholds"],
        missing=config["missing"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/measurement.tsv"
    log:
        "logs/measurement/measurement.log",
    script:
        "../../scripts/measurement.py"
