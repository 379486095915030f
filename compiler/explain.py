"""`recipec explain`: where a value of the resolved recipe came from, through `extends:`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recipec.compiler.driver import Recipe
from recipec.compiler.inheritance import parse_dot_path, portable_name
from recipec.compiler.yaml_loader import Node, find, format_path, nearest_location, to_plain
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
    secret = format_path(path) in recipe.secrets
    lines = [f"{format_path(path)} = {REDACTED if secret else _shown(to_plain(node))}"]
    lines.append(f"  set at {_where(node)}")
    if node.history:
        lines.append("  overriding, oldest first:")
        for earlier in node.history:
            lines.append(f"    {_where(earlier)}: {_shown(to_plain(earlier))}")
    return "\n".join(lines)


def _where(node: Node) -> str:
    location = node.key_location or node.location
    return f"{portable_name(Path(location.file))}:{location.line}"
