"""Stage 4: validate the rendered tree with Pydantic; turn every error into a located `Problem`.

The top level is validated first; then `source`, `destination` and each transform step against
the model their `type` registered. All problems, including failed templates, are raised at once.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from recipec.compiler.frontend.models import RecipeModel
from recipec.compiler.frontend.templates import RenderedTree
from recipec.compiler.frontend.yaml_loader import (
    KeyPath,
    Node,
    find,
    format_path,
    inside_scalar,
    nearest_location,
    to_plain,
)
from recipec.errors import Problem, RecipeError, did_you_mean, sorted_problems
from recipec.registry import REGISTRY, Kind, Registration, ensure_builtins, import_plugins

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ValidatedRecipe:
    """The recipe as validated models, with the registrations its `type`s name."""

    model: RecipeModel
    source: BaseModel
    source_registration: Registration[Any]
    steps: tuple[tuple[BaseModel, Registration[Any]], ...]
    destination: BaseModel
    destination_registration: Registration[Any]


def validate(rendered: RenderedTree, recipe_dir: Path) -> ValidatedRecipe:
    ensure_builtins()
    tree = rendered.tree
    problems = list(rendered.problems)
    _import_plugins(tree, recipe_dir, problems)
    if _has_python_steps(tree):  # their functions import like plug-ins: the recipe's folder first
        import_plugins([], search_paths=[recipe_dir, Path.cwd()])
    data = to_plain(tree)
    reporter = _Reporter(tree, data, rendered.secrets, {p.path for p in problems})

    model: RecipeModel | None = None
    try:
        model = RecipeModel.model_validate(data)
    except ValidationError as exc:
        problems += reporter.problems(exc, (), RecipeModel)

    source = reporter.block("source", data.get("source"), ("source",), problems)
    steps_data = (
        (data.get("transform") or {}).get("steps")
        if isinstance(data.get("transform"), dict)
        else None
    )
    steps = []
    if isinstance(steps_data, list):
        for index, step in enumerate(steps_data):
            steps.append(reporter.block("transform", step, ("transform", "steps", index), problems))
    destination = reporter.block("destination", data.get("destination"), ("destination",), problems)
    if problems or model is None or source is None or destination is None or None in steps:
        raise RecipeError(_dedupe(problems))
    return ValidatedRecipe(
        model=model,
        source=source[0],
        source_registration=source[1],
        steps=tuple(s for s in steps if s is not None),
        destination=destination[0],
        destination_registration=destination[1],
    )


def _import_plugins(tree: Node, recipe_dir: Path, problems: list[Problem]) -> None:
    plugins = tree.get("plugins")
    if plugins is None or not plugins.is_sequence:
        return
    for index, item in enumerate(plugins.value):
        if not isinstance(item.value, str):
            continue
        try:
            import_plugins([item.value], search_paths=[recipe_dir, Path.cwd()])
        except Exception as exc:
            problems.append(
                Problem(
                    f"cannot import plug-in module '{item.value}': {exc}",
                    path=f"plugins[{index}]",
                    location=item.location,
                    hint="the module must be importable from the recipe's folder, the working "
                    "directory or the installed packages",
                )
            )


def _has_python_steps(tree: Node) -> bool:
    steps = find(tree, ("transform", "steps"))
    return (
        steps is not None
        and steps.is_sequence
        and any(
            step.is_mapping and step.get("type") is not None and step.get("type").value == "python"  # type: ignore[union-attr]
            for step in steps.value
        )
    )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        seen.setdefault((problem.path, problem.message), problem)
    return sorted_problems(seen.values())


def validate_section(rendered: RenderedTree, key: str, model: type[M]) -> M:
    """The top-level block `key` of a rendered tree as `model`, its problems located."""
    data = to_plain(rendered.tree)
    problems = list(rendered.problems)
    reporter = _Reporter(rendered.tree, data, rendered.secrets, {p.path for p in problems})
    try:
        section = model.model_validate(data.get(key))
    except ValidationError as exc:
        problems += reporter.problems(exc, (key,), model)
    if problems:
        raise RecipeError(_dedupe(problems))
    return section


class _Reporter:
    """Turns Pydantic errors into Problems located in the recipe files."""

    def __init__(
        self,
        tree: Node,
        data: Any,
        secrets: Mapping[str, Any],
        already_reported: set[str],
    ) -> None:
        self.tree = tree
        self.data = data
        self.secrets = secrets
        self.already_reported = already_reported

    def block(
        self, kind: Kind, data: Any, path: KeyPath, problems: list[Problem]
    ) -> tuple[BaseModel, Registration[Any]] | None:
        """Validate a block whose model is chosen by its `type` key."""
        if not isinstance(data, dict):
            return None  # the top-level model already reported the wrong shape
        dotted = format_path(path)
        type_name = data.get("type")
        if type_name is None:
            problems.append(
                Problem(
                    f"missing required key 'type' in {dotted}",
                    path=f"{dotted}.type",
                    location=nearest_location(self.tree, path),
                    expected=f"one of: {', '.join(REGISTRY.names(kind))}",
                )
            )
            return None
        registration = REGISTRY.get(kind, str(type_name))
        if registration is None:
            names = REGISTRY.names(kind)
            problems.append(
                Problem(
                    f"unknown {kind} type '{type_name}'",
                    path=f"{dotted}.type",
                    location=nearest_location(self.tree, (*path, "type")),
                    expected=f"one of: {', '.join(names)}",
                    hint=did_you_mean(str(type_name), names)
                    or "plug-ins register more types; list them with `recipec list-connectors`",
                )
            )
            return None
        try:
            return registration.config_model.model_validate(data), registration
        except ValidationError as exc:
            problems += self.problems(exc, path, registration.config_model)
            return None

    def problems(
        self, exc: ValidationError, prefix: KeyPath, model: type[BaseModel]
    ) -> list[Problem]:
        out = []
        for error in exc.errors(include_url=False):
            raw_loc = tuple(error["loc"])
            loc = _data_path(self.data, prefix, raw_loc)
            path = (*prefix, *loc)
            dotted = format_path(path)
            if dotted in self.already_reported or format_path(prefix) in self.already_reported:
                continue
            if prefix and not raw_loc and error["type"] == "model_type":
                continue
            if error["type"] == "checks":  # a model validator's problems, each at its key
                out += [
                    Problem(
                        message,
                        path=format_path((*path, *key)),
                        location=nearest_location(self.tree, (*path, *key)),
                        hint=hint,
                    )
                    for key, message, hint in error["ctx"]["problems"]
                ]
                continue
            out.append(self._problem(error, path, dotted, model, loc))
        return out

    def _problem(
        self,
        error: Any,
        path: KeyPath,
        dotted: str,
        model: type[BaseModel],
        loc: KeyPath,
    ) -> Problem:
        kind = error["type"]
        ctx = error.get("ctx") or {}
        location = nearest_location(self.tree, path)
        key = path[-1] if path else ""
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1], _value_at(self.data, path[:-1]))
            return Problem(
                f"unknown key '{key}'",
                path=dotted,
                location=location,
                expected=f"one of: {', '.join(sorted(allowed))}" if allowed else None,
                hint=did_you_mean(str(key), allowed),
            )
        if kind == "missing":
            return Problem(f"missing required key '{key}'", path=dotted, location=location)
        if kind == "union_tag_invalid":
            expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
            field = str(ctx.get("discriminator", "")).strip("'")
            return Problem(
                f"unknown value '{ctx.get('tag')}' for '{field}'",
                path=dotted,
                location=location,
                expected=f"one of: {', '.join(expected)}",
                hint=did_you_mean(str(ctx.get("tag")), expected),
            )
        if kind == "literal_error":
            expected_text = str(ctx.get("expected", ""))
            options = [o.strip(" '") for o in expected_text.replace(" or ", ",").split(",")]
            return Problem(
                f"invalid value {self._shown(error, dotted)}",
                path=dotted,
                location=location,
                expected=f"one of: {', '.join(o for o in options if o)}",
                hint=did_you_mean(str(error.get("input")), options),
            )
        if kind == "expression":  # point at the token inside the expression string
            node = find(self.tree, path)
            start = node.location if node is not None else location
            return Problem(
                error["msg"], path=dotted, location=inside_scalar(start, int(ctx["offset"]))
            )
        if "hint" in ctx:
            return Problem(error["msg"], path=dotted, location=location, hint=ctx["hint"])
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        elif kind not in {"model_type", "dict_type", "list_type", "sql_step"}:
            message = f"{message}; got {self._shown(error, dotted)}"
        return Problem(message, path=dotted, location=location)

    def _shown(self, error: Any, dotted: str) -> str:
        if dotted in self.secrets:
            return "***"
        shown = repr(error.get("input"))
        return shown if len(shown) <= 80 else shown[:77] + "..."


def _data_path(data: Any, prefix: KeyPath, loc: KeyPath) -> KeyPath:
    """Pydantic's `loc` without union-member tags and validator names: only real keys."""
    current = _value_at(data, prefix)
    out: list[str | int] = []
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(current, dict):
            if part in current:
                out.append(part)
                current = current[part]
            elif last and isinstance(part, str):
                out.append(part)  # a missing key
            continue  # a tag such as 'cursor' or 'function-after[...]'
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            out.append(part)
            current = current[part]
        # anything else is a tag
    return tuple(out)


