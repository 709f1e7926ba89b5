# Stage 1: the survey data. The study spec is validated, the synthetic survey
# is drawn from its population model (unless the user names a file), and the
# survey is checked against its codebook and prepared for the models.


rule validate_study:
    input:
        study=study_spec_path(),
        schema="workflow/schemas/study.schema.yaml",
    output:
        population=PATHS["population"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/validate_study.tsv"
    log:
        "logs/data/validate_study.log",
    script:
        "../../scripts/calibrate.py"


rule simulate_survey:
    input:
        study=study_spec_path(),
        population=PATHS["population"],
    output:
        survey=PATHS["synthetic_survey"],
        codebook=PATHS["synthetic_codebook"],
    params:
        synthetic=config["synthetic"],
        scale_points=config["data"]["scale_points"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/simulate_survey.tsv"
    log:
        "logs/data/simulate_survey.log",
    script:
        "../../scripts/simulate.py"


rule codebook:
    input:
        study=study_spec_path(),
        population=PATHS["population"],
    output:
        codebook=PATHS["codebook"],
    params:
        scale_points=config["data"]["scale_points"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/codebook.tsv"
    log:
        "logs/data/codebook.log",
    script:
        "../../scripts/codebook.py"


rule prepare_data:
    input:
        survey=survey_input(),
        codebook=codebook_input(),
        study=study_spec_path(),
    output:
        table=PATHS["items"],
        source=PATHS["source"],
        coverage=PATHS["coverage"],
        careless=PATHS["careless"],
    params:
        kind="observed" if own_data() else "synthetic",
        missing=config["data"]["missing"],
        screen=config["data"]["screen"],
        careless=config["data"]["careless"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/prepare_data.tsv"
    log:
        "logs/data/prepare_data.log",
    script:
        "../../scripts/prepare_data.py"
