"""`recipec explain`: where a value of the resolved recipe came from, through `extends:`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recipec.compiler.driver import Recipe
from recipec.compiler.frontend.inheritance import parse_dot_path, portable_name
from recipec.compiler.frontend.yaml_loader import (
    KeyPath,
    Node,
    find,
    format_path,
    nearest_location,
    to_plain,
)
from recipec.errors import Problem, RecipeError, did_you_mean

REDACTED = "***"


def _shown(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def explain(recipe: Recipe, key: str) -> str:
    path = parse_dot_path(key)
    node = find(recipe.tree, path)
    if node is None:
        parent = find(recipe.tree, path[:-1]) if path else None
        siblings = parent.value.keys() if parent is not None and parent.is_mapping else []
        raise RecipeError(
            [
                Problem(
                    f"the resolved recipe has no key '{key}'",
                    location=nearest_location(recipe.tree, path),
                    hint=did_you_mean(str(path[-1]) if path else key, siblings),
                )
            ]
        )
    secrets = {parse_dot_path(p) for p in recipe.secrets}
    lines = [f"{format_path(path)} = {_shown_masked(node, path, secrets)}"]
    lines.append(f"  set at {_where(node)}")
    if node.history:
        lines.append("  overriding, oldest first:")
        for earlier in node.history:  # an older value of a secret is a secret too
            lines.append(f"    {_where(earlier)}: {_shown_masked(earlier, path, secrets)}")
    return "\n".join(lines)


def _shown_masked(node: Node, path: KeyPath, secrets: set[KeyPath]) -> str:
    return REDACTED if path in secrets else _shown(_masked(node, path, secrets))


def _masked(node: Node, path: KeyPath, secrets: set[KeyPath]) -> Any:
    """The node's plain value with every secret in it, at any depth, shown as `***`."""
    if path in secrets:
        return REDACTED
    if node.is_mapping:
        return {k: _masked(v, (*path, k), secrets) for k, v in node.value.items()}
    if node.is_sequence:
        return [_masked(v, (*path, i), secrets) for i, v in enumerate(node.value)]
    return to_plain(node)


def _where(node: Node) -> str:
    location = node.key_location or node.location
    return f"{portable_name(Path(location.file))}:{location.line}"
