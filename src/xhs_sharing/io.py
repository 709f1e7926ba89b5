"""Writing outputs atomically and deterministically.

Every output is written to a temporary file beside its target and moved into
place with :func:`os.replace`, so an interrupted or failed step never leaves a
half-written result behind. JSON is written with sorted keys and a fixed float
format so the same numbers give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FLOAT_FORMAT = "%.10g"
"""Float format of every CSV table: 10 significant digits, stable across runs."""


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; move it onto ``target`` on success.

    On an exception the temporary file is removed and the target is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates the file private (0600); give it the usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays to plain JSON values, floats to 10 significant digits (NaN -> null)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        # Same 10 significant digits as the CSV tables: the last bits of a float
        # depend on BLAS threading, the printed digits must not.
        return float(FLOAT_FORMAT % f) if math.isfinite(f) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json(obj: Any, target: str | Path) -> None:
    """Write ``obj`` as indented JSON with sorted keys, atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_csv(frame: pd.DataFrame, target: str | Path, index: bool = False) -> None:
    """Write a table as CSV with :data:`FLOAT_FORMAT`, atomically."""
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=index, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_text(text: str, target: str | Path) -> None:
    """Write a text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def setup_logging(log_path: str | Path | None) -> logging.Logger:
    """Send the package's log records to a rule's log file (and stderr when no file is given)."""
    logger = logging.getLogger("xhs_sharing")
    logger.setLevel(logging.INFO)
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler: logging.Handler
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False  # the rule's log file only, not Snakemake's console
    return logger


def run_step(log_path: str | Path | None, step: Callable[[logging.Logger], None]) -> None:
    """Run a workflow step with logging; report a package error in one line and exit non-zero.

    A :class:`xhs_sharing.errors.XhsError` is a diagnosed problem with the
    input: it goes to the log and to stderr without a traceback. Anything else
    is a bug and keeps its traceback.
    """
    from threadpoolctl import threadpool_limits

    from xhs_sharing.errors import XhsError

    logger = setup_logging(log_path)
    try:
        # One BLAS thread per process: parallelism is by process (Snakemake jobs,
        # bootstrap workers), and a fixed thread count keeps results bit-stable
        # whatever --cores is.
        with threadpool_limits(limits=1):
            step(logger)
    except XhsError as exc:
        logger.error("%s", exc)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except Exception:
        logger.exception("unexpected failure")
        raise
