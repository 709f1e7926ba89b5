# Config validation (JSON Schema, defaults filled from the schema) and the
# named input functions of the DAG.

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")


def study_spec_path():
    """Path of the study specification named in the config."""
    return config["study"]


def all_outputs():
    """Every final output of the default run."""
    return [
        "data/synthetic/survey.csv",
        "data/synthetic/codebook.json",
        "results/calibration/population.json",
    ]
