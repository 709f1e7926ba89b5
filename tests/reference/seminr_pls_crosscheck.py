"""Write the PLS/PLSc cross-check fixtures from the Python port of seminr (tests read them; never run in tests).

seminr (R, Ray, Danks & Calero Valdez; GPL-3) is the software of Hair et al.
(2021), *PLS-SEM Using R*; R's seminr is not installable here (no Debian
package, no CRAN access), so its Python port ``seminr`` 0.2.1 (PyPI,
GPL-3, which reports 1e-5 parity with R-generated fixtures) stands in. It is
a test-only cross-check: install it OUTSIDE the project environment and run

    pip install --no-deps --target /tmp/plsdeps seminr==0.2.1
    PYTHONPATH=/tmp/plsdeps:src python tests/reference/seminr_pls_crosscheck.py

which writes tests/reference/fixtures/pls_seminr_py.csv (long format:
``model, quantity, row, col, value``) for

* ``corp_rep_pls``: Hair et al.'s simple corporate reputation model
  (ch. 3-6), composites (mode A, PLS), path weighting, ``-99`` mean-replaced;
* ``corp_rep_plsc``: the same model with reflective constructs (PLSc);
* ``mobi_plsc``: the ECSI mobile-phone model (Tenenhaus et al. 2005), all
  seven constructs reflective (PLSc), path weighting;
* ``corp_rep_boot``: the path coefficients of the PLS model on the first 20
  bootstrap resamples the package draws for seed 20240917, chunk size 10
  (:func:`xhs_sharing.sem.bootstrap.chunk_indices`), injected into seminr's
  ``bootstrap_model(indices=...)``, so the batched bootstrap can be compared
  replication by replication.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import seminr as sm
from seminr.evaluate.constructs_in_model import constructs_in_model
from seminr.evaluate.validity import htmt, pls_antecedent_vifs

from xhs_sharing.sem.bootstrap import chunk_indices, chunk_sizes

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUT = HERE / "fixtures" / "pls_seminr_py.csv"
BOOT_SEED, BOOT_CHUNK, BOOT_N = 20240917, 10, 20

CORP_PATHS = [("COMP", "CUSA"), ("LIKE", "CUSA"), ("COMP", "CUSL"), ("LIKE", "CUSL"), ("CUSA", "CUSL")]
MOBI_PATHS = [
    ("Image", "Expectation"), ("Image", "Satisfaction"), ("Image", "Loyalty"),
    ("Expectation", "Quality"), ("Expectation", "Value"), ("Expectation", "Satisfaction"),
    ("Quality", "Value"), ("Quality", "Satisfaction"), ("Value", "Satisfaction"),
    ("Satisfaction", "Complaints"), ("Satisfaction", "Loyalty"), ("Complaints", "Loyalty"),
]


def corp_rep_model(kind):
    mm = sm.constructs(
        kind("COMP", sm.multi_items("comp_", [1, 2, 3])),
        kind("LIKE", sm.multi_items("like_", [1, 2, 3])),
        kind("CUSA", sm.single_item("cusa")),
        kind("CUSL", sm.multi_items("cusl_", [1, 2, 3])),
    )
    st = sm.relationships(*[sm.paths(s, t) for s, t in CORP_PATHS])
    data = pd.read_csv(DATA / "corp_rep_data.csv")
    return sm.estimate_pls(data, mm, st, missing=sm.mean_replacement, missing_value=-99)


def mobi_model():
    r = sm.reflective
    mm = sm.constructs(
        r("Image", sm.multi_items("IMAG", [1, 2, 3, 4, 5])),
        r("Expectation", sm.multi_items("CUEX", [1, 2, 3])),
        r("Quality", sm.multi_items("PERQ", [1, 2, 3, 4, 5, 6, 7])),
        r("Value", sm.multi_items("PERV", [1, 2])),
        r("Satisfaction", sm.multi_items("CUSA", [1, 2, 3])),
        r("Complaints", sm.single_item("CUSCO")),
        r("Loyalty", sm.multi_items("CUSL", [1, 2, 3])),
    )
    st = sm.relationships(*[sm.paths(s, t) for s, t in MOBI_PATHS])
    return sm.estimate_pls(pd.read_csv(DATA / "pls_mobi.csv"), mm, st)


def matrix_rows(model_name, quantity, nm):
    return [(model_name, quantity, r, c, float(nm.values[i, j]))
            for i, r in enumerate(nm.rows) for j, c in enumerate(nm.cols)
            if np.isfinite(nm.values[i, j]) and nm.values[i, j] != 0]


def model_rows(name, model):
    rows = matrix_rows(name, "loading", model.outer_loadings)
    rows += matrix_rows(name, "weight", model.outer_weights)
    rows += matrix_rows(name, "path", model.path_coef)
    rows += matrix_rows(name, "rsq", model.r_squared)
    rows += matrix_rows(name, "reliability", sm.reliability_table(model))
    rows += matrix_rows(name, "htmt", htmt(model))
    for dv, by_iv in pls_antecedent_vifs(model, constructs_in_model(model)).items():
        rows += [(name, "vif", iv, dv, float(v)) for iv, v in by_iv.items()]
    for iv, dv in (CORP_PATHS if name.startswith("corp") else MOBI_PATHS):
        rows.append((name, "f2", iv, dv, float(sm.f_squared(model, iv, dv))))
    rows += matrix_rows(name, "total", sm.total_effects(model.path_coef))
    return rows


def boot_rows(model):
    n = model.data.values.shape[0]
    streams = np.random.SeedSequence(BOOT_SEED).spawn(len(chunk_sizes(BOOT_N, BOOT_CHUNK)))
    idx = np.vstack([chunk_indices(s, k, n) for s, k in zip(streams, chunk_sizes(BOOT_N, BOOT_CHUNK), strict=True)])
    boot = sm.bootstrap_model(model, nboot=BOOT_N, indices=idx)
    rows = []
    for b, pc in enumerate(boot.boot_paths):
        rows += [("corp_rep_boot", f"path_{b}", r, c, v) for _, _, r, c, v in matrix_rows("x", "x", pc)]
    return rows


def main() -> None:
    pls_model = corp_rep_model(sm.composite)
    rows = model_rows("corp_rep_pls", pls_model)
    rows += model_rows("corp_rep_plsc", corp_rep_model(sm.reflective))
    rows += model_rows("mobi_plsc", mobi_model())
    rows += boot_rows(pls_model)
    out = pd.DataFrame(rows, columns=["model", "quantity", "row", "col", "value"])
    out.to_csv(OUT, index=False, float_format="%.12g")
    print(f"wrote {len(out)} rows to {OUT}")


if __name__ == "__main__":
    main()
