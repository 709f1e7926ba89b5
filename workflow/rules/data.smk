# Stage 1: the survey data. The synthetic survey is drawn from the population
# model of the study spec; the spec itself is validated against its schema.


rule validate_study:
    input:
        study=study_spec_path(),
        schema="workflow/schemas/study.schema.yaml",
    output:
        population="results/calibration/population.json",
    conda:
        "../../environment.yml"
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
    log:
        "logs/data/simulate_survey.log",
    script:
        "../../scripts/simulate.py"
