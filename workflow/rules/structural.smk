# Stage 3: the latent structural model, its mediation analysis (bootstrap and
# Monte Carlo intervals) and the equivalence tests of the paper's null findings.


rule structural:
    input:
        table=PATHS["items"],
        study=study_spec_path(),
    output:
        syntax=PATHS["model_syntax"],
        paths=report(
            PATHS["paths"],
            caption="../report/paths.rst",
            category="Structural model",
        ),
        r2=PATHS["r2"],
        fit=PATHS["fit"],
        indirect=report(
            PATHS["indirect"],
            caption="../report/indirect.rst",
            category="Mediation",
        ),
        bootstrap=PATHS["bootstrap"],
        equivalence=PATHS["equivalence"],
        **pls_outputs(),
    params:
        seed=config["synthetic"]["seed"],
        settings=config["structural"],
        missing=config["data"]["missing"],
        estimator=config["estimator"],
    threads: 2
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/structural.tsv"
    log:
        "logs/structural/structural.log",
    script:
        "../../scripts/structural.py"
