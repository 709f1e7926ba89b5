# Stage 4: every finding of the paper checked against the estimates.


rule claims:
    input:
        study=study_spec_path(),
        paths="results/structural/paths.csv",
        fit="results/structural/fit.json",
        indirect="results/structural/indirect_effects.csv",
        equivalence="results/structural/equivalence.csv",
    output:
        claims=report(
            "results/claims.json",
            caption="../report/claims.rst",
            category="Claims",
        ),
    params:
        strict=strict_mode(),
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/claims.tsv"
    log:
        "logs/claims/claims.log",
    script:
        "../../scripts/claims.py"
