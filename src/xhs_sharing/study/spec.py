"""The study specification: constructs, items, structural paths and claims.

Population values (item ``loading``, path ``std``, ``exogenous_correlation``)
are optional: a spec for observed data needs none. They are declared all
together or not at all (:func:`population_status`); only the synthetic survey
and the Monte Carlo study use them (:func:`require_population`). The optional
``source`` block says what the study replicates and what that source
publishes (:class:`Source`); the report's sentences about a source follow
from it alone.

``config/study.yaml`` is checked in two layers: the JSON Schema
``study.schema.yaml`` shipped as package data in ``xhs_sharing/schemas``
(``workflow/schemas`` links to it; types, required fields, ranges), then
the cross-field rules of :func:`check_study` (unique ids, paths between
declared constructs, an acyclic structural model, claims that refer to paths
of the model). Snakemake runs the schema through ``snakemake.utils.validate``;
the package runs both layers itself when used without Snakemake.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from xhs_sharing.errors import SpecError

SCHEMA_DIR = importlib.resources.files("xhs_sharing") / "schemas"
"""Where the JSON Schemas of the config files live: package data, so an installed wheel has them."""

ID_COLUMN = "respondent_id"
"""The respondent id column of every survey file and codebook: no item may have this id."""

SCHEMA_HINTS: dict[tuple[str, str], str] = {
    ("claims", "minItems"): ("the package checks claims, so a study needs at least one, e.g. {id: X->Y, kind: path, "
                             "path: [X, Y], expected: positive_significant, statement: ...}"),
}
"""Extra advice appended to a schema error, by (field, JSON Schema keyword)."""


@dataclass(frozen=True)
class Item:
    """One Likert item: its id, standardized population loading (None when not declared) and wording."""

    id: str
    construct: str
    loading: float | None
    text: str
    reverse: bool = False


@dataclass(frozen=True)
class Construct:
    """A latent construct measured by a few items."""

    id: str
    label: str
    definition: str
    section: str
    role: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Path_:
    """A structural regression ``to ~ from`` with its standardized population value (None when not declared)."""

    source: str
    target: str
    std: float | None


@dataclass(frozen=True)
class Claim:
    """One finding of the paper, to be checked against the estimates."""

    id: str
    kind: str
    path: tuple[str, ...]
    expected: str
    section: str
    statement: str


@dataclass(frozen=True)
class Source:
    """What the study replicates (the spec's optional ``source`` block; defaults in the schema).

    Attributes
    ----------
    kind : str
        What the source is, as the report names it (``"paper"``: "the paper").
    publishes_estimates, reports_sample_size : bool
        False when the source publishes no estimates / no sample size; the
        report's limitations say so only then.
    instrument : str
        Where the item wordings come from (empty: nothing is said).
    qualitative_note : str
        The sentence that introduces the qualitative entries (empty: a neutral one).
    respondents : str
        Who the source's survey is about, plural (empty: not named).
    """

    kind: str
    publishes_estimates: bool
    reports_sample_size: bool
    instrument: str = ""
    qualitative_note: str = ""
    respondents: str = ""

    @property
    def name(self) -> str:
        """``"the paper"``."""
        return f"the {self.kind}"


@dataclass(frozen=True)
class PopulationStatus:
    """Which population values a spec declares: all (``declared``), none, or some (an error).

    Attributes
    ----------
    present : bool
        At least one population value is given.
    missing : tuple of str
        The fields without a value, as the spec names them
        (``constructs/IS/items/is1/loading``, ``paths/IS->SN/std``, ``exogenous_correlation``).
    n_items, n_paths : int
        How many items and paths the spec has (to say "every item" rather than list them).
    """

    present: bool
    missing: tuple[str, ...]
    n_items: int = 0
    n_paths: int = 0

    @property
    def declared(self) -> bool:
        """Every population value is given."""
        return not self.missing

    @property
    def partial(self) -> bool:
        """Some population values are given and some are not (an invalid spec)."""
        return self.present and bool(self.missing)

    def describe(self, limit: int = 10) -> str:
        """The missing fields: ``"loading of every item (25)"`` when none has one, else the first ``limit`` by name.

        Examples
        --------
        >>> PopulationStatus(True, ("constructs/A/items/a1/loading", "exogenous_correlation"), 2, 1).describe()
        'constructs/A/items/a1/loading; exogenous_correlation'
        >>> PopulationStatus(False, ("constructs/A/items/a1/loading", "constructs/A/items/a2/loading"), 2, 0).describe()
        'loading of every item (2)'
        """
        parts = []
        for suffix, total, whole in (("/loading", self.n_items, "loading of every item"),
                                     ("/std", self.n_paths, "std of every path")):
            fields = [m for m in self.missing if m.endswith(suffix)]
            if fields and len(fields) == total:
                parts.append(f"{whole} ({total})")
            elif fields:
                parts.append(", ".join(fields[:limit]) + (f" and {len(fields) - limit} more" if len(fields) > limit else ""))
        parts += [m for m in self.missing if m == "exogenous_correlation"]
        return "; ".join(parts)


POPULATION_FIELDS = "item loading, path std, exogenous_correlation"
"""The population values of a spec, as messages name them."""


@dataclass(frozen=True)
class Study:
    """The whole study specification, validated.

    ``exogenous_correlation``, item loadings and path ``std`` are None when
    the spec declares no population values (:attr:`has_population`);
    ``source`` is None when the spec has no ``source`` block; ``spec_file``
    names the file the spec was read from, for messages.
    """

    title: str
    constructs: tuple[Construct, ...]
    exogenous_correlation: float | None
    paths: tuple[Path_, ...]
    claims: tuple[Claim, ...]
    qualitative: tuple[dict[str, str], ...] = ()
    citation: str = ""
    source: Source | None = None
    spec_file: str = "study spec"
    population: PopulationStatus = PopulationStatus(present=True, missing=())
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_population(self) -> bool:
        """The spec declares every population value (the synthetic survey and Monte Carlo study can run)."""
        return self.population.declared

    @property
    def section_label(self) -> str:
        """Heading of the column of source sections: ``"Paper section"``, or ``"Section"`` without a source."""
        return f"{self.source.kind.capitalize()} section" if self.source else "Section"

    @property
    def construct_ids(self) -> list[str]:
        """Construct ids in declaration order."""
        return [c.id for c in self.constructs]

    @property
    def items(self) -> list[Item]:
        """Every item, construct by construct, in declaration order."""
        return [it for c in self.constructs for it in c.items]

    @property
    def item_ids(self) -> list[str]:
        """Every item id in declaration order (the survey's column order)."""
        return [it.id for it in self.items]

    @property
    def items_by_construct(self) -> dict[str, list[str]]:
        """Construct id -> its item ids."""
        return {c.id: [it.id for it in c.items] for c in self.constructs}

    @property
    def exogenous(self) -> list[str]:
        """Constructs with no incoming structural path."""
        return [c.id for c in self.constructs if c.role == "exogenous"]

    @property
    def endogenous(self) -> list[str]:
        """Constructs with at least one incoming structural path, in topological order."""
        return topological_order(self)

    def construct(self, cid: str) -> Construct:
        """The construct with id ``cid``."""
        for c in self.constructs:
            if c.id == cid:
                return c
        raise KeyError(cid)


def load_schema(name: str, schema_dir: Path | None = None) -> dict[str, Any]:
    """Read a JSON Schema (written in YAML) shipped with the package.

    Parameters
    ----------
    name : str
        File name, e.g. ``"study.schema.yaml"``.
    schema_dir : Path, optional
        Directory holding the schemas; defaults to :data:`SCHEMA_DIR`
        (``xhs_sharing/schemas``, read with :mod:`importlib.resources`).
    """
    path = (schema_dir if schema_dir is not None else SCHEMA_DIR) / name
    if not path.is_file():
        raise SpecError(f"schema file {name} not found in {schema_dir or 'the xhs_sharing package data'}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _fill_defaults(instance: Any, schema: dict[str, Any]) -> Any:
    """Fill ``default`` values of object properties, recursively (as Snakemake's validate does)."""
    if isinstance(instance, dict) and schema.get("type") == "object":
        for key, sub in schema.get("properties", {}).items():
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                _fill_defaults(instance[key], sub)
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for element in instance:
            _fill_defaults(element, schema["items"])
    return instance


def config_defaults() -> dict[str, Any]:
    """The run configuration a ``config/config.yaml`` that sets nothing gets: every default of its JSON Schema.

    ``config.schema.yaml`` is the one place that holds the defaults of the
    run's settings; package functions that give a setting a default take it
    from here, so a Python caller using the defaults gets the numbers of the
    pipeline run with the default configuration.  Nested sections are filled
    as Snakemake's ``validate`` fills them (e.g.
    ``config_defaults()["structural"]["chunk_size"]``).
    """
    return copy.deepcopy(_schema_defaults())


@functools.lru_cache(maxsize=1)
def _schema_defaults() -> dict[str, Any]:
    return _fill_defaults({}, load_schema("config.schema.yaml"))


def validate_against_schema(data: Any, schema: dict[str, Any], source: str) -> dict[str, Any]:
    """Validate ``data`` against ``schema``, fill defaults, and raise a :class:`SpecError` naming the field.

    Parameters
    ----------
    data : Any
        The parsed YAML document.
    schema : dict
        JSON Schema (draft 2020-12).
    source : str
        File name used in the error message.

    Returns
    -------
    dict
        A deep copy of ``data`` with schema defaults filled in.
    """
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for err in errors[:10]:
            where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
            hint = SCHEMA_HINTS.get((where, str(err.validator)))
            lines.append(f"  field {where}: {err.message}" + (f" ({hint})" if hint else ""))
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise SpecError(f"{source} is invalid:\n" + "\n".join(lines) + more)
    return _fill_defaults(copy.deepcopy(data), schema)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file, turning I/O and syntax problems into a :class:`SpecError`."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise SpecError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def population_status(data: Any) -> PopulationStatus:
    """Which population values a parsed spec declares, read leniently (no schema check).

    Population values are every item's ``loading``, every path's ``std`` and,
    with two or more exogenous constructs, ``exogenous_correlation``. Used by
    :func:`check_study` and, before any job starts, by the workflow (which
    needs no valid spec for it: malformed parts are skipped here and reported
    by the schema check).

    Examples
    --------
    >>> population_status({"constructs": [], "paths": [{"from": "A", "to": "B"}]}).missing
    ('paths/A->B/std',)
    """
    data = _as_dict(data)
    constructs = [_as_dict(c) for c in _as_list(data.get("constructs"))]
    paths = [_as_dict(p) for p in _as_list(data.get("paths"))]
    given: list[bool] = []
    missing: list[str] = []
    for c in constructs:
        for it in (_as_dict(i) for i in _as_list(c.get("items"))):
            given.append("loading" in it)
            if "loading" not in it:
                missing.append(f"constructs/{c.get('id')}/items/{it.get('id')}/loading")
    for p in paths:
        given.append("std" in p)
        if "std" not in p:
            missing.append(f"paths/{p.get('from')}->{p.get('to')}/std")
    n_exogenous = sum(c.get("role") == "exogenous" for c in constructs)
    if "exogenous_correlation" in data:
        given.append(True)
    elif n_exogenous > 1:
        given.append(False)
        missing.append("exogenous_correlation")
    n_items = sum(len(_as_list(c.get("items"))) for c in constructs)
    return PopulationStatus(present=any(given), missing=tuple(missing), n_items=n_items, n_paths=len(paths))


def require_population(study: Study, purpose: str) -> None:
    """Raise a :class:`SpecError` naming the spec file and the missing fields when ``study`` has no population values.

    Parameters
    ----------
    study : Study
        The validated spec.
    purpose : str
        What needs them, e.g. ``"the synthetic survey"``.
    """
    if not study.has_population:
        raise SpecError(missing_population_message(study.spec_file, study.population, purpose))


def missing_population_message(spec_file: str, status: PopulationStatus, purpose: str) -> str:
    """The message of a run that needs population values the spec at ``spec_file`` does not declare."""
    return (f"{spec_file}: {purpose} needs the population values of the study spec ({POPULATION_FIELDS}), "
            f"and it declares none: missing {status.describe()}")


def partial_population_message(spec_file: str, status: PopulationStatus) -> str:
    """The message of a spec that gives some population values but not all."""
    return (f"{spec_file}: population values ({POPULATION_FIELDS}) must be given for all or none, but some are "
            f"given and these are missing: {status.describe(limit=20)}")


def population_for_run(spec_file: str | Path, needed_by: str = "") -> PopulationStatus:
    """The population values of the spec at ``spec_file``, checked for a run before any job starts.

    The workflow calls this while it builds the DAG. Some but not all
    population values is an error in any run; ``needed_by`` names what needs
    them in this run (``"the synthetic survey"`` for a run without a survey
    file, ``"the Monte Carlo study"`` for its target), and then none is an
    error too. Reads the YAML only (the schema check is the
    ``validate_study`` rule's).

    Raises
    ------
    SpecError
        Naming ``spec_file`` and the missing fields.
    """
    status = population_status(read_yaml(spec_file))
    if status.partial:
        raise SpecError(partial_population_message(str(spec_file), status))
    if needed_by and not status.declared:
        raise SpecError(missing_population_message(str(spec_file), status, needed_by))
    return status


def _source(block: dict[str, Any] | None) -> Source | None:
    if block is None:
        return None
    return Source(kind=str(block["kind"]), publishes_estimates=bool(block["publishes_estimates"]),
                  reports_sample_size=bool(block["reports_sample_size"]),
                  instrument=" ".join(str(block["instrument"]).split()),
                  qualitative_note=" ".join(str(block["qualitative_note"]).split()),
                  respondents=" ".join(str(block["respondents"]).split()))


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def study_from_dict(data: dict[str, Any], source: str = "study spec") -> Study:
    """Build a :class:`Study` from a parsed document, checking schema and cross-field rules.

    ``source`` names the document in messages (the file name) and becomes :attr:`Study.spec_file`.
    """
    data = validate_against_schema(data, load_schema("study.schema.yaml"), source)
    constructs = tuple(
        Construct(
            id=c["id"],
            label=c["label"],
            definition=c["definition"].strip(),
            section=str(c["section"]),
            role=c["role"],
            items=tuple(
                Item(
                    id=it["id"],
                    construct=c["id"],
                    loading=_optional_float(it.get("loading")),
                    text=it["text"],
                    reverse=bool(it.get("reverse", False)),
                )
                for it in c["items"]
            ),
        )
        for c in data["constructs"]
    )
    study = Study(
        title=" ".join(data["title"].split()),
        constructs=constructs,
        exogenous_correlation=_optional_float(data.get("exogenous_correlation")),
        paths=tuple(Path_(p["from"], p["to"], _optional_float(p.get("std"))) for p in data["paths"]),
        claims=tuple(
            Claim(
                id=cl["id"],
                kind=cl["kind"],
                path=tuple(cl["path"]),
                expected=cl["expected"],
                section=str(cl["section"]),
                statement=cl["statement"],
            )
            for cl in data["claims"]
        ),
        qualitative=tuple(
            {k: " ".join(str(v).split()) for k, v in q.items()} for q in data.get("qualitative", [])
        ),
        citation=" ".join(data.get("citation", "").split()),
        source=_source(data.get("source")),
        spec_file=source,
        population=population_status(data),
        raw=data,
    )
    check_study(study, source)
    return study


def load_study(path: str | Path) -> Study:
    """Read and validate ``config/study.yaml`` (schema, then cross-field rules).

    Raises
    ------
    SpecError
        With the file name and the offending field.
    """
    return study_from_dict(read_yaml(path), source=str(path))


def topological_order(study: Study, source: str = "study spec") -> list[str]:
    """Endogenous constructs ordered so every predictor comes before its outcome.

    Raises
    ------
    SpecError
        If the structural paths contain a cycle (non-recursive models are not supported).
    """
    preds: dict[str, set[str]] = {}
    for p in study.paths:
        preds.setdefault(p.target, set()).add(p.source)
    order: list[str] = []
    done = set(study.exogenous)
    pending = [c for c in study.construct_ids if c in preds]
    while pending:
        ready = [c for c in pending if preds[c] <= done]
        if not ready:
            raise SpecError(
                f"{source}: field paths: structural paths form a cycle among " + ", ".join(sorted(pending))
                + "; only recursive (acyclic) models are supported"
            )
        for c in ready:
            order.append(c)
            done.add(c)
        pending = [c for c in pending if c not in done]
    return order


def _duplicates(values: list[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


def _check_ids(study: Study, source: str) -> None:
    """Construct and item ids are unique, and no id names both."""
    ids, items = study.construct_ids, study.item_ids
    if dup := _duplicates(ids):
        raise SpecError(f"{source}: field constructs: duplicated construct id(s) {dup}")
    if dup := _duplicates(items):
        raise SpecError(f"{source}: field constructs/items: duplicated item id(s) {dup}")
    if clash := sorted(set(ids) & set(items)):
        raise SpecError(f"{source}: ids used both for a construct and an item: {clash}")
    for c in study.constructs:
        for k, it in enumerate(c.items):
            if it.id.lower() == ID_COLUMN:
                raise SpecError(f"{source}: field constructs/{c.id}/items/{k}: item id {it.id!r} is the survey's "
                                f"respondent id column ({ID_COLUMN}); give the item another id")


def _check_paths(study: Study, source: str) -> set[tuple[str, str]]:
    """Every path joins two different declared constructs, once; returns the declared pairs."""
    ids = study.construct_ids
    seen: set[tuple[str, str]] = set()
    for k, p in enumerate(study.paths):
        for end in (p.source, p.target):
            if end not in ids:
                raise SpecError(f"{source}: field paths/{k}: unknown construct {end!r} (declared: {ids})")
        if p.source == p.target:
            raise SpecError(f"{source}: field paths/{k}: {p.source} cannot predict itself")
        if (p.source, p.target) in seen:
            raise SpecError(f"{source}: field paths/{k}: path {p.source}->{p.target} declared twice")
        seen.add((p.source, p.target))
    return seen


def _check_roles(study: Study, source: str) -> None:
    """Exogenous constructs have no incoming path; endogenous ones have at least one."""
    targets = {p.target for p in study.paths}
    for c in study.constructs:
        if c.role == "exogenous" and c.id in targets:
            raise SpecError(f"{source}: construct {c.id} is declared exogenous but has incoming paths")
        if c.role == "endogenous" and c.id not in targets:
            raise SpecError(f"{source}: construct {c.id} is declared endogenous but has no incoming path")


def _check_claims(study: Study, source: str, pairs: set[tuple[str, str]]) -> None:
    """Claim ids are unique and every claim follows declared paths."""
    if dup := _duplicates([cl.id for cl in study.claims]):
        raise SpecError(f"{source}: field claims: duplicated claim id(s) {dup}")
    for k, cl in enumerate(study.claims):
        # a path claim is [from, to]; an indirect claim a chain [X, M1, ..., Mk, Y], k >= 1
        bad_length = len(cl.path) != 2 if cl.kind == "path" else len(cl.path) < 3
        if bad_length:
            need = "2 constructs" if cl.kind == "path" else "a chain of 3 or more constructs"
            raise SpecError(f"{source}: field claims/{k} ({cl.id}): a {cl.kind} claim needs {need}, got {list(cl.path)}")
        for a, b in zip(cl.path[:-1], cl.path[1:]):
            if (a, b) not in pairs:
                raise SpecError(f"{source}: field claims/{k} ({cl.id}): the model has no path {a}->{b}")


def _check_population(study: Study, source: str) -> None:
    """Population values are given for every item, path (and the exogenous correlation) or for none."""
    if study.population.partial:
        raise SpecError(partial_population_message(source, study.population))


def check_study(study: Study, source: str = "study spec") -> None:
    """Cross-field rules the JSON Schema cannot express.

    Unique ids, paths between declared constructs, roles that match the paths,
    an acyclic structural model (:func:`topological_order`), claims that
    follow declared paths, and population values given for all or none
    (:func:`population_status`).

    Raises
    ------
    SpecError
        Naming the field and value at fault.
    """
    _check_ids(study, source)
    pairs = _check_paths(study, source)
    _check_roles(study, source)
    topological_order(study, source)
    _check_claims(study, source, pairs)
    _check_population(study, source)


#: Default handling of missing answers (the config schema's ``data.missing``), for every analysis function.
MISSING_DEFAULT: str = config_defaults()["data"]["missing"]
