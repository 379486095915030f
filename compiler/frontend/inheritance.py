"""Stage 2: resolve `extends:` chains and `delete:` directives into one Node tree.

Merge rules: scalars override; mappings merge key by key; `transform.steps` concatenate
(parent first); other lists are replaced. Each file's `delete:` paths are removed right after
that file is merged onto its parent. Every overridden value is kept in `Node.history`, which is
what `recipec explain` prints.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from recipec.compiler.frontend.recipe_files import STDLIB_PREFIX, portable_name, stdlib_root
from recipec.compiler.frontend.yaml_loader import (
    KeyPath,
    Node,
    display_path,
    load_yaml_file,
)
from recipec.errors import Problem, RecipeError, did_you_mean

CONCATENATED_LISTS: frozenset[KeyPath] = frozenset({("transform", "steps")})
DIRECTIVES = ("extends", "delete")


@dataclass(frozen=True)
class RecipeFile:
    """One file of an `extends:` chain, as recorded in a plan."""

    path: str
    """Portable name: relative to the working directory (POSIX), or `stdlib:...`."""
    sha256: str


@dataclass(frozen=True)
class ResolvedRecipe:
    """The merged recipe tree and the files it came from, root recipe first."""

    tree: Node
    files: tuple[RecipeFile, ...]
    root_path: Path


def resolve_recipe(path: str | os.PathLike[str]) -> ResolvedRecipe:
    """Load `path` and everything it extends, deepest parent first."""
    root = Path(path)
    files: list[RecipeFile] = []
    tree = _resolve(root, chain=(), files=files)
    return ResolvedRecipe(tree=tree, files=tuple(files), root_path=root)


def resolve_parent(
    extends: Node, written_in: Path, files: list[RecipeFile], path: str = "extends"
) -> Node:
    """The merged tree of the file an `extends:` written in `written_in` names (a resource's own
    base), recording the files it reads in `files`."""
    chain = (written_in.resolve(),)
    parent_path = _parent_path(extends, written_in)
    if parent_path.resolve() in chain:
        names = [display_path(p) for p in (*chain, parent_path.resolve())]
        raise RecipeError(
            [Problem(f"extends cycle: {' -> '.join(names)}", path, location=extends.location)]
        )
    if not parent_path.is_file():
        raise RecipeError(
            [
                Problem(
                    f"parent recipe '{extends.value}' not found "
                    f"(looked for {display_path(parent_path)})",
                    path,
                    location=extends.location,
                    expected="a recipe file, relative to this file, or stdlib:NAME",
                )
            ]
        )
    return _resolve(parent_path, chain, files)


def _resolve(path: Path, chain: tuple[Path, ...], files: list[RecipeFile]) -> Node:
    raw = load_yaml_file(path)
    files.append(RecipeFile(portable_name(path), hashlib.sha256(path.read_bytes()).hexdigest()))
    body = raw.with_value({k: v for k, v in raw.value.items() if k not in DIRECTIVES})

    extends = raw.get("extends")
    if extends is not None:
        parent_path = _parent_path(extends, path)
        chain_here = (*chain, path.resolve())
        if parent_path.resolve() in chain_here:
            names = [display_path(p) for p in (*chain_here, parent_path.resolve())]
            raise RecipeError(
                [
                    Problem(
                        f"extends cycle: {' -> '.join(names)}",
                        path="extends",
                        location=extends.location,
                    )
                ]
            )
        if not parent_path.is_file():
            raise RecipeError(
                [
                    Problem(
                        f"parent recipe '{extends.value}' not found "
                        f"(looked for {display_path(parent_path)})",
                        path="extends",
                        location=extends.location,
                        expected="a recipe file, relative to this file, or stdlib:NAME",
                    )
                ]
            )
        parent = _resolve(parent_path, chain_here, files)
        body = merge(parent, body)

    delete = raw.get("delete")
    if delete is not None:
        body = _apply_deletes(body, delete)
    return body


def _parent_path(extends: Node, child: Path) -> Path:
    if not isinstance(extends.value, str) or not extends.value.strip():
        raise RecipeError(
            [
                Problem(
                    "extends must be a file path",
                    path="extends",
                    location=extends.location,
                    expected="a string such as ../bases/base.yaml or stdlib:bases/NAME.yaml",
                )
            ]
        )
    target = extends.value.strip()
    if target.startswith(STDLIB_PREFIX):
        return stdlib_root() / target[len(STDLIB_PREFIX) :]
    return child.parent / target


def merge(parent: Node, child: Node, path: KeyPath = ()) -> Node:
    """Deep-merge `child` onto `parent` (see module docstring for the rules)."""
    if parent.is_mapping and child.is_mapping:
        merged = dict(parent.value)
        for key, value in child.value.items():
            merged[key] = merge(parent.value[key], value, (*path, key)) if key in merged else value
        return replace(child, value=merged, history=(*parent.history, parent, *child.history))
    if path in CONCATENATED_LISTS and parent.is_sequence and child.is_sequence:
        return replace(child, value=parent.value + child.value, history=(*parent.history, parent))
    return replace(child, history=(*parent.history, _without_history(parent), *child.history))


def _without_history(node: Node) -> Node:
    return replace(node, history=())


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_dot_path(text: str) -> KeyPath:
    """`destination.merge_keys` -> ("destination", "merge_keys"); `a.b[2]` -> ("a", "b", 2)."""
    parts: list[str | int] = []
    for name, index in _PATH_PART.findall(text):
        parts.append(int(index) if index else name)
    return tuple(parts)


def _apply_deletes(tree: Node, delete: Node) -> Node:
    if not delete.is_sequence or not all(isinstance(item.value, str) for item in delete.value):
        raise RecipeError(
            [
                Problem(
                    "delete must be a list of dot paths",
                    path="delete",
                    location=delete.location,
                    expected="for example [destination.merge_keys, runtime.retries]",
                )
            ]
        )
    problems = []
    for index, item in enumerate(delete.value):
        try:
            tree = _delete_path(tree, parse_dot_path(item.value))
        except KeyError as missing:
            problems.append(
                Problem(
                    f"cannot delete '{item.value}': {missing.args[0]}",
                    path=f"delete[{index}]",
                    location=item.location,
                    hint=missing.args[1] if len(missing.args) > 1 else None,
                )
            )
    if problems:
        raise RecipeError(problems)
    return tree


def _delete_path(node: Node, path: KeyPath) -> Node:
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        if not node.is_sequence or not 0 <= head < len(node.value):
            raise KeyError(f"there is no item [{head}]")
        items = list(node.value)
        if rest:
            items[head] = _delete_path(items[head], rest)
        else:
            del items[head]
        return node.with_value(items)
    if not node.is_mapping or head not in node.value:
        keys = node.value.keys() if node.is_mapping else ()
        raise KeyError(f"there is no key '{head}'", did_you_mean(head, keys))
    mapping = dict(node.value)
    if rest:
        mapping[head] = _delete_path(mapping[head], rest)
    else:
        del mapping[head]
    return node.with_value(mapping)
