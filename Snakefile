# Replication of Wang, "The Factors Affecting the Willingness of E-commerce
# Consumer Information Sharing in the New Media Era" (Xiaohongshu).
# One rule file per stage; the whole DAG is the list in all_outputs().

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/measurement.smk"
include: "workflow/rules/structural.smk"
include: "workflow/rules/method_bias.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/montecarlo.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
