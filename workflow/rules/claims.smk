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
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/claims.tsv"
    log:
        "logs/claims/claims.log",
    script:
        "../../scripts/claims.py"


# Strict mode (--config strict=true): the last rule of the run. The claims and
# the report are written first, so a failing CI job still shows which claims
# failed; then this rule exits non-zero naming them.
rule strict_check:
    input:
        claims=PATHS["claims"],
        report=PATHS["report"],
    output:
        ok=PATHS["strict_check"],
    conda:
        "../../environment.yml"
    log:
        "logs/claims/strict_check.log",
    script:
        "../../scripts/strict_check.py"
