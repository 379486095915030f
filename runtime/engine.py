"""The DuckDB engine the runtime stages and transforms in, and how its errors are reported."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from recipec import duckdb_connection
from recipec.compiler.plan import LOADED_KEYS, NEW_KEYS
from recipec.errors import ConnectorError, DataLoaderError, EngineError, TransformError
from recipec.runtime import transient

DESTINATION = "_recipec_destination"
"""The name the destination database is attached under, whatever its file is called (DuckDB
would otherwise name the catalog after the file, and `recipec.duckdb` would collide with the
`recipec` state schema)."""


class Engine:
    """The one DuckDB instance a run stages and transforms in, shared by its units: each unit
    works in a connection of its own (its own transaction), and a DuckDB destination file is
    attached once (DuckDB lets one process attach a file once).

    Timestamps compare in UTC; DuckDB's own progress bar never prints (it would corrupt
    `--format json` on stdout). Tables have no row order, so DuckDB may write rows in the order
    its threads finish (faster, less memory) unless the recipe asks to keep the source's. What
    DuckDB spills goes to `temp_directory` (the run's own scratch folder).
    """

    def __init__(
        self,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        preserve_order: bool = False,
        temp_directory: str | None = None,
    ) -> None:
        self.instance = duckdb_connection.connect()
        settings = []
        if temp_directory:
            settings.append(f"SET temp_directory = {exp.Literal.string(temp_directory).sql()}")
        if threads:
            settings.append(f"SET threads = {int(threads)}")
        if memory_limit:
            settings.append(f"SET memory_limit = {exp.Literal.string(memory_limit).sql()}")
        for setting in settings:
            self.instance.execute(setting)
        self.preserve_order = preserve_order
        self.attached: dict[str, str] = {}
        """Database file -> the name it is attached under."""
        self.setup_lock = threading.Lock()
        """Held while a unit creates what units share (schemas, recipec's tables): DuckDB
        fails one of two transactions that create the same catalog entry."""
        self._files = threading.Condition()
        """Guards `attached`, `_users` and `_released`."""
        self._users: dict[str, int] = {}
        """Database file -> connections using it now."""
        self._released: set[str] = set()
        """Files handed to another DuckDB instance (dbt's) until it is done with them."""
        self._file_of: dict[int, str] = {}

    def connect(self, database: str | None) -> duckdb.DuckDBPyConnection:
        """A connection of its own, using `database` (a DuckDB file, attached on first use).
        Give it back with `disconnect`."""
        connection = self.instance.cursor()
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET enable_progress_bar = true")  # read by recipec's own progress
        connection.execute("SET enable_progress_bar_print = false")  # a connection's setting
        if not self.preserve_order:
            connection.execute("SET preserve_insertion_order = false")
        if database is None or database == ":memory:":
            return connection
        key = os.path.abspath(database)
        try:
            with self._files:
                self._files.wait_for(lambda: key not in self._released)
                name = self._attach(database, key)
                self._users[key] = self._users.get(key, 0) + 1
                self._file_of[id(connection)] = key
            connection.execute(f"USE {exp.to_identifier(name, quoted=True)}")
        except BaseException:
            self.disconnect(connection)
            raise
        return connection

    def disconnect(self, connection: duckdb.DuckDBPyConnection) -> None:
        with self._files:
            key = self._file_of.pop(id(connection), None)
            if key is not None:
                self._users[key] -= 1
                self._files.notify_all()
        connection.close()

    @contextlib.contextmanager
    def released(self, database: str) -> Iterator[None]:
        """Detach a DuckDB file while another DuckDB instance in this process (dbt-duckdb's)
        works in it: DuckDB opens a file once per process. Waits for the units using it to
        finish; units that want it meanwhile wait for it to come back."""
        key = os.path.abspath(database)
        with self._files:
            self._files.wait_for(lambda: not self._users.get(key) and key not in self._released)
            self._released.add(key)
            name = self.attached.pop(key, None)
            try:
                if name is not None:
                    self.instance.execute(f"DETACH {exp.to_identifier(name, quoted=True).sql()}")
            except BaseException:
                self._released.discard(key)
                raise
        try:
            yield
        finally:
            with self._files:
                self._released.discard(key)
                self._files.notify_all()

    def _attach(self, database: str, key: str) -> str:
        """The name `database` is attached under (with `_files` held)."""
        if key in self.attached:
            return self.attached[key]
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConnectorError(
                f"cannot create the folder of DuckDB database '{database}': {exc.strerror}",
                database=database,
            ) from None
        taken = set(self.attached.values())
        name = next(
            n
            for n in itertools.chain(
                [DESTINATION], (f"{DESTINATION}_{i}" for i in itertools.count(1))
            )
            if n not in taken
        )
        attach = exp.Attach(
            this=exp.alias_(exp.Literal.string(database), exp.to_identifier(name, quoted=True))
        )
        try:
            self.instance.execute(attach.sql("duckdb"))
        except duckdb.Error as exc:
            message = f"cannot open DuckDB database '{database}': {first_line(exc)}"
            raise transient.connector_error(message, exc, database=database) from None
        self.attached[key] = name
        return name

    def close(self) -> None:
        self.instance.close()


def connect(
    database: str | None = None,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
    preserve_order: bool = False,
    temp_directory: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """An engine of its own, using `database` (or in-memory only)."""
    engine = Engine(
        threads=threads,
        memory_limit=memory_limit,
        preserve_order=preserve_order,
        temp_directory=temp_directory,
    )
    return engine.connect(database)


def table_exists(connection: duckdb.DuckDBPyConnection, table: exp.Table) -> bool:
    """Whether `table` exists (in the current database, unless `table` names its catalog).

    A lookup of the one name: `information_schema` and `duckdb_tables()` list every attached
    catalog, and listing an attached Postgres database's tables costs a round trip."""
    target = table.copy()
    if not target.catalog:
        row = connection.execute("SELECT current_database()").fetchone()
        target.set("catalog", exp.to_identifier(row[0] if row else "memory", quoted=True))
        if not target.db:
            target.set("db", exp.to_identifier("main", quoted=True))
    try:
        connection.execute(f"SELECT 1 FROM {target.sql('duckdb')} LIMIT 0")
    except duckdb.CatalogException:
        return False
    return True


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@functools.lru_cache(maxsize=256)
def parameters(statement: str) -> tuple[str, ...]:
    """The `$name` parameters a statement uses, as DuckDB's own parser sees them (microseconds;
    a statement it cannot parse names none, and running it gives DuckDB's error)."""
    try:
        parsed = duckdb.extract_statements(statement)
    except duckdb.Error:
        return ()
    return tuple(sorted({name for s in parsed for name in s.named_parameters}))


def execute(
    connection: duckdb.DuckDBPyConnection, statement: str, values: dict[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Run a statement, binding exactly the `$parameters` it names."""
    names = parameters(statement)
    if not names:
        return connection.execute(statement)
    missing = [n for n in names if values is None or n not in values]
    if missing:
        raise EngineError(f"no value for parameter(s) {', '.join(missing)} of: {statement}")
    return connection.execute(statement, {n: values[n] for n in names})  # type: ignore[index]


def translate(exc: duckdb.Error, *, doing: str, **context: Any) -> DataLoaderError:
    """A DuckDB error as ours: what we were doing, and DuckDB's first line."""
    message = f"{doing}: {first_line(exc)}"
    if isinstance(exc, duckdb.ConversionException | duckdb.InvalidInputException):
        return TransformError(message, **context)
    if isinstance(exc, duckdb.BinderException | duckdb.CatalogException):
        return TransformError(message, **context)
    if isinstance(exc, duckdb.IOException):
        return transient.connector_error(message, exc, **context)
    return EngineError(message, **context)


def keys_table(connection: duckdb.DuckDBPyConnection, keys: list[str]) -> int:
    """`_recipec_loaded_keys` in the engine, holding `keys`; returns how many."""
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {LOADED_KEYS} AS "
        "SELECT CAST(unnest(CAST($keys AS VARCHAR[])) AS VARCHAR) AS row_hash",
        {"keys": keys},
    )
    return len(keys)


def keys_of(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The hashes in `_recipec_new_keys`, sorted (for a state file)."""
    rows = connection.execute(f"SELECT row_hash FROM {NEW_KEYS} ORDER BY 1").fetchall()
    return [str(row[0]) for row in rows]
