"""The JSON Schema (draft 2020-12) of the recipe format, generated from the Pydantic models.

Nothing here lists keys or types by hand: the top level is `RecipeModel`, `source` and
`destination` are a `oneOf` over every registered source and destination type, and each
`transform.steps` item a `oneOf` over every registered transform (built-ins and plug-ins alike),
each branch being that type's config model with `type` as a `const`. On top of the models, the
schema allows what the recipe *file* format allows before validation:

- `extends:` and `delete:` (see `inheritance.py`);
- partial files: a recipe with `extends:` inherits the rest, and a base without `name` exists
  only to be extended, so in both nothing is required (nested blocks merge key by key, so they
  are partial too; `transform.steps` items are concatenated, not merged, so they stay complete);
- a template string (`"{{ env_var('PORT') }}"`) in place of any scalar, since templates are
  rendered before validation.

Checks that need code (model validators, table-name parsing, destination capabilities) are left
to `recipec validate`: the schema accepts a superset of the valid recipes.
"""

from __future__ import annotations

import ast
import copy
import inspect
import itertools
import json
import re
import textwrap
from typing import Any, cast

from pydantic import BaseModel
from pydantic.json_schema import (
    GenerateJsonSchema,
    JsonSchemaMode,
    JsonSchemaValue,
    models_json_schema,
)
from pydantic_core import core_schema

from recipec.compiler.frontend import models
from recipec.compiler.frontend.models import RecipeModel
from recipec.compiler.frontend.resources import RESOURCE_NAME
from recipec.compiler.semantic.types import ALIASES, CANONICAL, LogicalType
from recipec.registry import REGISTRY, Kind, Registration, ensure_builtins

DRAFT = "https://json-schema.org/draft/2020-12/schema"

TEMPLATE_DEF = "template"
PARTIAL_SUFFIX = "__partial"
_KINDS: tuple[Kind, ...] = ("source", "destination", "transform")
_BLOCKS: tuple[Kind, ...] = ("source", "destination")
_STEP_DEF = "transform_step"

_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated")
_STRING_CONSTRAINTS = ("enum", "pattern", "format", "minLength", "maxLength")
# Keywords whose value is a subschema, a list of subschemas or a map of them.
_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")


def recipe_json_schema() -> dict[str, Any]:
    """The JSON Schema of a recipe file, from the models registered now (plug-ins included)."""
    ensure_builtins()
    registrations = {kind: REGISTRY.all(kind) for kind in _KINDS}
    config_models = list(
        dict.fromkeys(r.config_model for regs in registrations.values() for r in regs)
    )
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, "validation") for model in (RecipeModel, *config_models)
    ]
    refs, generated = models_json_schema(wanted, schema_generator=_Generator)
    defs: dict[str, Any] = generated.get("$defs", {})
    model_defs = {model: _def_name(refs[(model, "validation")]) for model, _ in wanted}

    used_names = set(defs)
    branch_names: dict[Kind, list[str]] = {}
    for kind, regs in registrations.items():
        names = branch_names.setdefault(kind, [])
        for registration in regs:
            name = _unique(f"{kind}.{registration.name}", used_names)
            defs[name] = _branch(registration, defs[model_defs[registration.config_model]])
            names.append(name)

    for kind in _BLOCKS:
        defs[kind] = _union(kind, registrations[kind], branch_names[kind])
    defs[_STEP_DEF] = _union("transform", registrations["transform"], branch_names["transform"])
    _add_dbt_step(defs)

    recipe_def = model_defs[RecipeModel]
    recipe = defs[recipe_def]
    _patch_recipe(recipe, defs)

    # The config models now live on as branches; drop their originals unless still referenced.
    for model in config_models:
        name = model_defs[model]
        if name in defs and not _references(
            {k: v for k, v in defs.items() if k != name}, f"#/$defs/{name}"
        ):
            del defs[name]

    # A block's `type` stays literal: it picks the branch, so a template cannot stand for it.
    unions = {*_BLOCKS, _STEP_DEF}
    defs = {
        name: schema if name in unions else _allow_templates(schema)
        for name, schema in defs.items()
    }
    defs[TEMPLATE_DEF] = {
        "type": "string",
        "pattern": r"\{\{|\{%",
        "description": "A Jinja template (`{{ env_var('NAME') }}`, `{{ var('NAME') }}`...), "
        "rendered before validation; its text must then fit the key.",
    }
    partial_name = _partial(recipe_def, defs)

    return {
        "$schema": DRAFT,
        "title": "recipec recipe",
        "description": "A recipec recipe file. A file with `extends:` (or a base without `name`, "
        "meant to be extended) may be partial: nothing is required in it.",
        "type": "object",
        "if": {
            "required": ["name"],
            "not": {"anyOf": [{"required": ["extends"]}, {"required": ["resources"]}]},
        },
        "then": {"$ref": f"#/$defs/{recipe_def}"},
        "else": {"$ref": f"#/$defs/{partial_name}"},
        "$defs": dict(sorted(defs.items())),
    }


