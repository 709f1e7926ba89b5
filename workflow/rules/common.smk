# Config validation (JSON Schema, defaults filled from the schema), the
# result-file contract every rule takes its paths from, and the named input
# functions of the DAG.

import os
import sys
from pathlib import Path

import yaml
from snakemake.common.configfile import load_configfile
from snakemake.utils import validate

try:
    from xhs_sharing import results as contract
    from xhs_sharing.pipeline import command, configuration
    from xhs_sharing.study import runcheck
    from xhs_sharing.study import spec as study_spec
    from xhs_sharing.analysis import robustness as robustness_grid_module
except ImportError:  # the package is not installed where snakemake runs (e.g. --use-conda): use the clone's
    sys.path.append(os.path.join(workflow.basedir, "src"))
    from xhs_sharing import results as contract
    from xhs_sharing.pipeline import command, configuration
    from xhs_sharing.study import runcheck
    from xhs_sharing.study import spec as study_spec
    from xhs_sharing.analysis import robustness as robustness_grid_module

# Every result path, by key (src/xhs_sharing/results.py): PATHS["paths"] is results/structural/paths.csv.
PATHS = contract.PATHS

# semopy orders parameters by iterating over sets, so the order (and the last
# bits of every estimate) would change with Python's hash seed. Fix the seed
# for every script this workflow starts, so reruns give identical bytes.
os.environ.update(PYTHONHASHSEED="0")


CONFIG_SCHEMA = yaml.safe_load(Path(workflow.basedir, "workflow", "schemas", "config.schema.yaml").read_text())

# The --configfile files of the run (absolute, in order) and its --config values as Snakemake parsed them.
CLI_CONFIGFILES = [Path(f) for f in workflow.config_settings.configfiles]
CLI_CONFIG = dict(workflow.config_settings.config)


def config_files():
    """Every config file of the run, in merge order: the Snakefile's, then each --configfile (relative when inside)."""
    cli = {f.absolute() for f in CLI_CONFIGFILES}
    own = [Path(f) for f in workflow.configfiles if Path(f).absolute() not in cli]
    return [os.path.relpath(f) if Path(os.path.relpath(f)).parts[:1] != ("..",) else str(f.absolute())
            for f in [*own, *CLI_CONFIGFILES]]


# data=path.csv (from --config or a config file) replaces the whole data block when Snakemake merges: rebuild
# it from every source in order, a string standing for {path: ...}; then coerce the text --config gives.
config["data"] = configuration.data_block(
    [load_configfile(f).get("data") for f in config_files()] + [CLI_CONFIG.get("data")]
)
config.update(configuration.coerce_config(config, CONFIG_SCHEMA))
validate(config, schema="../schemas/config.schema.yaml")
configuration.check_cross_fields(config, "config (config/config.yaml, --configfile, --config)")


def study_spec_path():
    """Path of the study specification named in the config."""
    return config["study"]


def own_data():
    """True when the user named a survey file (--config data=...)."""
    return bool(config["data"]["path"])


def survey_input():
    """The survey the analyses run on: the user's file, or the synthetic one."""
    return config["data"]["path"] if own_data() else PATHS["synthetic_survey"]


def codebook_input():
    """The codebook of that survey."""
    return PATHS["codebook"] if own_data() else PATHS["synthetic_codebook"]


# The result files the report reads, which the default target asks for.
RESULT_FILES = [PATHS[key] for key in contract.REPORT_RESULTS]

STEPS = ["validate_study", "prepare_data", "diagnostics", "measurement", "structural", "claims", "method_bias"]


# The whole study spec is checked here, before any job starts (schema, cross-field rules, population model),
# each error naming the file and the field. The synthetic survey needs population values (an error without a
# survey file), and without them no Monte Carlo job is scheduled (README, "The Monte Carlo study").
STUDY, POPULATION = runcheck.check_spec_for_run(
    study_spec_path(), "" if own_data() else "the synthetic survey (a run without a survey file of your own)"
)


def pls_outputs():
    """The PLS tables the structural rule writes under estimator PLS or PLSc (none otherwise), by key."""
    return {key: PATHS[key] for key in contract.PLS_RESULTS} if config["estimator"] in configuration.PLS_ESTIMATORS else {}


def montecarlo_dir():
    """The Monte Carlo study's directory when the report includes it (and the spec has population values), else empty."""
    return contract.MONTECARLO_DIR if config["montecarlo"]["in_report"] and POPULATION.declared else ""


def robustness_grid(settings):
    """The robustness specifications that exist and the excluded combinations (none when the stage is off)."""
    if not settings["enabled"]:
        return [], []
    return robustness_grid_module.specification_grid(settings["estimators"], settings["missing"], settings["models"],
                                                     complete_data=not own_data())


def robustness_dir():
    """The robustness stage's directory when the stage runs, else empty."""
    return contract.ROBUSTNESS_DIR if config["robustness"]["enabled"] else ""


def report_inputs(wildcards):
    """Everything the report reads: results, the data source, the timings of every job (Monte Carlo included)."""
    steps = [*STEPS, "codebook" if own_data() else "simulate_survey"]
    inputs = {
        "results": RESULT_FILES,
        "study": study_spec_path(),
        "survey": survey_input(),
        "source": PATHS["source"],
        "diagnostics": PATHS["diagnostics"],
        "benchmarks": [f"logs/benchmarks/{step}.tsv" for step in steps],
    }
    if montecarlo_dir():
        inputs["montecarlo"] = MONTECARLO_OUTPUTS
        inputs["benchmarks"] += MONTECARLO_BENCHMARKS
    if robustness_dir():
        inputs["robustness"] = ROBUSTNESS_OUTPUTS
        inputs["benchmarks"] += ROBUSTNESS_BENCHMARKS
    return inputs


def reproduce_command():
    """The command that reproduces this run: its --configfile files and --config values, each shell-quoted."""
    cli = config_files()[len(config_files()) - len(CLI_CONFIGFILES):]
    return command.reproduce_command(cli, configuration.coerce_config(CLI_CONFIG, CONFIG_SCHEMA))


def all_outputs():
    """Every final output of the run; in strict mode the strict check comes last."""
    outputs = [PATHS["population"], *RESULT_FILES, *(ROBUSTNESS_OUTPUTS if robustness_dir() else []), PATHS["report"]]
    return outputs + [PATHS["strict_check"]] if config["strict"] else outputs
