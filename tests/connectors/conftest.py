"""Real database servers for connector tests: each test gets its own schema or database.

Addresses come from RECIPEC_TEST_POSTGRES_URL / RECIPEC_TEST_MYSQL_URL. Under CI=true a server
that cannot be reached fails the test; elsewhere the test is skipped with how to start one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy

DEFAULTS = {
    "postgres": "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
}
HOW_TO_START = {
    "postgres": "start PostgreSQL on 127.0.0.1:5432 (trust auth, database test) or set "
    "RECIPEC_TEST_POSTGRES_URL",
    "mysql": "start MariaDB/MySQL on 127.0.0.1:3306 (root, empty password) or set "
    "RECIPEC_TEST_MYSQL_URL",
}


@dataclass
class Server:
    """A database server with a scratch namespace (a schema in Postgres, a database in MySQL)."""

    kind: str
    url: sqlalchemy.engine.URL
    engine: sqlalchemy.engine.Engine
    namespace: str

    def run(self, *statements: str) -> None:
        """Run statements in one transaction, as written (no parameter interpolation)."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            for statement in statements:
                cursor.execute(statement)
            connection.commit()
        finally:
            connection.close()

    def rows(self, query: str) -> list[tuple]:
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(query)
            return [tuple(r) for r in cursor.fetchall()]
        finally:
            connection.close()

    def destination(self, table: str, **extra: object) -> dict[str, object]:
        """A recipe `destination:` block writing `table` (schema-qualified) on this server."""
        block: dict[str, object] = {
            "type": self.kind,
            "host": self.url.host,
            "port": self.url.port,
            "database": self.url.database,
            "user": self.url.username,
            "table": table,
        }
        if self.url.password:
            block["password"] = self.url.password
        return block | extra

    def source(self, table: str, **extra: object) -> dict[str, object]:
        """A recipe `source:` block reading `table` from this server."""
        block: dict[str, object] = {
            "type": self.kind,
            "host": self.url.host,
            "port": self.url.port,
            "database": self.url.database if self.kind == "postgres" else self.namespace,
            "user": self.url.username,
            "table": f"{self.namespace}.{table}" if self.kind == "postgres" else table,
        }
        if self.url.password:
            block["password"] = self.url.password
        block.update(extra)
        return block


def _server(kind: str) -> Iterator[Server]:
    url = sqlalchemy.engine.make_url(
        os.environ.get(f"RECIPEC_TEST_{kind.upper()}_URL", DEFAULTS[kind])
    )
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.OperationalError as exc:
        message = f"{kind} at {url.host}:{url.port} unreachable ({exc.orig}); {HOW_TO_START[kind]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    namespace = f"recipec_{uuid.uuid4().hex[:10]}"
    create = f"CREATE SCHEMA {namespace}" if kind == "postgres" else f"CREATE DATABASE {namespace}"
    drop = (
        f"DROP SCHEMA IF EXISTS {namespace} CASCADE"
        if kind == "postgres"
        else f"DROP DATABASE IF EXISTS {namespace}"
    )
    with engine.begin() as connection:
        connection.exec_driver_sql(create)
    if kind == "mysql":
        engine.dispose()
        engine = sqlalchemy.create_engine(url.set(database=namespace))
    try:
        yield Server(kind, url, engine, namespace)
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(drop)
        engine.dispose()


@pytest.fixture
def postgres() -> Iterator[Server]:
    yield from _server("postgres")


@pytest.fixture
def mysql() -> Iterator[Server]:
    yield from _server("mysql")


@pytest.fixture(params=["postgres", "mysql"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield from _server(request.param)
