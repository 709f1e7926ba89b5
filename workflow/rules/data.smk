# Stage 1: the survey data. The study spec is validated, the synthetic survey
# is drawn from its population model (unless the user names a file), and the
# survey is checked against its codebook and prepared for the models.


rule validate_study:
    input:
        study=study_spec_path(),
        schema="workflow/schemas/study.schema.yaml",
    output:
        population="results/calibration/population.json",
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
        population="results/calibration/population.json",
    output:
        survey="data/synthetic/survey.csv",
        codebook="data/synthetic/codebook.json",
    params:
        synthetic=config["synthetic"],
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
        population="results/calibration/population.json",
    output:
        codebook="results/data/codebook.json",
    params:
        scale_points=config["synthetic"]["scale_points"],
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
        table="results/data/items.csv",
        source="results/data/source.json",
    params:
        kind="observed" if own_data() else "synthetic",
        missing=config["missing"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/prepare_data.tsv"
    log:
        "logs/data/prepare_data.log",
    script:
        "../../scripts/prepare_data.py"
