"""What a plug-in source or destination implements, and what the runtime hands it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from recipec.compiler.connectors.base import DestinationCapabilities

if TYPE_CHECKING:
    import pyarrow as pa

    from recipec.batch import Batch

PLUGIN_DESTINATION_CAPABILITIES = DestinationCapabilities(
    write_modes=frozenset({"append", "overwrite", "merge"}), holds_state=False, dialect="python"
)


@dataclass(frozen=True)
class ReadContext:
    """Given to a Python source: where the last run stopped, and how big batches should be."""

    recipe_name: str
    batch_size: int
    cursor_column: str | None
    watermark: Any
    """The last committed watermark (or `initial_value`); None on a first full read."""


@dataclass(frozen=True)
class WriteContext:
    """Given to a plug-in destination with the rows to write."""

    recipe_name: str
    table: str
    write_mode: str
    merge_keys: tuple[str, ...]
    full_refresh: bool
    batch_size: int


@runtime_checkable
class Source(Protocol):
    """A Python source: yields `DictBatch`es or Arrow batches."""

    def read(self, context: ReadContext) -> Iterable[Batch]: ...


@runtime_checkable
class Destination(Protocol):
    """A plug-in destination: writes the staged rows; returns how many it wrote."""

    def write(self, data: pa.RecordBatchReader, context: WriteContext) -> int | None: ...
