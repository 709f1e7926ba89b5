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
from markupsafe import Markup, escape

from xhs_sharing.io import write_text
from xhs_sharing.report.context import build_context
from xhs_sharing.report.format import arrows, short_label
from xhs_sharing.report.read import ReportError
from xhs_sharing.report.sections.provenance import package_versions

__all__ = ["FILTERS", "TEMPLATE_DIR", "describe_svg", "TEMPLATE_NAME", "ReportError", "build_context", "package_versions", "render_report",
           "write_report"]
"""``build_context``, ``ReportError`` and ``package_versions`` are re-exported for the callers that import them
from here (``xhs_sharing.pipeline.provenance``, ``tests/test_estimation_problems.py``); their homes are
:mod:`~xhs_sharing.report.context`, :mod:`~xhs_sharing.report.read` and
:mod:`~xhs_sharing.report.sections.provenance`."""

TEMPLATE_DIR: Path | None = None
"""Default template directory: None reads ``xhs_sharing/report/templates`` (package data)."""


TEMPLATE_NAME = "report.html.j2"


def describe_svg(svg: str, caption: str) -> Markup:
    """The inline SVG with the figure's caption at the start of its ``<desc>`` (a ``<desc>`` is added
    after the ``<title>`` when there is none), so the caption and the description generated from the
    figure's artists (:func:`xhs_sharing.report.figures.figure_description`) are both read with it.

    ``svg`` is the sanitized markup; ``caption`` is text and is escaped.

    >>> str(describe_svg(Markup('<svg><title>T</title><desc>d</desc></svg>'), 'A & B.'))
    '<svg><title>T</title><desc>A &amp; B. d</desc></svg>'
    >>> str(describe_svg(Markup('<svg role="img"><title>T</title></svg>'), 'Cap'))
    '<svg role="img"><title>T</title><desc>Cap</desc></svg>'
    """
    text, cap = str(svg), str(escape(caption))
    if "<desc>" in text:
        return Markup(text.replace("<desc>", f"<desc>{cap} ", 1))
    if "</title>" in text:
        return Markup(text.replace("</title>", f"</title><desc>{cap}</desc>", 1))
    head = text.index(">") + 1 if text.startswith("<svg") else 0
    return Markup(f"{text[:head]}<desc>{cap}</desc>{text[head:]}")


FILTERS = {"arrows": arrows, "short_label": short_label, "describe_svg": describe_svg}
"""Filters of the template: ``arrows`` writes ASCII ``->`` of visible text as the arrow sign,
``short_label`` gives a container's accessible name, ``describe_svg`` puts a caption in an SVG's ``<desc>``."""


def _environment(template_dir: Path | None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=(jinja2.PackageLoader("xhs_sharing.report", "templates") if template_dir is None
                else jinja2.FileSystemLoader(str(template_dir))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


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
