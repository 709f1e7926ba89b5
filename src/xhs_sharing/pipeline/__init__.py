"""One function per workflow step: plain inputs in, named output tables out.

The Snakemake scripts in ``scripts/`` only read files, call these functions and
write what they return, so every step runs and is tested without Snakemake.
"""
