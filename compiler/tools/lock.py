"""Schema locks: the source's columns, read once and committed beside the recipe.

`recipec lock orders.yaml` reads the source (introspects a database; reads files' headers or
Parquet metadata) and writes `orders.lock.yaml`: reviewable YAML, meant to be committed. Later
compiles use it, so they are offline and fully typed. A run compares the live source with the
lock first: a removed or retyped column stops the run with the exact difference (run
`recipec lock` again to accept it); a new column is reported and loaded.

A recipe with resources keeps one lock file, its resources' columns under `resources:` by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from recipec.compiler.backend.lowering import source_relation
from recipec.compiler.frontend.yaml_loader import display_path
from recipec.compiler.semantic.ir import LoadIR
from recipec.compiler.semantic.typecheck import file_columns
from recipec.compiler.semantic.types import duckdb_spelling
from recipec.errors import RecipeError

Columns = tuple[tuple[str, str], ...]
HEADER = (
    "# recipec schema lock: the source's columns as `recipec lock` read them.\n"
    "# Commit this file; compiles use it offline, and runs stop if the source drifts from it.\n"
    "# Run `recipec lock {recipe}` again to accept a change.\n"
)


LOCK_SUFFIX = ".lock.yaml"


def lock_path(recipe: Path) -> Path:
    return recipe.with_name(f"{recipe.stem}{LOCK_SUFFIX}")


def live_columns(ir: LoadIR) -> tuple[Columns, list[Any] | None]:
    """The source's columns now (name, DuckDB type), and a database's `SourceColumn`s."""
    if ir.source.reader == "database":
        from recipec.compiler.semantic.introspect import introspect

        # the whole table, whatever `columns:` selects: the lock describes the source, and a
        # compile narrows it to the selection (so a new selection needs no new lock)
        found = introspect(ir.source.type, ir.source.config.model_copy(update={"columns": None}))
        return tuple((c.name, duckdb_spelling(c.duckdb_type)) for c in found), found
    columns = file_columns(ir, source_relation(ir.source))
    if columns is None:
        raise RecipeError(
            f"cannot read the columns of the {ir.source.type} source: lock needs a database "
            "source or local files that exist",
            file=ir.files[0][0] if ir.files else None,
        )
    return columns, None


def lock_entry(ir: LoadIR, columns: Columns, found: Any) -> dict[str, Any]:
    """One load's part of a lock file: its source type and columns."""
    details = {c.name: c for c in found or ()}
    entries = []
    for name, type_name in columns:
        entry: dict[str, Any] = {"name": name, "type": type_name}
        if name in details:
            entry["source_type"] = details[name].source_type
            entry["nullable"] = details[name].nullable
        entries.append(entry)
    return {"source": ir.source.type, "columns": entries}


def write_lock(path: Path, recipe: Path, document: dict[str, Any]) -> None:
    """`document`: one load's `lock_entry`, or `{"resources": {name: entry}}`."""
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=100)
    path.write_text(HEADER.format(recipe=recipe.name) + text, encoding="utf-8")


def read_lock_document(recipe: Path) -> dict[str, Any] | None:
    path = lock_path(recipe)
    if not path.exists():
        return None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise _not_a_lock(recipe, path, exc) from None
    if not isinstance(document, dict):
        raise _not_a_lock(recipe, path, "not a mapping")
    return document


def _not_a_lock(recipe: Path, path: Path, why: object) -> RecipeError:
    return RecipeError(
        f"not a recipec schema lock ({why}): run `recipec lock {recipe.name}` again",
        file=display_path(path),
    )


@dataclass(frozen=True)
class Lock:
    path: Path
    columns: Columns
    nullable: dict[str, bool]


def read_lock(recipe: Path, resource: str | None = None) -> Lock | None:
    """The lock of `recipe`'s one load, or of its `resource` (None when it has none)."""
    document = read_lock_document(recipe)
    if document is None:
        return None
    path = lock_path(recipe)
    try:
        if resource is not None:
            document = (document.get("resources") or {}).get(resource)
            if document is None:
                return None
        entries = document["columns"]
        columns = tuple((str(e["name"]), str(e["type"])) for e in entries)
    except (KeyError, TypeError, AttributeError) as exc:
        raise _not_a_lock(recipe, path, exc) from None
    nullable = {str(e["name"]): bool(e["nullable"]) for e in entries if "nullable" in e}
    return Lock(path, columns, nullable)


def selected(
    columns: Columns, selection: Sequence[str] | None
) -> tuple[Columns, list[tuple[int, str]]]:
    """`columns` narrowed to a source's `columns:` (in its order, as the read selects them),
    and each selected name `columns` does not have, with its index in the selection."""
    if not selection:
        return columns, []
    types = dict(columns)
    missing = [(index, name) for index, name in enumerate(selection) if name not in types]
    return tuple((name, types[name]) for name in selection if name in types), missing


@dataclass(frozen=True)
class Drift:
    added: Columns
    removed: Columns
    retyped: tuple[tuple[str, str, str], ...]

    @property
    def breaking(self) -> bool:
        return bool(self.removed or self.retyped)

    def lines(self) -> list[str]:
        return (
            [f"+ {name} {type_name} (new in the source)" for name, type_name in self.added]
            + [f"- {name} {type_name} (gone from the source)" for name, type_name in self.removed]
            + [f"~ {name}: {old} -> {new}" for name, old, new in self.retyped]
        )


def drift(locked: Sequence[tuple[str, str]], live: Sequence[tuple[str, str]]) -> Drift:
    before, now = dict(locked), dict(live)
    return Drift(
        added=tuple((n, t) for n, t in live if n not in before),
        removed=tuple((n, t) for n, t in locked if n not in now),
        retyped=tuple((n, before[n], now[n]) for n in before if n in now and before[n] != now[n]),
    )
