"""Stage 1: read a YAML file into a tree of `Node`s that remember where each value was written.

PyYAML composes the document (we never parse YAML ourselves); we walk the composed graph so that
every mapping, sequence and scalar keeps its file, line and column for error messages and for
`recipec explain`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from recipec.errors import Location, Problem, RecipeError

PathPart = str | int
KeyPath = tuple[PathPart, ...]


@dataclass(frozen=True)
class Node:
    """A YAML value with its origin. `value` is a dict of Nodes, a list of Nodes or a scalar."""

    value: Any
    location: Location
    key_location: Location | None = None
    """Where the mapping key naming this value was written, if any."""
    history: tuple[Node, ...] = ()
    """Earlier definitions (from parent recipes) that this value overrode, oldest first."""

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.value, list)

    def get(self, key: str) -> Node | None:
        return self.value.get(key) if self.is_mapping else None

    def with_value(self, value: Any) -> Node:
        return replace(self, value=value)


def display_path(path: Path) -> str:
    """A path for messages: relative to the working directory when below it."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def load_yaml_file(path: Path) -> Node:
    """Read and compose one recipe file. Raises `RecipeError` for malformed YAML."""
    name = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"recipe file not found: {name}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"cannot read recipe file {name}: {exc}") from None
    return load_yaml_text(text, name)


def load_yaml_text(text: str, file: str) -> Node:
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # a character YAML does not allow
        raise RecipeError(
            [Problem(f"malformed YAML: {exc}", location=Location(file, 1, 1))]
        ) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise RecipeError([Problem("the recipe is empty", location=Location(file, 1, 1))])
        problems: list[Problem] = []
        node = _convert(loader, root, file, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(file, mark.line + 1, mark.column + 1) if mark else None
        message = f"malformed YAML: {exc.problem or exc.context}"
        raise RecipeError([Problem(message, location=location)]) from None
    except yaml.YAMLError as exc:
        raise RecipeError(
            [Problem(f"malformed YAML: {exc}", location=Location(file, 1, 1))]
        ) from None
    finally:
        loader.dispose()
    if problems:
        raise RecipeError(problems)
    if not node.is_mapping:
        raise RecipeError(
            [
                Problem(
                    "a recipe must be a mapping of keys",
                    location=node.location,
                    expected="keys such as name, source, destination",
                )
            ]
        )
    return node


def _location(file: str, yaml_node: yaml.Node) -> Location:
    mark = yaml_node.start_mark
    return Location(file, mark.line + 1, mark.column + 1)


def _convert(
    loader: yaml.SafeLoader, yaml_node: yaml.Node, file: str, problems: list[Problem]
) -> Node:
    location = _location(file, yaml_node)
    if isinstance(yaml_node, yaml.MappingNode):
        loader.flatten_mapping(yaml_node)  # resolves `<<:` merge keys as PyYAML would
        mapping: dict[str, Node] = {}
        for key_node, value_node in yaml_node.value:
            key_location = _location(file, key_node)
            key = _text(loader.construct_object(key_node, deep=True), key_location, problems)
            if not isinstance(key, str):
                problems.append(
                    Problem(f"keys must be strings, got {key!r}", location=key_location)
                )
                continue
            if key in mapping:
                problems.append(
                    Problem(
                        f"duplicate key '{key}'",
                        location=key_location,
                        hint=f"it is also set at line {mapping[key].key_location.line}"  # type: ignore[union-attr]
                        if mapping[key].key_location
                        else None,
                    )
                )
                continue
            value = _convert(loader, value_node, file, problems)
            mapping[key] = replace(value, key_location=key_location)
        return Node(mapping, location)
    if isinstance(yaml_node, yaml.SequenceNode):
        return Node([_convert(loader, item, file, problems) for item in yaml_node.value], location)
    return Node(_text(loader.construct_object(yaml_node, deep=True), location, problems), location)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any, location: Location, problems: list[Problem]) -> Any:
    """YAML's `\\u` escapes are 16-bit: JSON-style `"\\ud83d\\ude00"` is a surrogate pair.
    Pairs become their character; a lone surrogate is no text (no file or database holds it)."""
    if not isinstance(value, str) or not _SURROGATE.search(value):
        return value
    joined = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if "\ufffd" in joined and "\ufffd" not in value:
        problems.append(
            Problem(
                "a lone surrogate escape is not a character",
                location=location,
                hint="write the character itself, or escape it as \\U0001F600 (eight digits)",
            )
        )
    return joined


def to_plain(node: Node) -> Any:
    """The Node tree as plain Python data."""
    if node.is_mapping:
        return {key: to_plain(child) for key, child in node.value.items()}
    if node.is_sequence:
        return [to_plain(child) for child in node.value]
    return node.value


def format_path(path: KeyPath) -> str:
    """`("transform", "steps", 1, "columns")` -> `transform.steps[1].columns`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def find(node: Node, path: KeyPath) -> Node | None:
    """The node at `path`, or None."""
    current: Node | None = node
    for part in path:
        if current is None:
            return None
        if isinstance(part, int):
            if not current.is_sequence or not -len(current.value) <= part < len(current.value):
                return None
            current = current.value[part]
        else:
            current = current.get(part)
    return current


def nearest_location(node: Node, path: KeyPath) -> Location:
    """The location of the deepest existing node along `path` (its key, for mapping values)."""
    best = node.location
    current: Node | None = node
    for part in path:
        current = find(current, (part,)) if current is not None else None
        if current is None:
            break
        best = current.key_location or current.location
    return best


def walk(node: Node, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Node]]:
    """Every node with its key path, depth first, parents before children."""
    yield path, node
    if node.is_mapping:
        for key, child in node.value.items():
            yield from walk(child, (*path, key))
    elif node.is_sequence:
        for index, child in enumerate(node.value):
            yield from walk(child, (*path, index))


def _lines(file: str) -> tuple[str, ...]:
    path = Path(file).resolve()
    try:
        return _read_lines(path, path.stat().st_mtime_ns)
    except OSError:
        return ()


@functools.lru_cache(maxsize=64)
def _read_lines(path: Path, mtime_ns: int) -> tuple[str, ...]:
    """One file's lines, cached per path and modification time."""
    try:
        return tuple(path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def inside_scalar(location: Location, offset: int) -> Location:
    """The place of character `offset` of a one-line scalar that starts at `location` (after
    its opening quote, if it has one); the scalar's start when that cannot be known."""
    lines = _lines(location.file)
    if not 0 < location.line <= len(lines):
        return location
    line = lines[location.line - 1]
    start = location.column - 1
    quoted = line[start : start + 1] in ("'", '"')
    column = location.column + offset + (1 if quoted else 0)
    return replace(location, column=column) if column <= len(line) + 1 else location
