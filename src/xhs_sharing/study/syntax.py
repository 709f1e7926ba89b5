"""lavaan-syntax model descriptions built from the study spec.

The same strings are fitted by semopy and written to ``results/`` so that a
lavaan or Mplus user can refit exactly the same model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from xhs_sharing.study.spec import Study


def single_item_constructs(study: Study) -> list[str]:
    """Constructs measured by one item, in declaration order."""
    return [c.id for c in study.constructs if len(c.items) == 1]


def two_item_constructs(study: Study) -> list[str]:
    """Constructs measured by two items, in declaration order."""
    return [c.id for c in study.constructs if len(c.items) == 2]


def measurement_syntax(study: Study) -> str:
    """The correlated-factors CFA: one ``=~`` line per construct.

    Latent covariances are left free (semopy and lavaan's ``cfa()`` both free
    them among exogenous latents by default; here every latent is exogenous).
    A construct with a single item gets that item's residual variance fixed
    at 0 (``item ~~ 0*item``, the single-indicator specification: the
    construct *is* the item), as the measurement step's CFA
    (:func:`xhs_sharing.analysis.measurement.cfa_syntax`) fixes it; free, the
    construct's variance and the item's residual variance are not both identified.
    """
    lines = ["# measurement model"]
    for c in study.constructs:
        lines.append(f"{c.id} =~ " + " + ".join(it.id for it in c.items))
    single = [study.construct(cid).items[0].id for cid in single_item_constructs(study)]
    if single:
        lines.append("# single-item constructs: the item is the construct (residual variance fixed at 0)")
        lines += [f"{item} ~~ 0*{item}" for item in single]
    return "\n".join(lines) + "\n"


def identification_notes(study: Study) -> list[str]:
    """What the log and the report say about constructs with fewer than three items.

    One item: its residual variance is fixed at 0 in both the measurement and
    the structural model (:func:`measurement_syntax`), so the construct is
    the item, measured without error; its reliability, AVE and HTMT are undefined.
    Two items: the construct is identified only through its correlations with
    the other constructs (a lone two-indicator factor is not identified:
    Bollen's 1989 two-indicator rule needs a nonzero correlation with another
    factor), so its loadings are unstable when those correlations are weak.

    >>> from xhs_sharing.study.spec import Construct, Item, Study
    >>> def c(cid, n): return Construct(cid, cid, "d", "", "exogenous", tuple(
    ...     Item(f"{cid.lower()}{k}", cid, None, "t") for k in range(n)))
    >>> identification_notes(Study("t", (c("A", 1), c("B", 2), c("C", 3)), None, (), ()))[0][:45]
    'A has a single item (a0): its residual varian'
    """
    notes = [f"{cid} has a single item ({study.construct(cid).items[0].id}): its residual variance is fixed at 0 in "
             "the measurement and the structural model, so the construct is that item, measured without error; "
             "its reliability, AVE and HTMT are undefined" for cid in single_item_constructs(study)]
    notes += [f"{cid} has two items ({', '.join(it.id for it in study.construct(cid).items)}): it is identified "
              "only through its correlations with the other constructs, and its loadings are unstable when those "
              "correlations are weak; three or more items per construct are recommended" for cid in two_item_constructs(study)]
    return notes


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

    Loadings (items - constructs), item residual variances (items, less one per
    single-item construct, whose residual variance is fixed at 0), exogenous
    variances and covariances (e(e+1)/2), endogenous residual variances, and
    the structural paths.
    """
    n_items, n_constructs, e = len(study.items), len(study.constructs), len(study.exogenous)
    residuals = n_items - len(single_item_constructs(study))  # a single item's residual variance is fixed at 0
    return (n_items - n_constructs) + residuals + e * (e + 1) // 2 + len(study.endogenous) + len(study.paths)


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
