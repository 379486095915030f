"""Stage 2b: a recipe's resources and the graph of their dependencies.

A recipe with `resources:` names several loads; `defaults:` is merged under each (with the rules
of `extends:`), then the resource's own `extends:` chain, then the resource. A recipe without
`resources:` is a graph of one resource, named after the recipe: one code path for both.

The graph's problems (a resource without a name, a duplicate name, a dependency on a resource
that does not exist, a cycle) are all reported at once, each at its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from recipec.compiler.frontend.inheritance import RecipeFile, merge, resolve_parent
from recipec.compiler.frontend.yaml_loader import Node
from recipec.errors import Location, Problem, RecipeError, did_you_mean

PIPELINE_KEYS = frozenset(
    {"name", "description", "plugins", "runtime", "defaults", "resources", "dbt"}
)
"""What a recipe with `resources:` holds at its top level; each load's keys go in a resource."""
SHARED_KEYS = ("name", "description", "plugins", "runtime")
"""Top-level keys every resource's load gets, under `defaults:`."""
RESOURCE_KEYS = ("name", "depends_on", "when", "extends")
"""A resource's own keys: the rest of it is its load (source, transform, destination...)."""
RESOURCE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""Names that read the same in selectors (`orders+`), state keys, Mermaid and DOT."""


@dataclass(frozen=True)
class Resource:
    """One load of a recipe: its name, what it depends on and the tree of its load."""

    name: str
    tree: Node
    """The load as a recipe of one source and one destination (recipe name: the pipeline's)."""
    depends_on: tuple[str, ...] = ()
    when: Node | None = None
    """Renders to true or false; the resource loads only when true."""
    location: Location | None = None
    """Where the resource is written (its `name:`)."""


@dataclass(frozen=True)
class ResourceGraph:
    """A recipe's resources, in the order written, and the levels they run in: each level's
    resources depend only on earlier levels' (ordered as written within a level)."""

    resources: tuple[Resource, ...]
    levels: tuple[tuple[str, ...], ...]

    @property
    def edges(self) -> list[tuple[str, str]]:
        """(dependency, dependent) pairs, in the order written."""
        return [(before, r.name) for r in self.resources for before in r.depends_on]

    @classmethod
    def of(cls, dependencies: Sequence[tuple[str, Sequence[str]]]) -> ResourceGraph:
        """The graph of names and their dependencies alone (a plan's units), for `select`."""
        resources = [
            Resource(name, Node({}, Location("", 0, 0)), tuple(after))
            for name, after in dependencies
        ]
        return cls(tuple(resources), _levels(resources) if resources else ())

    def __getitem__(self, name: str) -> Resource:
        return next(r for r in self.resources if r.name == name)

    def only(self, names: Sequence[str] | None) -> ResourceGraph:
        """The graph of `names` (all without): their dependencies on each other, and levels."""
        if names is None:
            return self
        kept = set(names)
        resources = [
            replace(r, depends_on=tuple(d for d in r.depends_on if d in kept))
            for r in self.resources
            if r.name in kept
        ]
        return ResourceGraph(tuple(resources), _levels(resources) if resources else ())


def resource_graph(tree: Node, files: list[RecipeFile]) -> tuple[ResourceGraph, list[Problem]]:
    """The resources of the resolved recipe `tree`, and the graph's problems (its levels are
    empty when there are any); the files a resource's own `extends:` reads are appended to
    `files`. Raises `RecipeError` when there is no list of resources to read."""
    resources_node = tree.get("resources")
    if resources_node is None:
        return _one(tree), []
    problems = [
        Problem(
            f"'{key}' belongs in a resource or in defaults: a recipe with resources holds "
            "only " + ", ".join(sorted(PIPELINE_KEYS)),
            key,
            location=node.key_location or node.location,
        )
        for key, node in tree.value.items()
        if key not in PIPELINE_KEYS
    ]
    if not resources_node.is_sequence or not resources_node.value:
        problems.append(
            Problem(
                "resources must be a list of resources, each with a name",
                "resources",
                location=resources_node.location,
            )
        )
        raise RecipeError(problems)
    shared = tree.with_value({k: v for k, v in tree.value.items() if k in SHARED_KEYS})
    defaults = tree.get("defaults")
    if defaults is not None and not defaults.is_mapping:
        problems.append(
            Problem("defaults must be a mapping", "defaults", location=defaults.location)
        )
        defaults = None
    base = merge(shared, defaults) if defaults is not None else shared
    resources: list[Resource] = []
    for index, item in enumerate(resources_node.value):
        resource = _resource(item, index, base, files, problems)
        if resource is not None:
            resources.append(resource)
    problems += _graph_problems(resources, resources_node)
    levels = () if problems else _levels(resources)
    return ResourceGraph(tuple(resources), levels), problems


def dbt_steps(load: Node) -> tuple[Node, list[Problem]]:
    """A load whose last transform step is `- type: dbt` (with `project_dir` and `models:`, the
    models to build after the load commits), as the same load with a `dbt:` block."""
    transform = load.get("transform")
    steps = transform.get("steps") if transform is not None else None
    if steps is None or not steps.is_sequence:
        return load, []
    found = [i for i, step in enumerate(steps.value) if _is_dbt_step(step)]
    if not found:
        return load, []
    problems = []
    last = len(steps.value) - 1
    for index in found:
        path = f"transform.steps[{index}]"
        step = steps.value[index]
        if index != last or len(found) > 1:
            problems.append(
                Problem(
                    "a dbt step runs after the load commits: write one, as the last step",
                    path,
                    location=step.location,
                )
            )
        elif load.get("dbt") is not None:
            problems.append(
                Problem(
                    "both a dbt step and a dbt: block: keep one",
                    path,
                    location=step.location,
                )
            )
    if problems:
        return load, problems
    step = steps.value[last]
    settings = {
        ("select" if key == "models" else key): value
        for key, value in step.value.items()
        if key != "type"
    }
    kept = steps.with_value(steps.value[:last])
    assert transform is not None
    load = load.with_value(
        {
            **load.value,
            "transform": transform.with_value({**transform.value, "steps": kept}),
            "dbt": step.with_value(settings),
        }
    )
    return load, []


def _is_dbt_step(step: Node) -> bool:
    kind = step.get("type") if step.is_mapping else None
    return kind is not None and kind.value == "dbt"


def _one(tree: Node) -> ResourceGraph:
    name = tree.get("name")
    resource = Resource(
        name=str(name.value) if name is not None else "", tree=tree, location=tree.location
    )
    return ResourceGraph((resource,), ((resource.name,),))


def _resource(
    item: Node,
    index: int,
    base: Node,
    files: list[RecipeFile],
    problems: list[Problem],
) -> Resource | None:
    path = f"resources[{index}]"
    name = item.get("name") if item.is_mapping else None
    if name is None or not isinstance(name.value, str):
        problems.append(
            Problem(
                "a resource needs a name",
                f"{path}.name" if item.is_mapping else path,
                location=(name or item).location,
                expected="a mapping with name: and the resource's source and destination",
            )
        )
        return None
    if not RESOURCE_NAME.match(name.value):
        problems.append(
            Problem(
                f"'{name.value}' is not a resource name",
                f"{path}.name",
                location=name.location,
                expected="letters, digits and _, not starting with a digit",
            )
        )
    load = item.with_value({k: v for k, v in item.value.items() if k not in RESOURCE_KEYS})
    extends = item.get("extends")
    if extends is not None:
        try:
            written_in = Path(extends.location.file)
            parent = resolve_parent(extends, written_in, files, f"{path}.extends")
            load = merge(parent.with_value(_without(parent.value, "name")), load)
        except RecipeError as exc:
            problems.extend(exc.problems)
    return Resource(
        name=name.value,
        tree=merge(base, load),
        depends_on=tuple(_depends_on(item, path, problems)),
        when=item.get("when"),
        location=name.location,
    )


def _without(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A base a resource extends names no recipe: the resource keeps the pipeline's name."""
    return {k: v for k, v in mapping.items() if k != key}


def _depends_on(item: Node, path: str, problems: list[Problem]) -> Iterator[str]:
    node = item.get("depends_on")
    if node is None:
        return
    items = node.value if node.is_sequence else None
    if items is None or not all(isinstance(n.value, str) for n in items):
        problems.append(
            Problem(
                "depends_on must be a list of resource names",
                f"{path}.depends_on",
                location=node.location,
                expected="for example [customers, orders]",
            )
        )
        return
    for dependency in items:
        yield dependency.value


def _graph_problems(resources: list[Resource], resources_node: Node) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, Resource] = {}
    for index, resource in enumerate(resources):
        if resource.name in first:
            where = first[resource.name].location
            problems.append(
                Problem(
                    f"resource '{resource.name}' is defined twice"
                    + (f" (first at line {where.line})" if where else ""),
                    f"resources[{index}].name",
                    location=resource.location,
                )
            )
        first.setdefault(resource.name, resource)
    for index, resource in enumerate(resources):
        for position, dependency in enumerate(resource.depends_on):
            if dependency in first:
                continue
            item = _depends_on_item(resources_node, resource.name, position)
            problems.append(
                Problem(
                    f"resource '{resource.name}' depends on '{dependency}', which is not a "
                    "resource of this recipe",
                    f"resources[{index}].depends_on[{position}]",
                    location=item.location if item is not None else resource.location,
                    hint=did_you_mean(dependency, list(first)),
                )
            )
    for cycle in _cycles(resources, set(first)):
        start = first[cycle[0]]
        depends_on = _depends_on_item(resources_node, start.name, None)
        problems.append(
            Problem(
                "dependency cycle: " + " -> ".join([*cycle, cycle[0]]) + " (each depends on the "
                "next)",
                f"resources[{resources.index(start)}].depends_on",
                location=depends_on.location if depends_on is not None else start.location,
                hint="a resource cannot depend, directly or not, on itself",
            )
        )
    return problems


def _depends_on_item(resources_node: Node, name: str, position: int | None) -> Node | None:
    """The `depends_on` of resource `name` (its item at `position`)."""
    for item in resources_node.value:
        named = item.get("name") if item.is_mapping else None
        if named is not None and named.value == name:
            depends_on = item.get("depends_on")
            if depends_on is None or position is None:
                return depends_on
            return depends_on.value[position] if depends_on.is_sequence else None
    return None


def _cycles(resources: list[Resource], known: set[str]) -> list[list[str]]:
    """Each cycle once, starting at its member written first, each member followed by one it
    depends on."""
    if not any(r.depends_on for r in resources):
        return []
    import networkx as nx

    order = {r.name: i for i, r in reversed(list(enumerate(resources)))}
    graph = nx.DiGraph()
    graph.add_edges_from(
        (r.name, before) for r in resources for before in r.depends_on if before in known
    )
    cycles = []
    for cycle in nx.simple_cycles(graph):
        start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        cycles.append(cycle[start:] + cycle[:start])
    return sorted(cycles, key=lambda cycle: [order[name] for name in cycle])


def _levels(resources: list[Resource]) -> tuple[tuple[str, ...], ...]:
    if not any(r.depends_on for r in resources):
        return (tuple(r.name for r in resources),)
    import networkx as nx

    order = {r.name: i for i, r in enumerate(resources)}
    graph = nx.DiGraph()
    graph.add_nodes_from(order)
    graph.add_edges_from((before, r.name) for r in resources for before in r.depends_on)
    return tuple(
        tuple(sorted(level, key=order.__getitem__)) for level in nx.topological_generations(graph)
    )


_SELECTOR = re.compile(r"^(?:(@)|(\d*)(\+))?([A-Za-z_][A-Za-z0-9_]*)(?:(\+)(\d*))?$")


class SelectorError(ValueError):
    """A selector that does not parse or names no resource."""


def select(
    graph: ResourceGraph, selectors: Sequence[str], exclude: Sequence[str] = ()
) -> list[str]:
    """The resources dbt's selector grammar picks, in the order written: `orders` (one),
    `orders+` (it and its descendants), `+orders` (it and its ancestors), `2+orders` and
    `orders+1` (to that depth), `@orders` (it, its descendants and their ancestors). Selectors
    separated by spaces (or given apart) are united, by commas intersected; `exclude` takes
    away what its selectors pick. No selector: every resource."""
    chosen = _union(graph, selectors) if selectors else {r.name for r in graph.resources}
    chosen -= _union(graph, exclude)
    return [r.name for r in graph.resources if r.name in chosen]


def _union(graph: ResourceGraph, selectors: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for text in selectors:
        for alternative in text.split():
            parts = [_one_selector(graph, part) for part in alternative.split(",")]
            found |= set.intersection(*parts)
    return found


def _one_selector(graph: ResourceGraph, text: str) -> set[str]:
    match = _SELECTOR.match(text)
    if match is None:
        raise SelectorError(
            f"'{text}' is not a selector (NAME, NAME+, +NAME, N+NAME, NAME+N or @NAME)"
        )
    at, up_depth, up, name, down, down_depth = match.groups()
    names = [r.name for r in graph.resources]
    if name not in names:
        hint = did_you_mean(name, names)
        raise SelectorError(
            f"selector '{text}' names no resource '{name}'" + (f"; {hint}" if hint else "")
        )
    parents = {r.name: set(r.depends_on) for r in graph.resources}
    children: dict[str, set[str]] = {n: set() for n in names}
    for before, after in graph.edges:
        children[before].add(after)
    picked = {name}
    if at:
        descendants = _reach(children, name, None)
        picked |= descendants
        for descendant in descendants:
            picked |= _reach(parents, descendant, None)
        return picked
    if up:
        picked |= _reach(parents, name, int(up_depth) if up_depth else None)
    if down:
        picked |= _reach(children, name, int(down_depth) if down_depth else None)
    return picked


def _reach(edges: Mapping[str, set[str]], start: str, depth: int | None) -> set[str]:
    """What `start` reaches through `edges`, up to `depth` steps (all without one)."""
    reached: set[str] = set()
    frontier, steps = {start}, 0
    while frontier and (depth is None or steps < depth):
        frontier = {n for node in frontier for n in edges.get(node, ())} - reached - {start}
        reached |= frontier
        steps += 1
    return reached
