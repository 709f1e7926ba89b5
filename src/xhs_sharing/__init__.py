"""Replication package for Wang's study of information-sharing willingness on Xiaohongshu.

All statistical logic lives in this package as small, typed, tested functions;
the Snakemake workflow only calls them.
"""

__version__ = "0.1.0"
