"""Survey files: loading, validation against the codebook, recoding, missing answers.

Every check here runs before any statistic, and every error names the file,
the column and the offending rows.
"""
