"""The replication report: one self-contained HTML page built from the result files of a run.

Modules, in the order the data flows:

* :mod:`~xhs_sharing.report.read`: read and shape-check the result files (names and columns from
  :mod:`xhs_sharing.results`);
* :mod:`~xhs_sharing.report.sections`: one module per section, turning the results into plain data;
  :mod:`~xhs_sharing.report.tables` and :mod:`~xhs_sharing.report.format` hold the table and number
  formatting they share, :mod:`~xhs_sharing.report.figures` the inline SVG figures;
* :mod:`~xhs_sharing.report.montecarlo`: the plain-language reading of the Monte Carlo tables;
* :mod:`~xhs_sharing.report.context`: :func:`~xhs_sharing.report.context.build_context`, the whole
  template context;
* :mod:`~xhs_sharing.report.render`: the Jinja2 environment (templates are package data) and
  :func:`~xhs_sharing.report.render.write_report`.
"""
