"""The study specification: constructs, items, structural paths and claims.

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


@dataclass(frozen=True)
class Item:
    """One Likert item: its id, standardized population loading and wording."""

    id: str
    construct: str
    loading: float
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
    """A structural regression ``to ~ from`` with its standardized population value."""

    source: str
    target: str
    std: float


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
class Study:
    """The whole study specification, validated."""

    title: str
    constructs: tuple[Construct, ...]
    exogenous_correlation: float
    paths: tuple[Path_, ...]
    claims: tuple[Claim, ...]
    qualitative: tuple[dict[str, str], ...] = ()
    citation: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

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
            lines.append(f"  field {where}: {err.message}")
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


def study_from_dict(data: dict[str, Any], source: str = "study spec") -> Study:
    """Build a :class:`Study` from a parsed document, checking schema and cross-field rules."""
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
                    loading=float(it["loading"]),
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
        exogenous_correlation=float(data["exogenous_correlation"]),
        paths=tuple(Path_(p["from"], p["to"], float(p["std"])) for p in data["paths"]),
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


def check_study(study: Study, source: str = "study spec") -> None:
    """Cross-field rules the JSON Schema cannot express.

    Unique ids, paths between declared constructs, roles that match the paths,
    an acyclic structural model (:func:`topological_order`) and claims that
    follow declared paths.

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


#: Default handling of missing answers (the config schema's ``missing``), for every analysis function.
MISSING_DEFAULT: str = config_defaults()["missing"]
