"""One module per section of the report; each turns the result files into the plain data its template part shows.

Every ``*_view`` function takes the parsed result files (and the study spec
where labels come from it) and returns strings, numbers, lists and dicts:
formatted numbers (:mod:`xhs_sharing.report.format`) and tables
(:mod:`xhs_sharing.report.tables`). None of them reads a file or renders HTML.
"""
