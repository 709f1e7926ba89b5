"""lavaan-syntax model descriptions built from the study spec.

The same strings are fitted by semopy and written to ``results/`` so that a
lavaan or Mplus user can refit exactly the same model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


MEDIATOR_SEP = "->"
"""Joins the mediators of a chain in the ``mediator`` column of the indirect effects (``"M1->M2"``)."""


def mediator_label(mediators: Sequence[str]) -> str:
    """The ``mediator`` cell of a chain: its mediators joined by :data:`MEDIATOR_SEP`.

    >>> mediator_label(["SN"]), mediator_label(["M1", "M2"])
    ('SN', 'M1->M2')
    """
    return MEDIATOR_SEP.join(mediators)


def directed_chains(links: Iterable[tuple[str, str]], order: Sequence[str]) -> list[tuple[str, ...]]:
    """Every directed path of two or more links through ``links`` (``(source, target)`` pairs).

    The chains ``(x, m1, ..., mk, y)``, ``k >= 1``, of an acyclic graph,
    sorted by the positions of their names in ``order`` (lexicographically:
    for one-mediator chains ``x``, then ``m``, then ``y``). Depth-first from
    every node; a cycle raises :class:`ValueError` (a recursive model has
    infinitely many chains).

    >>> directed_chains([("X", "M1"), ("M1", "M2"), ("M2", "Y"), ("X", "Y")], ["X", "M1", "M2", "Y"])
    [('X', 'M1', 'M2'), ('X', 'M1', 'M2', 'Y'), ('M1', 'M2', 'Y')]
    """
    pos = {v: k for k, v in enumerate(order)}
    succ: dict[str, list[str]] = {}
    for source, target in links:
        succ.setdefault(source, []).append(target)
    out: list[tuple[str, ...]] = []

    def extend(chain: tuple[str, ...]) -> None:
        for nxt in succ.get(chain[-1], []):
            if nxt in chain:
                raise ValueError(f"the paths form a cycle through {nxt}")
            longer = (*chain, nxt)
            if len(longer) >= 3:
                out.append(longer)
            extend(longer)

    for start in order:
        extend((start,))
    return sorted(out, key=lambda c: [pos[v] for v in c])


def mediation_chains(study: Study) -> list[tuple[str, ...]]:
    """Every chain ``x -> m1 -> ... -> y`` of two or more declared paths.

    All of them, so that the specific indirect effects of each ``(x, y)``
    pair sum to its total indirect effect; in construct order
    (:func:`directed_chains`). A study whose paths form no chain longer
    than two links gives exactly :func:`mediation_triples`.
    """
    return directed_chains([(p.source, p.target) for p in study.paths], study.construct_ids)


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
