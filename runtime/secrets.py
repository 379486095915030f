"""Resolve a plan's secret references at run time, and keep their values out of messages."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from recipec import redaction
from recipec.compiler.plan import Plan, Unit, parameter_name
from recipec.errors import Problem, RecipeError


def resolve_secrets(
    plan: Plan, unit: Unit, vars: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The unit's source and destination configs with each `***` replaced by its resolved
    secret."""
    configs = {
        "source": copy.deepcopy(unit.extract.config),
        "destination": copy.deepcopy(unit.write.config),
    }
    for path in unit.secrets:
        from recipec.compiler.frontend.inheritance import parse_dot_path

        block, *keys = parse_dot_path(path)
        if block not in configs or not keys:
            continue
        target: Any = configs[block]
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = _resolve(plan, unit, path, vars)
    return configs["source"], configs["destination"]


def transform_parameters(plan: Plan, unit: Unit, vars: Mapping[str, Any]) -> dict[str, Any]:
    """The DuckDB variables transform steps read (`step_<index>_<field>`): the config's value,
    or the resolved secret where the recipe gave one."""
    values: dict[str, Any] = {}
    for step in unit.transforms:
        for field in step.parameters:
            path = f"transform.steps[{step.index}].{field}"
            secret = path in unit.secrets
            value = _resolve(plan, unit, path, vars) if secret else step.config.get(field)
            values[parameter_name(step.index, field)] = value
    return values


def unused_vars(plan: Plan, vars: Mapping[str, Any]) -> list[str]:
    """Vars given to a saved plan that none of its secrets read (the rest are compiled in)."""
    read = {name for unit in plan.units for ref in unit.secrets.values() for name in ref.vars}
    return sorted(set(vars) - read)


def _resolve(plan: Plan, unit: Unit, path: str, vars: Mapping[str, Any]) -> str:
    from recipec.compiler.frontend.inheritance import parse_dot_path
    from recipec.compiler.frontend.templates import SecretReference, TemplateLookupError

    ref = unit.secrets[path]
    missing = [name for name in ref.vars if name not in vars]
    if missing:
        raise RecipeError(
            f"the secret at {path} reads var '{missing[0]}', which a plan does not keep: pass "
            f"it with --var {missing[0]}=VALUE"
        )
    reference = SecretReference(
        ref.template,
        tuple(ref.env),
        tuple(ref.vars),
        file=ref.file,
        key=parse_dot_path(ref.key) if ref.key else (),
    )
    try:
        value = reference.resolve(plan.name, vars)
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
    redaction.register(value)
    return value
