"""The report's reproduce command is shell-quoted: a hostile file name never runs."""

from __future__ import annotations

import shlex
import subprocess

from xhs_sharing.pipeline.command import reproduce_command


def test_synthetic_run_needs_no_config():
    assert reproduce_command("", "listwise") == "pip install -e . && snakemake --cores 2"


def test_a_hostile_file_name_is_one_quoted_word(tmp_path):
    name = "x $(touch PWNED).csv; rm -rf ~ `id`"
    cmd = reproduce_command(name, "fiml")
    snake = cmd.split(" && ", 1)[1]
    assert shlex.split(snake)[-2:] == [f"data={name}", "missing=fiml"]
    # the shell only echoes the words: nothing in them is executed
    out = subprocess.run(["bash", "-c", "printf '%s\\n' " + snake.split(" ", 4)[4]], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [f"data={name}", "missing=fiml"]
    assert not (tmp_path / "PWNED").exists()


def test_the_module_the_snakefile_imports_leaves_logging_alone():
    """Imported while Snakemake parses the workflow: a root log handler would double its log lines."""
    code = ("import logging; import xhs_sharing.pipeline.command, xhs_sharing.results; "
            "print(len(logging.getLogger().handlers))")
    import sys
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"
