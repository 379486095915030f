"""The compiler driver: recipe file -> `Recipe` -> `LoadIR` -> passes -> `Plan`.

load -> resolve extends -> render templates -> validate -> IR -> passes -> lower
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from recipec.compiler.backend.lowering import assemble, lower, lower_dbt, source_relation
from recipec.compiler.frontend.inheritance import RecipeFile, parse_dot_path, resolve_recipe
from recipec.compiler.frontend.models import (
    CursorIncremental,
    ModifiedTimeIncremental,
    PipelineDbtSettings,
)
from recipec.compiler.frontend.resources import Resource, ResourceGraph, dbt_steps, resource_graph
from recipec.compiler.frontend.secrets import recipe_secrets
from recipec.compiler.frontend.templates import (
    SecretReference,
    TemplateLookupError,
    render_string,
    render_tree,
)
from recipec.compiler.frontend.validate import ValidatedRecipe, validate, validate_section
from recipec.compiler.frontend.yaml_loader import (
    KeyPath,
    Node,
    display_path,
    find,
    format_path,
    nearest_location,
)
from recipec.compiler.plan import DbtNode, Plan
from recipec.compiler.semantic.ir import (
    DestinationIR,
    LoadIR,
    SourceIR,
    TransformIR,
    portable_path,
    resolve_paths,
)
from recipec.compiler.semantic.passes import check_dbt, run_passes
from recipec.compiler.semantic.typecheck import declared_columns, file_columns
from recipec.compiler.semantic.types import duckdb_spelling
from recipec.compiler.tools.lock import Lock, drift, read_lock, selected
from recipec.errors import Location, Problem, RecipeError, did_you_mean
from recipec.transform_hooks import hooks


@dataclass(frozen=True)
class Recipe:
    """A loaded, validated recipe: what `from_yaml` returns and `compile_recipe` takes."""

    name: str
    path: Path
    files: tuple[RecipeFile, ...]
    tree: Node
    """The resolved tree, with the origin (and override history) of every value."""
    validated: ValidatedRecipe
    secrets: Mapping[str, SecretReference]
    templated: frozenset[str]
    vars: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The vars it was rendered with: a run resolves the secrets that read them again."""
    templates: Mapping[str, SecretReference] = field(default_factory=dict, repr=False)
    """Every templated value by dot path, with the environment variables and vars it read."""

    def __repr__(self) -> str:
        return f"Recipe(name={self.name!r}, path={str(self.path)!r})"

    def origin(self, path: KeyPath) -> Node | None:
        """The node at `path`, whose location and history say where the value came from."""
        return find(self.tree, path)


def load_recipe(
    path: str | os.PathLike[str],
    vars: Mapping[str, Any] | None = None,
    *,
    resolve_secrets: bool = True,
) -> Recipe:
    """Load, resolve, render and validate a recipe file of one load. Raises `RecipeError`.
    Without `resolve_secrets`, secrets whose environment variables are not set read as `***`."""
    pipeline = load_pipeline(path, vars, resolve_secrets=resolve_secrets)
    if len(pipeline.graph.resources) > 1:
        raise RecipeError(
            [
                Problem(
                    f"this recipe has {len(pipeline.graph.resources)} resources: load it with "
                    "`load_pipeline` (or `recipec.api.compile_file`), not as one load",
                    "resources",
                    file=str(path),
                )
            ]
        )
    _require_a_load(pipeline)
    return next(iter(pipeline.recipes.values()))


@dataclass(frozen=True)
class PipelineDbt:
    """A recipe with resources: its `dbt:` block, rendered and validated."""

    settings: PipelineDbtSettings
    """Paths portable."""
    depends_on: tuple[str, ...]
    """The resources dbt runs after (every resource, without `depends_on`)."""
    tree: Node
    """The recipe's `name` and `dbt`, rendered: where its problems are located."""


@dataclass(frozen=True)
class Pipeline:
    """A recipe's resources, each loaded as a recipe of one load, and their graph."""

    name: str
    path: Path
    graph: ResourceGraph
    recipes: Mapping[str, Recipe]
    """By resource name, the resources whose `when:` is true, in the order written."""
    dbt: PipelineDbt | None = None
    listed: bool = False
    """Whether the recipe lists its resources (else it is its one load)."""

    @property
    def skipped(self) -> list[str]:
        """Resources whose `when:` is false."""
        return [r.name for r in self.graph.resources if r.name not in self.recipes]


