"""Stage 3: render Jinja templates value by value, after inheritance.

Each string scalar is rendered on its own, so an error keeps the file, line and key path of the
value that failed. Values that read the environment under secret-looking keys, and any value that
calls `secret()`, become secrets: the plan stores a `SecretReference` (how to resolve the value
again) instead of the value itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from recipec.compiler.frontend.yaml_loader import KeyPath, Node, format_path
from recipec.errors import Problem, RecipeError

CREDENTIAL_WORDS = (
    r"password|passwd|pwd|secret|token|api[_-]?key|private[_-]?key|credentials?"
    r"|auth|authorization|dsn|connection[_-]?string"
)
"""Words naming a credential, as the whole key or a part of it between `_` or `-`."""


def key_pattern(words: str) -> re.Pattern[str]:
    """Key names holding one of `words` (`db_password`, `api-key`; not `author`)."""
    return re.compile(rf"(?i)(^|[_-])({words})($|[_-])")


SECRET_KEY = key_pattern(CREDENTIAL_WORDS + "|url|uri")
"""Key names whose values, when read from the environment, are secrets (`db_password`...)."""
_UNSET: Any = object()


class TemplateLookupError(Exception):
    """A template asked for something that is not there (env var, var)."""


@dataclass(frozen=True)
class SecretReference:
    """How to resolve a secret again at run time, never its value: the template with the names
    of the environment variables and vars it reads, or, for a value written as it is, the recipe
    file and key that hold it."""

    template: str | None
    env_vars: tuple[str, ...] = ()
    var_names: tuple[str, ...] = ()
    file: str | None = None
    """A literal secret: the recipe file it is written in."""
    key: KeyPath = ()
    """A literal secret: its key path in that file."""

    def resolve(self, recipe_name: str, vars: Mapping[str, Any]) -> str:
        """The value. Raises `TemplateLookupError` when a var or environment variable it reads
        is not set, or the file no longer holds it."""
        if self.template is not None:
            return render_string(self.template, vars=vars, recipe_name=recipe_name).value
        from recipec.compiler.frontend.recipe_files import file_of
        from recipec.compiler.frontend.yaml_loader import find, load_yaml_file

        assert self.file is not None
        try:
            node = find(load_yaml_file(file_of(self.file)), self.key)
        except (OSError, RecipeError) as exc:
            raise TemplateLookupError(f"cannot read {self.file}: {exc}") from None
        if node is None or not isinstance(node.value, str) or _is_template(node.value):
            raise TemplateLookupError(f"{self.file} no longer holds {format_path(self.key)}")
        return node.value


@dataclass
class _Reads:
    """What one rendering looked up."""

    env: set[str] = field(default_factory=set)
    vars: dict[str, str] = field(default_factory=dict)
    called_secret: bool = False
    missing: set[str] = field(default_factory=set)
    """Environment variables read but not set (only when rendering without secrets)."""
    placeholder: str | None = None
    """What a missing environment variable reads as (None: it is an error)."""


@dataclass(frozen=True)
class Rendered:
    value: str
    reads: _Reads


class _Env:
    """`{{ env.X }}`: attribute access to environment variables; a missing one is an error."""

    def __init__(self, reads: _Reads) -> None:
        self._reads = reads

    def __getattr__(self, name: str) -> str:
        return _read_env(self._reads, name, _UNSET)

    __getitem__ = __getattr__


def _read_env(reads: _Reads, name: str, default: Any) -> str:
    reads.env.add(name)
    if name in os.environ:
        return os.environ[name]
    if default is _UNSET and reads.placeholder is not None:
        reads.missing.add(name)
        return reads.placeholder
    if default is _UNSET:
        raise TemplateLookupError(f"environment variable '{name}' is not set")
    return str(default)


def _environment() -> jinja2.Environment:
    return ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


_ENV = _environment()


SECRET_PLACEHOLDER = "***"
"""The value of a secret when a recipe is rendered without its secrets (`recipec diff`)."""


def render_string(
    text: str, *, vars: Mapping[str, Any], recipe_name: str, placeholder: str | None = None
) -> Rendered:
    reads = _Reads(placeholder=placeholder)

    def env_var(name: str, default: Any = _UNSET) -> str:
        return _read_env(reads, name, default)

    def var(name: str, default: Any = _UNSET) -> str:
        if name in vars:
            reads.vars[name] = str(vars[name])
            return str(vars[name])
        if default is _UNSET and reads.placeholder is not None:
            reads.missing.add(f"var {name}")
            return reads.placeholder
        if default is _UNSET:
            raise TemplateLookupError(
                f"variable '{name}' is not set (pass it with --var {name}=VALUE)"
            )
        return str(default)

    def secret(name: str) -> str:
        reads.called_secret = True
        return _read_env(reads, name, _UNSET)

    context = {
        "env_var": env_var,
        "env": _Env(reads),
        "var": var,
        "secret": secret,
        "recipe": {"name": recipe_name},
    }
    return Rendered(_ENV.from_string(text).render(context), reads)


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


@dataclass(frozen=True)
class RenderedTree:
    tree: Node
    secrets: Mapping[str, SecretReference]
    """Values that are secrets by what they read (`secret()`, the environment under a
    secret-looking key), by dot path."""
    references: Mapping[str, SecretReference]
    """How to render each templated value again, by dot path (a field that holds secrets makes
    its value one whatever the template read)."""
    templated: frozenset[str]
    """Dot paths of every value produced by a template (paths in them resolve against the CWD)."""
    problems: tuple[Problem, ...]
    """Templates that failed; their values are left unrendered."""


def render_tree(
    tree: Node, *, vars: Mapping[str, Any], resolve_secrets: bool = True
) -> RenderedTree:
    """Render every templated string in `tree`, collecting every failure. Without
    `resolve_secrets`, a secret whose environment variable or var is not set reads as `***`
    (what is compiled for a diff connects to nothing); any other missing one is still an
    error."""
    problems: list[Problem] = []
    references: dict[str, SecretReference] = {}
    secrets: dict[str, SecretReference] = {}
    templated: set[str] = set()
    name_node = tree.get("name")
    recipe_name = name_node.value if name_node and isinstance(name_node.value, str) else ""
    if _is_template(recipe_name):
        recipe_name = ""  # a templated name cannot refer to itself

    def visit(node: Node, path: KeyPath) -> Node:
        if node.is_mapping:
            return node.with_value({k: visit(v, (*path, k)) for k, v in node.value.items()})
        if node.is_sequence:
            return node.with_value([visit(v, (*path, i)) for i, v in enumerate(node.value)])
        if not _is_template(node.value):
            return node
        dotted = format_path(path)
        key = next((p for p in reversed(path) if isinstance(p, str)), "")
        placeholder = None if resolve_secrets else SECRET_PLACEHOLDER
        try:
            rendered = render_string(
                node.value, vars=vars, recipe_name=recipe_name, placeholder=placeholder
            )
            is_secret = rendered.reads.called_secret or bool(
                (rendered.reads.env or rendered.reads.missing) and SECRET_KEY.search(key)
            )
            if rendered.reads.missing and not is_secret:  # not a secret: missing is an error
                rendered = render_string(node.value, vars=vars, recipe_name=recipe_name)
            elif rendered.reads.missing:
                rendered = Rendered(SECRET_PLACEHOLDER, rendered.reads)
        except (TemplateLookupError, jinja2.UndefinedError) as exc:
            problems.append(_problem(node, dotted, f"unresolved template: {exc}"))
            return node
        except jinja2.TemplateSyntaxError as exc:
            problems.append(_problem(node, dotted, f"template syntax error: {exc.message}"))
            return node
        except jinja2.TemplateError as exc:
            problems.append(_problem(node, dotted, f"template error: {exc}"))
            return node
        templated.add(dotted)
        references[dotted] = SecretReference(
            node.value, tuple(sorted(rendered.reads.env)), tuple(sorted(rendered.reads.vars))
        )
        if is_secret:
            secrets[dotted] = references[dotted]
        return node.with_value(rendered.value)

    result = visit(tree, ())
    return RenderedTree(result, secrets, references, frozenset(templated), tuple(problems))


def _problem(node: Node, path: str, message: str) -> Problem:
    return Problem(message, path=path, location=node.location)
