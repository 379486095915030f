"""Which failures a run retries, decided from real errors of real servers: by SQLSTATE or
MySQL error number where there is one, by the message only where there is none."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import psycopg2
import pymysql
import pytest

from recipec.runtime.transient import is_transient


def _postgres_error(statement: str, **connect) -> psycopg2.Error:
    settings = {"host": "127.0.0.1", "dbname": "test", "user": "postgres", **connect}
    try:
        connection = psycopg2.connect(connect_timeout=5, **settings)
        with connection, connection.cursor() as cursor:
            cursor.execute(statement)
    except psycopg2.Error as exc:
        return exc
    raise AssertionError("no error")


def test_postgres_errors_are_classified_by_sqlstate(postgres):
    assert is_transient(_postgres_error("SELECT 1", port=1))  # refused: no session, no code
    assert not is_transient(_postgres_error("SELECT 1", port=5432, user="no_such_role_zz"))
    assert not is_transient(_postgres_error("SELEC 1", port=5432))  # 42601
    postgres.run(f"CREATE TABLE {postgres.namespace}.t (id int)")
    holder = psycopg2.connect(host="127.0.0.1", dbname="test", user="postgres")
    try:
        holder.cursor().execute(f"LOCK TABLE {postgres.namespace}.t")  # held until rollback
        waited = _postgres_error(
            f"SET lock_timeout = '50ms'; SELECT * FROM {postgres.namespace}.t", port=5432
        )
    finally:
        holder.rollback()
        holder.close()
    assert waited.pgcode == "55P03"
    assert is_transient(waited)


def _mysql_error(**connect) -> pymysql.MySQLError:
    try:
        pymysql.connect(host="127.0.0.1", user="root", connect_timeout=5, **connect).close()
    except pymysql.MySQLError as exc:
        return exc
    raise AssertionError("no error")


def test_mysql_errors_are_classified_by_error_number(mysql):
    refused = _mysql_error(port=1)
    assert refused.args[0] == 2003 and is_transient(refused)
    denied = _mysql_error(port=3306, password="wrong-password")
    assert denied.args[0] == 1045 and not is_transient(denied)


def test_a_duckdb_file_another_process_holds_is_transient(tmp_path):
    database = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                connection = duckdb.connect({str(database)!r})
                print("held", flush=True)
                time.sleep(30)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException) as info:
            duckdb.connect(str(database))
        assert is_transient(info.value)
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(duckdb.Error) as syntax:
        duckdb.connect().execute("SELEC 1")
    assert not is_transient(syntax.value)
