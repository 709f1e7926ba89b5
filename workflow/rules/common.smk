# Config validation (JSON Schema, defaults filled from the schema) and the
# named input functions of the DAG.

import os

from snakemake.utils import validate

# semopy orders parameters by iterating over sets, so the order (and the last
# bits of every estimate) would change with Python's hash seed. Fix the seed
# for every script this workflow starts, so reruns give identical bytes.
os.environ.update(PYTHONHASHSEED="0")


validate(config, schema="../schemas/config.schema.yaml")


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


def all_outputs():
    """Every final output of the default run."""
    return [
        "results/calibration/population.json",
        "results/data/items.csv",
        "results/measurement/checks.json",
        "results/claims.json",
    ]
