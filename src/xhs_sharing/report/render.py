"""Rendering the report: one self-contained HTML file from the context of :mod:`xhs_sharing.report.context`.

The template (``templates/report.html.j2``, package data read through
:class:`jinja2.PackageLoader`) is rendered with autoescape on, so any text
from the spec or the result files (labels, claim statements, file names) is
escaped; the only unescaped content is the SVG that
:func:`xhs_sharing.report.figures.sanitize_svg` has reduced to inert markup.

The page fetches nothing: CSS is inline, figures are inline SVG, there is no
script, and a Content-Security-Policy ``default-src 'none'`` forbids any
request a future edit might add.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from xhs_sharing.io import write_text
from xhs_sharing.report.context import build_context
from xhs_sharing.report.read import ReportError
from xhs_sharing.report.sections.provenance import package_versions

__all__ = ["TEMPLATE_DIR", "TEMPLATE_NAME", "ReportError", "build_context", "package_versions", "render_report",
           "write_report"]
"""``build_context``, ``ReportError`` and ``package_versions`` are re-exported for the callers that import them
from here (``xhs_sharing.pipeline.provenance``, ``tests/test_estimation_problems.py``); their homes are
:mod:`~xhs_sharing.report.context`, :mod:`~xhs_sharing.report.read` and
:mod:`~xhs_sharing.report.sections.provenance`."""

TEMPLATE_DIR: Path | None = None
"""Default template directory: None reads ``xhs_sharing/report/templates`` (package data)."""


TEMPLATE_NAME = "report.html.j2"


def _environment(template_dir: Path | None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=(jinja2.PackageLoader("xhs_sharing.report", "templates") if template_dir is None
                else jinja2.FileSystemLoader(str(template_dir))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(context: dict[str, Any], template_dir: Path | None = TEMPLATE_DIR) -> str:
    """Render ``report.html.j2`` from ``template_dir`` with autoescape on.

    Raises
    ------
    ReportError
        The template is missing or refers to a context key that does not exist.
    """
    try:
        template = _environment(template_dir).get_template(TEMPLATE_NAME)
        return template.render(**context)
    except jinja2.TemplateNotFound as exc:
        raise ReportError(f"report template {exc.name} not found in {template_dir}") from None
    except jinja2.UndefinedError as exc:
        raise ReportError(f"report template uses a value the context does not have: {exc}") from None


def write_report(context: dict[str, Any], target: str | Path, template_dir: Path | None = TEMPLATE_DIR) -> str:
    """Render the report and write it atomically to ``target``; returns the HTML."""
    html = render_report(context, template_dir)
    write_text(html, target)
    return html
