# Stage 5: the self-contained HTML replication report.


rule report:
    input:
        unpack(report_inputs),
    output:
        html=report(
            PATHS["report"],
            caption="../report/replication_report.rst",
            category="Report",
        ),
    params:
        seed=config["synthetic"]["seed"],
        config=config,
        command=reproduce_command(),
        configfiles=config_files(),
        results_dir=contract.RESULTS_DIR,
        montecarlo_dir=montecarlo_dir(),
        robustness_dir=robustness_dir(),
    conda:
        "../../environment.yml"
    log:
        "logs/report/report.log",
    script:
        "../../scripts/report.py"
