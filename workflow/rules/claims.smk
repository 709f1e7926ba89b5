# Stage 4: every finding of the paper checked against the estimates.


rule claims:
    input:
        study=study_spec_path(),
        paths=PATHS["paths"],
        fit=PATHS["fit"],
        indirect=PATHS["indirect"],
        equivalence=PATHS["equivalence"],
    output:
        claims=report(
            PATHS["claims"],
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
