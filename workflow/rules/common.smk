# Config validation (JSON Schema, defaults filled from the schema), the
# result-file contract every rule takes its paths from, and the named input
# functions of the DAG.

import os
import sys

from snakemake.utils import validate

try:
    from xhs_sharing import results as contract
    from xhs_sharing.pipeline import command
    from xhs_sharing.study import spec as study_spec
except ImportError:  # the package is not installed where snakemake runs (e.g. --use-conda): use the clone's
    sys.path.append(os.path.join(workflow.basedir, "src"))
    from xhs_sharing import results as contract
    from xhs_sharing.pipeline import command
    from xhs_sharing.study import spec as study_spec

# Every result path, by key (src/xhs_sharing/results.py): PATHS["paths"] is results/structural/paths.csv.
PATHS = contract.PATHS

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
    return config["data"] if own_data() else PATHS["synthetic_survey"]


def codebook_input():
    """The codebook of that survey."""
    return PATHS["codebook"] if own_data() else PATHS["synthetic_codebook"]


# The result files the report reads, which the default target asks for.
RESULT_FILES = [PATHS[key] for key in contract.REPORT_RESULTS]

STEPS = ["validate_study", "prepare_data", "measurement", "structural", "claims"]


# Population values of the study spec: the synthetic survey needs them (an error before any job starts
# without a survey file), and without them no Monte Carlo job is scheduled (README, "The Monte Carlo study").
POPULATION = study_spec.population_for_run(
    study_spec_path(), "" if own_data() else "the synthetic survey (a run without a survey file of your own)"
)


def montecarlo_dir():
    """The Monte Carlo study's directory when the report includes it (and the spec has population values), else empty."""
    return contract.MONTECARLO_DIR if config["montecarlo"]["in_report"] and POPULATION.declared else ""


def report_inputs(wildcards):
    """Everything the report reads: results, the data source, step timings."""
    inputs = {
        "results": RESULT_FILES,
        "study": study_spec_path(),
        "survey": survey_input(),
        "source": PATHS["source"],
        "benchmarks": [f"logs/benchmarks/{step}.tsv" for step in STEPS],
    }
    if montecarlo_dir():
        inputs["montecarlo"] = MONTECARLO_OUTPUTS
    return inputs


def reproduce_command():
    """The command that reproduces this run."""
    return command.reproduce_command(config["data"] if own_data() else "", config["missing"])


def all_outputs():
    """Every final output of the run; in strict mode the strict check comes last."""
    outputs = [PATHS["population"], *RESULT_FILES, PATHS["report"]]
    return outputs + [PATHS["strict_check"]] if strict_mode() else outputs
