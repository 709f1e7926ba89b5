# Monte Carlo study: how often a survey reproduces each claim when the
# population model of the study spec is true, by sample size (scatter/gather).
#   snakemake --cores 2 montecarlo
# Replications are split into chunks (montecarlo.chunk_size) per sample size;
# every replication has its own random stream, so the gathered results do not
# depend on the chunking or on --cores. Resources live in workflow/profiles/.
# A spec without population values has no Monte Carlo study: the default
# target schedules none of these jobs (montecarlo_dir() in common.smk), and
# the montecarlo target stops before any job with the missing fields.

MC = config["montecarlo"]

MONTECARLO_OUTPUTS = [PATHS[key] for key in contract.MONTECARLO_RESULTS]


# The Likert settings of the synthetic surveys: the survey's scale (data block), the cut points (synthetic block).
MC_LIKERT = {"scale_points": config["data"]["scale_points"],
             **{k: config["synthetic"][k] for k in ("thresholds", "skew_shift")}}

# Every chunk table: one per sample size and chunk of replications. (A rule
# file with a def fails snakemake --lint; the list needs no wildcards.)
MONTECARLO_CHUNKS = [
    contract.path("montecarlo_chunk", n=n, chunk=c)
    for n in MC["sample_sizes"]
    for c in range(-(-MC["replications"] // MC["chunk_size"]))
]

# The benchmark files of the study's jobs, which the report's run time adds up.
MONTECARLO_BENCHMARKS = [
    *(f"logs/benchmarks/montecarlo/n{n}_c{c}.tsv" for n in MC["sample_sizes"]
      for c in range(-(-MC["replications"] // MC["chunk_size"]))),
    "logs/benchmarks/montecarlo/sensitivity.tsv",
    "logs/benchmarks/montecarlo/gather.tsv",
]


rule montecarlo_chunk:
    input:
        study=study_spec_path(),
    output:
        table=PATHS["montecarlo_chunk"],
    wildcard_constraints:
        n=r"\d+",
        chunk=r"\d+",
    params:
        # [first, stop) replication numbers of the chunk: raising R reruns only the chunks that change
        replications=lambda wildcards: [
            int(wildcards.chunk) * MC["chunk_size"],
            min(MC["replications"], (int(wildcards.chunk) + 1) * MC["chunk_size"]),
        ],
        seed=config["synthetic"]["seed"],
        mc_draws=MC["mc_draws"],
        likert=MC_LIKERT,
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/montecarlo/n{n}_c{chunk}.tsv"
    log:
        "logs/montecarlo/chunks/n{n}_c{chunk}.log",
    script:
        "../../scripts/montecarlo_chunk.py"


rule montecarlo_sensitivity:
    input:
        study=study_spec_path(),
    output:
        table=PATHS["sensitivity"],
    params:
        n=config["synthetic"]["n"],
        effects=MC["sensitivity"]["effects"],
        replications=MC["sensitivity"]["replications"],
        seed=config["synthetic"]["seed"],
        mc_draws=MC["mc_draws"],
        likert=MC_LIKERT,
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/montecarlo/sensitivity.tsv"
    log:
        "logs/montecarlo/sensitivity.log",
    script:
        "../../scripts/montecarlo_chunk.py"


rule montecarlo_gather:
    input:
        study=study_spec_path(),
        chunks=MONTECARLO_CHUNKS,
        sensitivity=PATHS["sensitivity"],
    output:
        replications=PATHS["replications"],
        claim_reproduction=PATHS["claim_reproduction"],
        joint_reproduction=PATHS["joint_reproduction"],
        power=PATHS["power"],
    params:
        sample_sizes=MC["sample_sizes"],
        replications=MC["replications"],
        settings={
            "replications": MC["replications"],
            "sample_sizes": MC["sample_sizes"],
            "mc_draws": MC["mc_draws"],
            "seed": config["synthetic"]["seed"],
            "sensitivity_replications": MC["sensitivity"]["replications"],
        },
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/montecarlo/gather.tsv"
    log:
        "logs/montecarlo/gather.log",
    script:
        "../../scripts/montecarlo_gather.py"


rule montecarlo:
    input:
        # population_for_run raises, naming the missing fields, when the spec declares no population values
        lambda wildcards: MONTECARLO_OUTPUTS
        if study_spec.population_for_run(study_spec_path(), "the Monte Carlo study")
        else [],