def _value_at(data: Any, path: KeyPath) -> Any:
    current = data
    for part in path:
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return None
    return current


def _expand(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (unwrapping Annotated, Optional, unions)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _expand(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _expand(arg)]
    return [annotation]


def _allowed_keys(model: type[BaseModel], loc: KeyPath, data: Any) -> set[str]:
    candidates: list[Any] = [model]
    for part in loc:
        following: list[Any] = []
        for candidate in (t for c in candidates for t in _expand(c)):
            origin = typing.get_origin(candidate)
            if inspect.isclass(candidate) and issubclass(candidate, BaseModel):
                for name, field in candidate.model_fields.items():
                    if part in (name, field.alias):
                        following.append(field.annotation)
            elif origin is list and isinstance(part, int):
                following.append(typing.get_args(candidate)[0])
            elif origin is dict:
                following.append(typing.get_args(candidate)[1])
        candidates = following
    keys: set[str] = set()
    for candidate in (t for c in candidates for t in _expand(c)):
        if inspect.isclass(candidate) and issubclass(candidate, BaseModel):
            fields = candidate.model_fields
            tag = data.get("strategy") if isinstance(data, dict) else None
            strategy = fields.get("strategy")
            if tag is not None and strategy is not None and tag not in str(strategy.annotation):
                continue  # another member of a discriminated union
            keys |= {field.alias or name for name, field in fields.items()}
    return keys


__all__ = ["ValidatedRecipe", "validate"]
