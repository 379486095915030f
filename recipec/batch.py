"""Batches of rows that Python sources yield."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class DictBatch:
    """Rows as lists, with column names: `DictBatch(columns=["id"], rows=[[1], [2]])`."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        width = len(self.columns)
        for number, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(
                    f"row {number} has {len(row)} values but the batch has {width} columns"
                )

    def __len__(self) -> int:
        return len(self.rows)

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        columns: list[Sequence[Any]] = (
            list(zip(*self.rows, strict=True)) if self.rows else [[] for _ in self.columns]
        )
        return pa.table(
            {
                name: pa.array(list(values))
                for name, values in zip(self.columns, columns, strict=True)
            }
        )


Batch = Union[DictBatch, "pa.RecordBatch", "pa.Table"]
"""What a Python source may yield."""


def to_arrow(batch: Batch) -> pa.Table:
    import pyarrow as pa

    if isinstance(batch, DictBatch):
        return batch.to_arrow()
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if isinstance(batch, pa.Table):
        return batch
    raise TypeError(
        f"a source yielded a {type(batch).__name__}; expected DictBatch, pyarrow.RecordBatch "
        "or pyarrow.Table"
    )
