# Robustness stage (multiverse): every claim judged under every specification
# of the config's robustness grid, one job per estimator x missing-data
# handling x structural model (so --cores N and the SLURM profile spread
# them), then one gather job. Each job uses the structural step's seeds and
# bootstrap settings, so the results do not depend on --cores, and the main
# specification repeats claims.json. Alone: snakemake --cores 2 robustness

ROB = config["robustness"]

# The specifications that exist, and the combinations that do not (with the reason).
ROBUSTNESS_RUN, ROBUSTNESS_EXCLUDED = robustness_grid(ROB)

ROBUSTNESS_OUTPUTS = [PATHS[key] for key in contract.ROBUSTNESS_RESULTS]

ROBUSTNESS_SPECS = [contract.path("robustness_spec", spec=s.name) for s in ROBUSTNESS_RUN]

ROBUSTNESS_BENCHMARKS = [
    *(f"logs/benchmarks/robustness/{s.name}.tsv" for s in ROBUSTNESS_RUN),
    "logs/benchmarks/robustness/gather.tsv",
]


rule robustness_spec:
    input:
        table=PATHS["items"],
        study=study_spec_path(),
        # the diagnostics and the measurement step gate every model: a survey or a setting they stop
        # starts no specification (and leaves no robustness output)
        diagnostics=PATHS["diagnostics"],
        measurement=PATHS["cfa_fit"],
    output:
        doc=PATHS["robustness_spec"],
    wildcard_constraints:
        spec=r"[A-Za-z]+-[a-z]+-[a-z_]+",
    params:
        seed=config["synthetic"]["seed"],
        settings=config["structural"],
        intervals=ROB["intervals"],
    # one core per specification: the batched refits run in one process, so --cores 2 runs two specifications
    # at once (the WLSMV ones dominate: ~90 s of CPU each for 5,000 resamples); results do not depend on it
    threads: 1
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/robustness/{spec}.tsv"
    log:
        "logs/robustness/{spec}.log",
    script:
        "../../scripts/robustness_spec.py"


rule robustness_gather:
    input:
        study=study_spec_path(),
        docs=ROBUSTNESS_SPECS,
    output:
        specifications=PATHS["robustness_specifications"],
        summary=PATHS["robustness_summary"],
        excluded=PATHS["robustness_excluded"],
        nested=PATHS["robustness_nested"],
    params:
        excluded=[
            {"estimator": e.specification.estimator, "missing": e.specification.missing,
             "model": e.specification.model, "status": "excluded", "reason": e.reason}
            for e in ROBUSTNESS_EXCLUDED
        ],
        estimator=config["estimator"],
        missing=config["data"]["missing"],
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/robustness/gather.tsv"
    log:
        "logs/robustness/gather.log",
    script:
        "../../scripts/robustness_gather.py"


rule robustness:
    input:
        ROBUSTNESS_OUTPUTS,
