"""The study: its specification, population model and synthetic survey.

:mod:`.spec` reads and validates ``study.yaml`` (constructs, items, paths,
claims); :mod:`.population` turns its population values into covariance
matrices; :mod:`.synthetic` draws Likert surveys from them; :mod:`.syntax`
writes the lavaan syntax of the measurement and structural models.
"""
