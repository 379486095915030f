"""Example plug-ins, imported by recipes that list `plugins: [example_plugins]`.

A source written in Python: it yields batches of rows and, when the recipe loads incrementally,
starts from the watermark recipec hands it, as a paginated API client would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field

from recipec import DictBatch, Incremental, ReadContext, register_source

START = dt.datetime(2024, 1, 1)


class FakeUsersConfig(BaseModel):
    """The source block of `type: fake_users` (unknown keys are errors, as for built-ins)."""

    model_config = ConfigDict(extra="forbid")
    type: str
    count: int = Field(default=100, ge=0)
    """How many users the fake API holds."""
    page_size: int = Field(default=25, ge=1)
    incremental: Incremental | None = None
    """Typed as recipec's own, so `strategy: cursor` works as for built-in sources."""


@register_source("fake_users", config=FakeUsersConfig)
def fake_users(config: FakeUsersConfig, context: ReadContext) -> Iterator[DictBatch]:
    """Users from a fake paginated API (one page per batch)."""
    since = dt.datetime.fromisoformat(str(context.watermark)) if context.watermark else None
    rows = []
    for number in range(1, config.count + 1):
        updated = START + dt.timedelta(hours=number)
        if since is None or updated >= since:
            rows.append([number, f"user{number}", f"user{number}@example.com", updated])
    for first in range(0, len(rows), config.page_size):
        yield DictBatch(
            columns=["id", "login", "email", "updated_at"],
            rows=rows[first : first + config.page_size],
            metadata={"page": first // config.page_size},
        )
