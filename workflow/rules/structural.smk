# Stage 3: the latent structural model, its mediation analysis (bootstrap and
# Monte Carlo intervals) and the equivalence tests of the paper's null findings.


rule structural:
    input:
        table="results/data/items.csv",
        study=study_spec_path(),
    output:
        syntax="results/structural/model_syntax.txt",
        paths=report(
            "results/structural/paths.csv",
            caption="../report/paths.rst",
            category="Structural model",
        ),
        r2="results/structural/r2.csv",
        fit="results/structural/fit.json",
        indirect=report(
            "results/structural/indirect_effects.csv",
            caption="../report/indirect.rst",
            category="Mediation",
        ),
        bootstrap="results/structural/bootstrap.json",
        equivalence="results/structural/equivalence.csv",
    params:
        seed=config["synthetic"]["seed"],
        settings=config["structural"],
        missing=config["missing"],
    threads: 2
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/structural.tsv"
    log:
        "logs/structural/structural.log",
    script:
        "../../scripts/structural.py"