def load_pipeline(
    path: str | os.PathLike[str],
    vars: Mapping[str, Any] | None = None,
    *,
    resolve_secrets: bool = True,
) -> Pipeline:
    """Load a recipe file and each of its resources (one, without `resources:`), reporting the
    problems of every resource at once."""
    values = dict(vars or {})
    resolved = resolve_recipe(path)
    files = list(resolved.files)
    graph, problems = resource_graph(resolved.tree, files)
    listed = resolved.tree.get("resources") is not None  # else: the recipe is its one load
    recipes: dict[str, Recipe] = {}
    for index, resource in enumerate(graph.resources):
        try:
            enabled = _enabled(resource, values, index)
        except RecipeError as exc:
            problems += exc.problems
            enabled = True  # its load is checked all the same
        if not enabled:
            continue
        load, step_problems = dbt_steps(resource.tree)
        if step_problems:
            problems += [_within(resource.name, p) if listed else p for p in step_problems]
            continue
        try:
            rendered = render_tree(load, vars=values, resolve_secrets=resolve_secrets)
            validated = validate(rendered, resolved.root_path.parent)
        except RecipeError as exc:
            if not listed:
                raise
            problems += [_within(resource.name, p) for p in exc.problems]
            continue
        recipes[resource.name] = Recipe(
            name=validated.model.name,
            path=resolved.root_path,
            files=tuple(files),
            tree=rendered.tree,
            validated=validated,
            secrets=recipe_secrets(validated, rendered),
            templated=rendered.templated,
            vars=values,
            templates=rendered.references,
        )
    dbt = None
    if listed and resolved.tree.get("dbt") is not None:
        try:
            dbt = _pipeline_dbt(resolved.tree, graph, values, resolve_secrets)
        except RecipeError as exc:
            problems += exc.problems
    if problems:
        raise RecipeError(sorted(problems, key=_line))
    name = resolved.tree.get("name")
    return Pipeline(
        name=str(name.value) if name is not None else "",
        path=resolved.root_path,
        graph=graph,
        recipes=recipes,
        dbt=dbt,
        listed=listed,
    )


def _pipeline_dbt(
    tree: Node, graph: ResourceGraph, vars: Mapping[str, Any], resolve_secrets: bool
) -> PipelineDbt:
    section = tree.with_value({k: v for k, v in tree.value.items() if k in ("name", "dbt")})
    rendered = render_tree(section, vars=vars, resolve_secrets=resolve_secrets)
    settings = validate_section(rendered, "dbt", PipelineDbtSettings)
    settings = resolve_paths(settings, rendered.tree, ("dbt",), rendered.templated)  # type: ignore[assignment]
    names = [r.name for r in graph.resources]
    depends_on = names if settings.depends_on is None else settings.depends_on
    problems = []
    for index, name in enumerate(depends_on):
        if name not in names:
            path = ("dbt", "depends_on", index)
            problems.append(
                Problem(
                    f"dbt depends on '{name}', which is not a resource of this recipe",
                    format_path(path),
                    location=nearest_location(rendered.tree, path),
                    expected=f"one of: {', '.join(names)}",
                    hint=did_you_mean(name, names),
                )
            )
    if problems:
        raise RecipeError(problems)
    return PipelineDbt(settings, tuple(depends_on), rendered.tree)


def _enabled(resource: Resource, vars: Mapping[str, Any], index: int) -> bool:
    """Whether the resource's `when:` holds (true without one)."""
    when = resource.when
    if when is None or isinstance(when.value, bool):
        return when is None or bool(when.value)
    path = f"resources[{index}].when"
    try:
        text = render_string(str(when.value), vars=vars, recipe_name="").value
    except (TemplateLookupError, jinja2.TemplateError) as exc:
        raise RecipeError([Problem(f"when: {exc}", path, location=when.location)]) from None
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise RecipeError(
            [
                Problem(
                    f"when must render to true or false, got {text.strip()!r}",
                    path,
                    location=when.location,
                    expected="for example \"{{ var('include_items', 'true') == 'true' }}\"",
                )
            ]
        )
    return value == "true"


def _line(problem: Problem) -> tuple[str, int, int]:
    where = problem.location
    return (where.file, where.line, where.column) if where else ("", 0, 0)


def _within(resource: str, problem: Problem) -> Problem:
    """A resource's problem, its key path prefixed with the resource."""
    path = f"resources.{resource}" + (f".{problem.path}" if problem.path else "")
    return dataclasses.replace(problem, path=path)


