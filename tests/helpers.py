"""Helpers shared by the tests: a scratch project folder, and running the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Project:
    """A temporary project folder that is also the working directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def rows(self, query: str, database: str = "out.duckdb") -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.root / database), read_only=True) as connection:
            return connection.execute(query).fetchall()

    def columns(self, table: str, database: str = "out.duckdb") -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.rows(f"DESCRIBE {table}", database)]

    def state(self, name: str, state_dir: str = ".state") -> dict[str, Any] | None:
        path = self.root / state_dir / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def snapshot(self, table: str, database: str = "out.duckdb") -> tuple[Any, ...]:
        """Everything a failed run must leave alone: table rows, committed state, saved state."""
        saved_dir = self.root / ".state"
        saved = sorted((p.name, p.read_text()) for p in saved_dir.glob("*.json"))
        db = self.root / database
        if not db.exists():
            return None, None, saved
        with duckdb.connect(str(db), read_only=True) as connection:
            names = {
                r[0]
                for r in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            }
            data = None
            if table.split(".")[-1].strip('"') in names:
                data = sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            state = None
            if "_recipec_state" in names:
                query = "SELECT recipe_name, state FROM recipec._recipec_state ORDER BY 1"
                state = connection.execute(query).fetchall()
        return data, state, saved


def run_subprocess(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """Run `python -m recipec ARGS...` in a separate process (for crashes and entry points)."""
    environment = {**os.environ, **(env or {})}
    completed = subprocess.run(
        [sys.executable, "-m", "recipec", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)
