"""lavaan-syntax model descriptions built from the study spec.

The same strings are fitted by semopy and written to ``results/`` so that a
lavaan or Mplus user can refit exactly the same model.
"""

from __future__ import annotations

from xhs_sharing.study.spec import Study


def measurement_syntax(study: Study) -> str:
    """The correlated-factors CFA: one ``=~`` line per construct.

    Latent covariances are left free (semopy and lavaan's ``cfa()`` both free
    them among exogenous latents by default; here every latent is exogenous).
    """
    lines = ["# measurement model"]
    lines += [f"{c.id} =~ " + " + ".join(it.id for it in c.items) for c in study.constructs]
    return "\n".join(lines) + "\n"


def structural_syntax(study: Study) -> str:
    """Measurement model plus every structural regression of the spec.

    Paths whose population value is 0 (e.g. the direct IS, ES, PR, PA -> WSI
    effects) are estimated too, so that mediation can be classified and null
    claims tested. Covariances among the exogenous constructs are stated
    explicitly so that lavaan's ``sem()`` and semopy agree.
    """
    lines = [measurement_syntax(study).rstrip("\n"), "# structural model"]
    for target in study.endogenous:
        preds = [p.source for p in study.paths if p.target == target]
        lines.append(f"{target} ~ " + " + ".join(preds))
    exo = study.exogenous
    if len(exo) > 1:
        lines.append("# covariances among exogenous constructs")
        for i, a in enumerate(exo[:-1]):
            lines.append(f"{a} ~~ " + " + ".join(exo[i + 1 :]))
    return "\n".join(lines) + "\n"


def n_free_parameters(study: Study) -> int:
    """Free parameters of :func:`structural_syntax` (identified by fixing each first loading to 1).

    Loadings (items - constructs), item residual variances (items), exogenous
    variances and covariances (e(e+1)/2), endogenous residual variances, and
    the structural paths.
    """
    n_items, n_constructs, e = len(study.items), len(study.constructs), len(study.exogenous)
    return (n_items - n_constructs) + n_items + e * (e + 1) // 2 + len(study.endogenous) + len(study.paths)


def mediation_triples(study: Study) -> list[tuple[str, str, str]]:
    """Every (x, m, y) chain of the structural model: x -> m -> y with both paths declared."""
    pairs = {(p.source, p.target) for p in study.paths}
    return [
        (x, m, y)
        for x in study.construct_ids
        for m in study.construct_ids
        for y in study.construct_ids
        if (x, m) in pairs and (m, y) in pairs
    ]