def build_ir(recipe: Recipe) -> LoadIR:
    v = recipe.validated
    tree = recipe.tree
    source_config = resolve_paths(v.source, tree, ("source",), recipe.templated)
    destination_config = resolve_paths(v.destination, tree, ("destination",), recipe.templated)
    destination_factory = v.destination_registration.factory
    capabilities = getattr(destination_factory, "capabilities", None)
    if capabilities is None:
        from recipec.runtime.protocols import PLUGIN_DESTINATION_CAPABILITIES

        capabilities = PLUGIN_DESTINATION_CAPABILITIES
    _check_incremental_type(source_config, tree)
    source_node = find(tree, ("source",))
    destination_node = find(tree, ("destination",))
    assert source_node is not None and destination_node is not None
    return LoadIR(
        name=recipe.name,
        files=tuple((f.path, f.sha256) for f in recipe.files),
        source=SourceIR(
            type=v.source_registration.name,
            registration=v.source_registration,
            config=source_config,
            path=getattr(source_config, "path", None),
            incremental=getattr(source_config, "incremental", None),
            location=source_node.location,
        ),
        transforms=tuple(
            TransformIR(
                index=index,
                type=registration.name,
                registration=registration,
                config=config,
                location=_location(tree, ("transform", "steps", index)),
                key_locations=_expression_locations(tree, index, config),
            )
            for index, (config, registration) in enumerate(v.steps)
        ),
        destination=DestinationIR(
            type=v.destination_registration.name,
            registration=v.destination_registration,
            config=destination_config,
            capabilities=capabilities,
            database=getattr(destination_config, "database", None),
            table=str(getattr(destination_config, "table", "")),
            write_mode=str(getattr(destination_config, "write_mode", "append")),
            merge_keys=tuple(getattr(destination_config, "merge_keys", ()) or ()),
            location=destination_node.location,
        ),
        runtime=v.model.runtime,
        secrets=dict(recipe.secrets),
        secret_locations={
            path: node.location
            for path in recipe.secrets
            if (node := find(tree, parse_dot_path(path))) is not None
        },
        plugins=tuple(v.model.plugins),
        plugin_paths=(portable_path(".", recipe.path.parent),)
        if v.model.plugins or any(hooks(c).runs_in_python for c, _ in v.steps)
        else (),
        columns=declared_columns(v.model.declared_schema),
        tree=tree,
        dbt=resolve_paths(v.model.dbt, tree, ("dbt",), recipe.templated) if v.model.dbt else None,
    )


def _expression_locations(tree: Node, index: int, config: Any) -> dict[str, Location]:
    """Where each expression of a step was written, keyed as the step's `expressions()`."""
    keys = hooks(config).expressions()
    step = ("transform", "steps", index)
    found = {key: find(tree, step + tuple(key.split(".", 1))) for key in keys}
    return {key: node.location for key, node in found.items() if node is not None}


def _check_incremental_type(config: Any, tree: Node) -> None:
    incremental = getattr(config, "incremental", None)
    if incremental is None or isinstance(incremental, CursorIncremental | ModifiedTimeIncremental):
        return
    node = find(tree, ("source", "incremental"))
    raise RecipeError(
        [
            Problem(
                "this source's config model does not type 'incremental' as recipec's, so "
                "recipec cannot load it incrementally",
                path="source.incremental",
                location=node.location if node else None,
                hint="declare the field as `incremental: recipec.Incremental | None = None`",
            )
        ]
    )


def _location(tree: Node, path: KeyPath) -> Any:
    node = find(tree, path)
    assert node is not None
    return node.location


def compile_recipe(recipe: Recipe, *, introspect: bool = False, lineage: bool = True) -> Plan:
    """Lower a loaded recipe of one load into its plan (of one unit). Connects to nothing,
    unless `introspect` asks to read a database source's columns. `lineage=False` leaves out the
    column lineage (a run does not need it; it is not part of the fingerprint)."""
    ir = _typed_ir(recipe, None, introspect)
    unit = lower(ir, recipe.name, lineage=lineage)
    return assemble(recipe.name, [ir], [unit], [[unit.name]])


def compile_pipeline(pipeline: Pipeline, *, introspect: bool = False, lineage: bool = True) -> Plan:
    """Lower each resource of a recipe into its unit, in the graph's order, reporting every
    resource's problems at once."""
    _require_a_load(pipeline)
    graph = pipeline.graph.only(list(pipeline.recipes))
    irs: dict[str, LoadIR] = {}
    units, problems = [], []
    for level in graph.levels:
        for name in level:
            recipe = pipeline.recipes[name]
            try:
                ir = _typed_ir(recipe, name if pipeline.listed else None, introspect)
                units.append(lower(ir, name, graph[name].depends_on, lineage=lineage))
            except RecipeError as exc:
                if name == pipeline.name:  # a recipe's one load: its paths are the recipe's
                    raise
                problems += [_within(name, p) for p in exc.problems]
                continue
            irs[name] = ir
    dbt = None
    if pipeline.dbt is not None and not problems:
        dbt = _lower_pipeline_dbt(pipeline.dbt, irs, problems)
    if problems:
        raise RecipeError(problems)
    return assemble(
        pipeline.name,
        list(irs.values()),
        units,
        [list(level) for level in graph.levels],
        pipeline.skipped,
        dbt,
    )


