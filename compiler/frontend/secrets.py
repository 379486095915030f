"""Which values of a recipe are secrets, and how a plan resolves them again without holding them.

A value is a secret by what reads it or by what it read. By what reads it: a field a connector
or step marks `SecretField` (a password, a salt), and, in a block handed to Python as data (a
Python source, a plug-in destination), every key that names a credential (`token`, `api_key`).
A value there is a secret whatever wrote it: a literal, a var, the environment. By what it read:
a template that calls `secret()`, or reads the environment under a secret-looking key
(`templates.SECRET_KEY`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from recipec import redaction
from recipec.compiler.connectors.base import SqlSource
from recipec.compiler.frontend.models import holds_secret
from recipec.compiler.frontend.templates import (
    CREDENTIAL_WORDS,
    SECRET_PLACEHOLDER,
    RenderedTree,
    SecretReference,
    key_pattern,
)
from recipec.compiler.frontend.validate import ValidatedRecipe
from recipec.compiler.frontend.yaml_loader import KeyPath, Node, find, format_path
from recipec.errors import RecipeError

CREDENTIAL_KEY = key_pattern(CREDENTIAL_WORDS)
"""Keys of a block handed to Python whose values are secrets however they are written. (Unlike
`SECRET_KEY`, not `url`: a plain URL is worth showing; one read from the environment is not.)"""


def recipe_secrets(
    validated: ValidatedRecipe, rendered: RenderedTree
) -> dict[str, SecretReference]:
    """Every secret of the recipe by dot path, each registered for redaction."""
    secrets = dict(rendered.secrets)
    for path in _secret_fields(validated):
        dotted = format_path(path)
        node = find(rendered.tree, path)
        if dotted in secrets or node is None or not isinstance(node.value, str) or not node.value:
            continue
        secrets[dotted] = rendered.references.get(dotted) or SecretReference(
            None, file=_portable(node.location.file), key=_key_in_file(node, path)
        )
    for dotted in secrets:
        node = find(rendered.tree, _key_path(dotted))
        if node is not None and node.value != SECRET_PLACEHOLDER:
            redaction.register(node.value)
    return dict(sorted(secrets.items()))


def _secret_fields(validated: ValidatedRecipe) -> Iterator[KeyPath]:
    factory = validated.source_registration.factory
    source_is_data = not (isinstance(factory, type) and issubclass(factory, SqlSource))
    capabilities = getattr(validated.destination_registration.factory, "capabilities", None)
    destination_is_data = capabilities is None or capabilities.dialect == "python"
    yield from _fields(validated.source, ("source",), source_is_data)
    yield from _fields(validated.destination, ("destination",), destination_is_data)
    for index, (config, _) in enumerate(validated.steps):
        yield from _fields(config, ("transform", "steps", index), as_data=False)


def _fields(config: BaseModel, prefix: KeyPath, as_data: bool) -> Iterator[KeyPath]:
    for name, info in type(config).model_fields.items():
        if holds_secret(info.annotation, info.metadata):
            yield (*prefix, info.alias or name)
    if as_data:
        yield from _credential_keys(config.model_dump(by_alias=True), prefix)


def _credential_keys(data: Any, prefix: KeyPath) -> Iterator[KeyPath]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, str) and CREDENTIAL_KEY.search(str(key)):
                yield (*prefix, key)
            else:
                yield from _credential_keys(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _credential_keys(value, (*prefix, index))


def _key_path(dotted: str) -> KeyPath:
    from recipec.compiler.frontend.inheritance import parse_dot_path

    return parse_dot_path(dotted)


def _key_in_file(node: Node, path: KeyPath) -> KeyPath:
    """Where the file that wrote `node` holds it: its key path there may differ from the one
    in the resolved recipe (a resource's `defaults:`)."""
    from recipec.compiler.frontend.yaml_loader import load_yaml_file, walk

    written = node.location
    try:
        tree = load_yaml_file(Path(written.file))
    except RecipeError:
        return path
    found = (p for p, n in walk(tree) if n.location == written and n.value == node.value)
    return next(found, path)


def _portable(file: str) -> str:
    from recipec.compiler.frontend.recipe_files import portable_name

    return portable_name(Path(file))