# --- generation from the models ------------------------------------------------------------------


class _Generator(GenerateJsonSchema):
    """Pydantic's generator, plus attribute docstrings as descriptions, type names as strings,
    and any value for whatever a plug-in's model holds that JSON Schema cannot describe."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        properties = json_schema.get("properties")
        if isinstance(properties, dict):
            model = cast("type[BaseModel]", schema["cls"])
            docs = _attribute_docs(model)
            for name, field in model.model_fields.items():
                key = field.alias or name
                doc = docs.get(name)
                if doc and isinstance(properties.get(key), dict):
                    properties[key].setdefault("description", doc)
        return json_schema

    def dataclass_schema(self, schema: core_schema.DataclassSchema) -> JsonSchemaValue:
        if schema["cls"] is LogicalType:
            return _type_name_schema()
        return super().dataclass_schema(schema)

    def handle_invalid_for_json_schema(
        self, schema: Any, error_info: str
    ) -> JsonSchemaValue:  # pragma: no cover - only odd plug-in models
        return {"description": f"any value ({error_info} has no JSON Schema)"}


def _type_name_schema() -> dict[str, Any]:
    """A type named in a recipe: `int`, `Timestamp`, `decimal(12,2)`... (case-insensitive)."""

    def insensitive(word: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)

    plain = sorted(name for name, canonical in ALIASES.items() if canonical != "decimal")
    decimal = sorted(name for name, canonical in ALIASES.items() if canonical == "decimal")
    params = r"(\(\s*\d+\s*(,\s*\d+\s*)?\))?"
    pattern = (
        rf"^\s*(({'|'.join(map(insensitive, plain))})"
        rf"|({'|'.join(map(insensitive, decimal))})\s*{params})\s*$"
    )
    return {
        "type": "string",
        "pattern": pattern,
        "description": "A type name: " + ", ".join(CANONICAL) + " (or an alias such as "
        "integer, timestamp); decimal takes (precision, scale).",
        "examples": [*CANONICAL[:-1], "decimal(12,2)"],
    }


def _attribute_docs(model: type) -> dict[str, str]:
    """`field: int = 0` followed by a string literal: the field's docstring, by field name."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if cls is object or cls.__module__.startswith("pydantic"):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for statement, following in itertools.pairwise(body):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                paragraphs = inspect.cleandoc(following.value.value).split("\n\n")
                docs[statement.target.id] = "\n\n".join(" ".join(p.split()) for p in paragraphs)
    return docs


# --- the recipe's own structure ------------------------------------------------------------------


def _branch(registration: Registration[Any], model_schema: dict[str, Any]) -> dict[str, Any]:
    """One registered type: its config model's schema with `type` as a const."""
    branch = copy.deepcopy(model_schema)
    branch["title"] = f"{registration.kind} {registration.name}"
    if registration.description:
        branch["description"] = registration.description
    branch.setdefault("type", "object")
    properties = branch.setdefault("properties", {})
    origin = "built-in" if registration.builtin else "plug-in"
    described = f": {registration.description}" if registration.description else ""
    properties["type"] = {
        "const": registration.name,
        "description": f"{registration.name} ({origin} {registration.kind}){described}",
    }
    properties = {"type": properties.pop("type"), **properties}  # `type` first, for editors
    branch["properties"] = properties
    branch["required"] = ["type", *(r for r in branch.get("required", []) if r != "type")]
    return branch