def _lower_pipeline_dbt(
    dbt: PipelineDbt, irs: Mapping[str, LoadIR], problems: list[Problem]
) -> DbtNode | None:
    """dbt after the resources it depends on (those whose `when:` is true), against the one
    database they loaded."""
    after = [name for name in dbt.depends_on if name in irs]
    first, *others = after or list(irs)[:1]

    def with_dbt(name: str) -> LoadIR:
        return irs[name].replace(dbt=dbt.settings, tree=dbt.tree, problems=(), problem_paths=())

    checked = check_dbt(with_dbt(first))
    if checked.problems:
        problems += checked.problems
        return None
    step = lower_dbt(checked)
    for other in others:
        if step.profile is not None and lower_dbt(with_dbt(other)).profile != step.profile:
            problems.append(
                Problem(
                    f"dbt runs against one database, and the resources it depends on write to "
                    f"several ({first} to {irs[first].destination.database}, {other} "
                    f"to {irs[other].destination.database})",
                    "dbt",
                    location=nearest_location(dbt.tree, ("dbt",)),
                    hint="give dbt a profiles_dir, or depends_on the resources of one database",
                )
            )
            return None
    return DbtNode(depends_on=after, profile_of=first, step=step)


def _require_a_load(pipeline: Pipeline) -> None:
    if not pipeline.recipes:
        what = (
            "its one resource's when: is false"
            if len(pipeline.graph.resources) == 1
            else "every resource's when: is false"
        )
        raise RecipeError([Problem(f"{what}: there is nothing to load", file=str(pipeline.path))])


def _typed_ir(recipe: Recipe, resource: str | None, introspect: bool) -> LoadIR:
    """The recipe's IR (of its `resource`, in a recipe with resources) with its source's
    columns as well as they can be known, through the passes."""
    ir = build_ir(recipe)
    lock = read_lock(recipe.path, resource)
    if introspect and ir.source.reader == "database":
        ir = _introspected(ir, lock)
    if ir.columns is None and lock is not None:
        command = display_path(recipe.path) + (f" --resource {resource}" if resource else "")
        ir = _locked(ir, lock, command)
    if ir.columns is None:
        ir = ir.replace(columns=file_columns(ir, source_relation(ir.source)))
    return run_passes(ir)


def _selection(ir: LoadIR) -> list[str] | None:
    """A database source's `columns:`, the projection its read selects."""
    return getattr(ir.source.config, "columns", None)


def _introspected(ir: LoadIR, lock: Lock | None) -> LoadIR:
    """The database's columns (the selected ones), and a warning when they left the lock."""
    from recipec.compiler.semantic.introspect import introspect as read_columns

    table = read_columns(ir.source.type, ir.source.config.model_copy(update={"columns": None}))
    if not table:
        return ir.replace(source_schema=())  # a `query`: nothing to introspect
    names = [c.name for c in table]
    found, missing = selected(tuple((name, "") for name in names), _selection(ir))
    by_name = {c.name: c for c in table}
    ir = ir.replace(source_schema=tuple(by_name[name] for name, _ in found))
    where = f"the table {getattr(ir.source.config, 'table', '')}"
    ir = _report_unselected(ir, missing, names, where, None)
    if ir.columns is not None or missing:
        return ir  # the recipe's `schema:` block types it; or checks would only cascade
    columns = tuple((c.name, duckdb_spelling(c.duckdb_type)) for c in ir.source_schema or ())
    ir = ir.replace(columns=columns)
    if lock is not None:  # the live source against the lock: a plan change, and a warning
        changes = drift(selected(lock.columns, _selection(ir))[0], ir.columns or ()).lines()
        if changes:
            warning = f"the source drifted from {lock.path.name}: " + "; ".join(changes)
            ir = ir.replace(warnings=(*ir.warnings, warning))
    return ir


def _locked(ir: LoadIR, lock: Lock, recipe: str) -> LoadIR:
    """The lock's columns, narrowed to what the source selects: the lock describes the source,
    so a selected column it lacks is a problem at its item of `source.columns`."""
    columns, missing = selected(lock.columns, _selection(ir))
    ir = _report_unselected(
        ir,
        missing,
        [name for name, _ in lock.columns],
        f"the schema lock {lock.path.name}",
        f"If the source has it now, run `recipec lock {recipe}` again.",
    )
    return ir.replace(
        columns=None if missing else columns,  # unknown: checks on them would only cascade
        schema_lock=portable_path(str(lock.path), None),
    )


def _report_unselected(
    ir: LoadIR, missing: list[tuple[int, str]], names: list[str], where: str, hint: str | None
) -> LoadIR:
    """A problem at `source.columns[i]` for each selected column that `where` does not have."""
    for index, name in missing:
        hints = [h for h in (did_you_mean(name, names), hint) if h]
        ir = ir.report(
            f"column '{name}' is not in {where}",
            ("source", "columns", index),
            hint=" ".join(hints) or None,
        )
    return ir
