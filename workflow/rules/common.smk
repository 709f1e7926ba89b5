# Config validation (JSON Schema, defaults filled from the schema) and the
# named input functions of the DAG.

import os

from snakemake.utils import validate

# semopy orders parameters by iterating over sets, so the order (and the last
# bits of every estimate) would change with Python's hash seed. Fix the seed
# for every script this workflow starts, so reruns give identical bytes.
os.environ.update(PYTHONHASHSEED="0")


validate(config, schema="../schemas/config.schema.yaml")


def strict_mode():
    """config strict as a boolean (--config strict=true arrives as text)."""
    return str(config["strict"]).lower() == "true"


def study_spec_path():
    """Path of the study specification named in the config."""
    return config["study"]


def own_data():
    """True when the user named a survey file (--config data=...)."""
    return bool(config["data"])


def survey_input():
    """The survey the analyses run on: the user's file, or the synthetic one."""
    return config["data"] if own_data() else "data/synthetic/survey.csv"


def codebook_input():
    """The codebook of that survey."""
    return "results/data/codebook.json" if own_data() else "data/synthetic/codebook.json"


RESULT_FILES = [
    "results/measurement/item_descriptives.csv",
    "results/measurement/reliability.csv",
    "results/measurement/fornell_larcker.csv",
    "results/measurement/htmt.csv",
    "results/measurement/loadings.csv",
    "results/measurement/cfa_fit.json",
    "results/measurement/checks.json",
    "results/structural/model_syntax.txt",
    "results/structural/paths.csv",
    "results/structural/r2.csv",
    "results/structural/fit.json",
    "results/structural/indirect_effects.csv",
    "results/structural/bootstrap.json",
    "results/structural/equivalence.csv",
    "results/claims.json",
]

STEPS = ["validate_study", "prepare_data", "measurement", "structural", "claims"]


def montecarlo_dir():
    """The Monte Carlo study's directory when the report includes it, else empty."""
    return "results/montecarlo" if config["montecarlo"]["in_report"] else ""


def report_inputs(wildcards):
    """Everything the report reads: results, the data source, step timings."""
    inputs = {
        "results": RESULT_FILES,
        "study": study_spec_path(),
        "survey": survey_input(),
        "source": "results/data/source.json",
        "benchmarks": [f"logs/benchmarks/{step}.tsv" for step in STEPS],
    }
    if montecarlo_dir():
        inputs["montecarlo"] = MONTECARLO_OUTPUTS
    return inputs


def reproduce_command():
    """The command that reproduces this run."""
    cmd = "pip install -e . && snakemake --cores 2"
    if own_data():
        cmd += f" --config data={config['data']} missing={config['missing']}"
    return cmd


def all_outputs():
    """Every final output of the default run."""
    return ["results/calibration/population.json", *RESULT_FILES, "reports/replication_report.html"]
