# Config validation (JSON Schema, defaults filled from the schema) and the
# named input functions of the DAG.

from snakemake.utils import validate


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
    ]
