"""The self-contained HTML replication report.

Reads the result tables, formats them (:mod:`.format`), draws the figures as
sanitized inline SVG (:mod:`.figures`) and renders the Jinja2 template shipped
as package data with autoescaping on (:mod:`.render`).
"""
