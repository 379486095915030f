"""What the compiler and the run ask of a transform step's config, with the answer of a step that
does not know. A built-in step's model overrides what it knows; a plug-in's model may define any
of these methods (without inheriting this class: its registration adds the defaults)."""

from __future__ import annotations

from typing import ClassVar

Columns = list[tuple[str, str]]
"""A relation's columns: (name, DuckDB type)."""


class TransformHooks:
    runs_in_python: ClassVar[bool] = False
    """A step whose rows a Python function makes (the run stages them), not SQL."""
    bound_parameters: ClassVar[tuple[str, ...]] = ()
    """Fields the SQL reads at run time as DuckDB variables (`step_<index>_<field>`), so they
    may hold secrets."""

    def output_columns(self, columns: Columns) -> Columns | None:
        """The step's output from its input's columns (raise `LookupError` for a missing one);
        None when only running it tells, which ends the checking of later steps."""
        return None

    def expressions(self) -> dict[str, str]:
        """The step's expressions by key (`where`, `columns.total`), to locate their errors."""
        return {}

    def output_name(self, column: str) -> str:
        """What `column` is called after the step (the cursor followed through a rename)."""
        return column

    def carried_from(self, column: str) -> str | None:
        """The input column whose values output `column` carries unchanged; None when the
        step does not say (or changes them)."""
        return None

    def zone_sensitive(self) -> list[str]:
        """Columns cast to `datetime` (TIMESTAMPTZ when the input carries a zone)."""
        return []


def runs_in_python(model: type) -> bool:
    """Whether a registered transform's model is a Python step's."""
    return issubclass(model, TransformHooks) and model.runs_in_python


def hooks(config: object) -> TransformHooks:
    """`config` as the hooks it answers (every registered transform's config does)."""
    if not isinstance(config, TransformHooks):
        raise TypeError(f"{type(config).__name__} is not a registered transform's config")
    return config
