# Stage 3: the latent structural model, its mediation analysis (bootstrap and
# Monte Carlo intervals) and the equivalence tests of the paper's null findings.


rule structural:
    input:
        table=PATHS["items"],
        study=study_spec_path(),
        diagnostics=PATHS["diagnostics"],
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
        std_paths=PATHS["std_paths"],
        latent_covariances=PATHS["latent_covariances"],
        r2_intervals=PATHS["r2_intervals"],
        f2=PATHS["f2"],
        residual_correlations=PATHS["sem_residual_correlations"],
        modindices=PATHS["sem_modindices"],
        contrasts=PATHS["indirect_contrasts"],
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