def _union(
    kind: Kind, registrations: list[Registration[Any]], branches: list[str]
) -> dict[str, Any]:
    """A block whose shape its `type` chooses: one branch per registered type."""
    names = [r.name for r in registrations]
    union: dict[str, Any] = {
        "title": f"{kind} block" if kind != "transform" else "transform step",
        "description": f"A {kind}; `type` is one of: {', '.join(names)}. Plug-ins add more "
        "(`recipec list-connectors`; regenerate the schema after installing one).",
        "type": "object",
        "properties": {"type": {"enum": names}},
        "required": ["type"],
    }
    if branches:  # `oneOf` may not be empty
        union["oneOf"] = [{"$ref": f"#/$defs/{name}"} for name in branches]
    return union


def _add_dbt_step(defs: dict[str, Any]) -> None:
    """`- type: dbt` as the last step: the `dbt:` block's keys, `models` for its `select`."""
    settings = defs[models.DbtSettings.__name__]
    properties = {k: v for k, v in settings.get("properties", {}).items() if k != "select"}
    defs["transform.dbt"] = {
        "type": "object",
        "description": "dbt models built after the load commits (the last step).",
        "additionalProperties": False,
        "required": ["type", "project_dir"],
        "properties": {
            "type": {"const": "dbt"},
            "models": {"type": "array", "items": {"type": "string"}},
            **properties,
        },
    }
    settings.setdefault("properties", {})["depends_on"] = {
        "type": "array",
        "items": {"type": "string"},
        "description": "A recipe with resources: the resources dbt runs after (every resource "
        "without it). Not in a recipe of one load.",
    }
    step = defs[_STEP_DEF]
    step["properties"]["type"]["enum"].append("dbt")
    step.setdefault("oneOf", []).append({"$ref": "#/$defs/transform.dbt"})


def _patch_recipe(recipe: dict[str, Any], defs: dict[str, Any]) -> None:
    """Point `source`, `destination` and `transform.steps` at the unions; add the directives."""
    properties = recipe.setdefault("properties", {})
    for kind in _BLOCKS:
        described = {k: v for k, v in properties.get(kind, {}).items() if k in _ANNOTATIONS}
        properties[kind] = {**described, "$ref": f"#/$defs/{kind}"}
    transform = properties.get("transform", {})
    transform_ref = transform.get("$ref") or next(
        (s["$ref"] for s in transform.get("anyOf", []) if "$ref" in s), None
    )
    if transform_ref is not None:
        block = defs[_def_name({"$ref": transform_ref})]
        steps = block.setdefault("properties", {}).setdefault("steps", {"type": "array"})
        steps["items"] = {"$ref": f"#/$defs/{_STEP_DEF}"}
        steps.setdefault(
            "description",
            "Transforms applied in order; an extending recipe's steps come after its parent's.",
        )
    name = properties.get("name")
    if isinstance(name, dict) and name.get("type") == "string":
        name.setdefault("pattern", models._NAME.pattern)
    properties["extends"] = {
        "type": "string",
        "minLength": 1,
        "description": "A parent recipe to inherit from: a path relative to this file, or "
        "stdlib:NAME (for example stdlib:bases/duckdb_default.yaml). With it, this file may be "
        "partial.",
    }
    properties["delete"] = {
        "type": "array",
        "items": {
            "type": "string",
            "pattern": r"^([^.\[\]]+|\[\d+\])(\.[^.\[\]]+|\[\d+\])*$",
        },
        "description": "Dot paths removed after this file is merged onto its parent, for "
        "example destination.merge_keys or transform.steps[0].",
    }
    load = {
        "type": "object",
        "description": "Merged over `defaults:` (its `type` may come from there).",
    }
    properties["defaults"] = {
        "type": "object",
        "description": "Merged under every resource, with the rules of extends:.",
        "properties": {kind: load for kind in ("source", "destination")}
        | {key: properties[key] for key in ("transform", "schema") if key in properties},
    }
    properties["resources"] = {
        "type": "array",
        "minItems": 1,
        "description": "The recipe's loads, each run after the resources it depends on. With "
        "resources, the top level holds only name, description, plugins, runtime and defaults.",
        "items": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": RESOURCE_NAME.pattern},
                "depends_on": {"type": "array", "items": {"type": "string"}},
                "when": {
                    "type": ["string", "boolean"],
                    "description": "Loads only when this renders to true.",
                },
                "extends": properties["extends"],
                "source": load,
                "destination": load,
            }
            | {
                key: properties[key]
                for key in ("transform", "schema", "description")
                if key in properties
            },
        },
    }
    recipe["properties"] = properties


# --- templates -----------------------------------------------------------------------------------


