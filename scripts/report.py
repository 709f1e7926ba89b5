"""Snakemake entry point: render the HTML replication report."""

import datetime
import json
from pathlib import Path

import yaml

from xhs_sharing.io import run_step
from xhs_sharing.pipeline.provenance import TIME_FORMAT, run_info
from xhs_sharing.report.context import build_context
from xhs_sharing.report.render import write_report
from xhs_sharing.study.spec import load_study


def main(logger):
    sm = snakemake  # noqa: F821 (provided by Snakemake)
    study = load_study(sm.input.study)
    source = json.loads(Path(sm.input.source).read_text(encoding="utf-8"))
    results = [str(p) for p in sm.input.results]
    info = run_info(
        seed=sm.params.seed,
        command=sm.params.command,
        inputs=[sm.input.survey, sm.input.study, *sm.params.configfiles],
        outputs=results,
        benchmark_files=list(sm.input.benchmarks),
        finished=datetime.datetime.now(datetime.UTC).strftime(TIME_FORMAT),
    )
    config_text = ("# effective configuration of this run (" + ", then ".join(sm.params.configfiles)
                   + ", then any --config values)\n"
                   + yaml.safe_dump(dict(sm.params.config), sort_keys=False))
    mc = Path(sm.params.montecarlo_dir) if sm.params.montecarlo_dir else None
    rob = Path(sm.params.robustness_dir) if sm.params.robustness_dir else None
    context = build_context(Path(sm.params.results_dir), study, config_text,
                            Path(sm.input.study).read_text(encoding="utf-8"), source, info, montecarlo_dir=mc,
                            robustness_dir=rob)
    write_report(context, sm.output.html)
    logger.info("wrote %s (%d claims, data: %s)", sm.output.html, len(study.claims), source["kind"])


run_step(snakemake.log[0], main)  # noqa: F821
