"""Resolve a plan's secret references at run time, and keep their values out of messages."""

from __future__ import annotations

import copy
from typing import Any

from recipec.compiler.plan import Plan
from recipec.compiler.templates import SecretReference, TemplateLookupError
from recipec.errors import Problem, RecipeError

REDACTED = "***"


class Redactor:
    """Replaces every secret value it has seen with `***`."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, value: str) -> None:
        if value:
            self.values.add(value)

    def __call__(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, REDACTED)
        return text


def resolve_secrets(plan: Plan, redactor: Redactor) -> tuple[dict[str, Any], dict[str, Any]]:
    """The source and destination configs with each `***` replaced by its resolved secret."""
    configs = {
        "source": copy.deepcopy(plan.extract.config),
        "destination": copy.deepcopy(plan.write.config),
    }
    for path in plan.secrets:
        block, *keys = path.split(".")
        if block not in configs or not keys:
            continue
        value = _resolve(plan, path, redactor)
        target = configs[block]
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return configs["source"], configs["destination"]


def transform_parameters(plan: Plan, redactor: Redactor) -> dict[str, Any]:
    """The DuckDB variables transform steps read (`step_<index>_<field>`): the config's value,
    or the resolved secret where the recipe gave one."""
    from recipec.compiler.lowering import parameter_name

    values: dict[str, Any] = {}
    for step in plan.transforms:
        for field in step.parameters:
            path = f"transform.steps[{step.index}].{field}"
            secret = path in plan.secrets
            value = _resolve(plan, path, redactor) if secret else step.config.get(field)
            values[parameter_name(step.index, field)] = value
    return values


def _resolve(plan: Plan, path: str, redactor: Redactor) -> str:
    ref = plan.secrets[path]
    reference = SecretReference(ref.template, tuple(ref.env), tuple(sorted(ref.vars.items())))
    try:
        value = reference.resolve(plan.name)
    except TemplateLookupError as exc:
        raise RecipeError(
            [
                Problem(
                    f"cannot resolve the secret: {exc}",
                    path=path,
                    file=plan.files[0].path if plan.files else None,
                )
            ]
        ) from None
    redactor.add(value)
    return value