def _allow_templates(schema: Any, wrap: bool = True) -> Any:
    """Let a template string stand for any scalar (templates render before validation)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _MAP and isinstance(value, dict):
            out[key] = {name: _allow_templates(sub) for name, sub in value.items()}
        elif key in _ONE and isinstance(value, dict):
            out[key] = _allow_templates(value)
        elif key in _MANY and isinstance(value, list):
            out[key] = [_allow_templates(sub, wrap=key != "anyOf") for sub in value]
        else:
            out[key] = value
    template = {"$ref": f"#/$defs/{TEMPLATE_DEF}"}
    if isinstance(out.get("anyOf"), list):
        members = out["anyOf"]
        if any(map(_needs_template, members)) and not any(map(_any_string, members)):
            out["anyOf"] = [*out["anyOf"], template]
    elif wrap and _needs_template(out):
        annotations = {k: out.pop(k) for k in _ANNOTATIONS if k in out}
        out = {**annotations, "anyOf": [out, template]}
    return out


def _any_string(schema: Any) -> bool:
    """Whether `schema` accepts every string (so every template)."""
    return (
        isinstance(schema, dict)
        and schema.get("type") == "string"
        and not any(k in schema for k in (*_STRING_CONSTRAINTS, "const", "$ref", *_MANY))
    )


def _needs_template(schema: Any) -> bool:
    """A scalar schema a template string would not already satisfy (a `const` is a tag)."""
    if not isinstance(schema, dict) or "$ref" in schema or "const" in schema:
        return False
    if any(k in schema for k in (*_MANY, "properties", "items", "additionalProperties")):
        return False
    declared = schema.get("type")
    types = set(declared) if isinstance(declared, list) else {declared} if declared else set()
    if not types:
        return "enum" in schema
    if types & {"object", "array"} or types == {"null"}:
        return False
    return types != {"string"} or any(k in schema for k in _STRING_CONSTRAINTS)


# --- partial recipes -----------------------------------------------------------------------------


def _partial(name: str, defs: dict[str, Any]) -> str:
    """A copy of `defs[name]` (and of everything it refers to) with nothing required."""
    partial_name = name + PARTIAL_SUFFIX
    if partial_name not in defs:
        defs[partial_name] = {}  # a placeholder, for recursive definitions
        defs[partial_name] = _relaxed(defs[name], defs)
    return partial_name


def _relaxed(schema: Any, defs: dict[str, Any]) -> Any:
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("required", "discriminator"):
            continue
        if key == "$ref" and isinstance(value, str):
            target = _def_name({"$ref": value})
            # Steps are concatenated, never merged: an extending recipe's steps are complete.
            keep = target in (_STEP_DEF, TEMPLATE_DEF) or target not in defs
            out[key] = value if keep else f"#/$defs/{_partial(target, defs)}"
        elif key in _MAP and isinstance(value, dict):
            out[key] = {name: _relaxed(sub, defs) for name, sub in value.items()}
        elif key in _ONE and isinstance(value, dict):
            out[key] = _relaxed(value, defs)
        elif key in _MANY and isinstance(value, list):
            # With keys missing several branches may fit: `oneOf` becomes `anyOf`.
            out["anyOf" if key == "oneOf" else key] = [_relaxed(sub, defs) for sub in value]
        else:
            out[key] = value
    return out


# --- helpers -------------------------------------------------------------------------------------


def _def_name(reference: dict[str, Any]) -> str:
    ref = reference["$ref"]
    prefix = "#/$defs/"
    if not ref.startswith(prefix):
        raise ValueError(f"unexpected reference {ref}")
    return ref[len(prefix) :].replace("~1", "/").replace("~0", "~")


def _unique(name: str, used: set[str]) -> str:
    """A definition name safe in a URI fragment, not yet used."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    candidate, number = safe, 2
    while candidate in used:
        candidate, number = f"{safe}_{number}", number + 1
    used.add(candidate)
    return candidate


def _references(schema: Any, ref: str) -> bool:
    if isinstance(schema, dict):
        return schema.get("$ref") == ref or any(_references(v, ref) for v in schema.values())
    if isinstance(schema, list):
        return any(_references(v, ref) for v in schema)
    return False


def schema_json(indent: int | None = 2) -> str:
    """The schema as JSON text."""
    return json.dumps(recipe_json_schema(), indent=indent, ensure_ascii=False) + "\n"


__all__ = ["DRAFT", "recipe_json_schema", "schema_json"]
