"""Postgres and MySQL sources against real servers, through both extraction paths."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from recipec import ConnectorError, compile_recipe, from_yaml, run_recipe_from_yaml

PATHS = ["duckdb", "driver"]

DDL = {
    "postgres": """CREATE TABLE {ns}.customers (
        id bigint PRIMARY KEY, name text, amount numeric(12,2), updated_at timestamptz,
        born date, active boolean, note text)""",
    "mysql": """CREATE TABLE customers (
        id bigint PRIMARY KEY, name varchar(50), amount decimal(12,2), updated_at datetime(6),
        born date, active boolean, note text)""",
}


def insert(server, *rows):
    table = f"{server.namespace}.customers" if server.kind == "postgres" else "customers"
    values = ", ".join(
        "(" + ", ".join("NULL" if v is None else repr(v) for v in row) + ")" for row in rows
    )
    server.run(f"INSERT INTO {table} VALUES {values}")


def upsert_name(server, row_id, name, updated_at):
    table = f"{server.namespace}.customers" if server.kind == "postgres" else "customers"
    server.run(
        f"UPDATE {table} SET name = '{name}', updated_at = '{updated_at}' WHERE id = {row_id}"
    )


def write_recipe(project, server, path, *, incremental=True, **source_extra):
    source = server.source("customers", extract_with=path, **source_extra)
    if incremental:
        source["incremental"] = {"strategy": "cursor", "cursor_column": "updated_at"}
    document = {
        "name": "db_load",
        "source": source,
        "destination": {
            "type": "duckdb",
            "database": "out.duckdb",
            "table": "main.customers",
            "write_mode": "merge",
            "merge_keys": ["id"],
        },
        "runtime": {"retries": 0},
    }
    project.write("r.yaml", json.dumps(document))


def loaded(project):
    return project.rows("SELECT id, name FROM main.customers ORDER BY id")


@pytest.mark.parametrize("path", PATHS)
def test_full_then_incremental_merge_with_updates_inserts_and_ties(project, server, path):
    server.run(DDL[server.kind].format(ns=server.namespace))
    insert(
        server,
        (1, "ada", "10.50", "2024-01-01 10:00:00", "1990-05-01", True, None),
        (2, "alan", "3.25", "2024-01-02 10:00:00", None, False, "x"),
    )
    write_recipe(project, server, path)
    first = run_recipe_from_yaml("r.yaml")
    assert first.rows_written == 2
    assert project.rows("SELECT * FROM main.customers ORDER BY id")[0][:3] == (
        1,
        "ada",
        Decimal("10.50"),
    )
    # an update, an insert, and a new row whose cursor ties the watermark exactly
    upsert_name(server, 1, "ada l.", "2024-01-03 09:00:00")
    insert(
        server,
        (3, "grace", "1.00", "2024-01-02 10:00:00", None, True, None),
        (4, "edsger", "2.00", "2024-01-04 00:00:00", None, True, None),
    )
    second = run_recipe_from_yaml("r.yaml")
    assert second.rows_read == 4  # rows at the watermark are re-read; merge dedups them
    assert loaded(project) == [(1, "ada l."), (2, "alan"), (3, "grace"), (4, "edsger")]
    assert project.rows("SELECT count(*), count(DISTINCT id) FROM main.customers") == [(4, 4)]
    watermark = project.state("db_load")["cursor"]["watermark"]
    assert watermark.startswith("2024-01-04 00:00:00")
    third = run_recipe_from_yaml("r.yaml")
    assert third.rows_read == 1 and loaded(project)[-1] == (4, "edsger")


@pytest.mark.parametrize("path", PATHS)
def test_types_keep_precision_and_zone(project, postgres, path):
    postgres.run(
        f"""CREATE TABLE {postgres.namespace}.customers (id bigint, amount numeric(20,6),
        at timestamptz, day date, doc jsonb, tags text[], u uuid, flag boolean)""",
        f"""INSERT INTO {postgres.namespace}.customers VALUES (1, 12345678901234.123456,
        '2024-01-01 10:00:00+02', '2024-02-29', '{{"a": [1, 2]}}', ARRAY['x','y'],
        '0b8f3c9e-8b5d-4b8e-9c1a-2f3e4d5c6b7a', true)""",
    )
    write_recipe(project, postgres, path, incremental=False)
    run_recipe_from_yaml("r.yaml")
    query = 'SELECT amount, "at", "day", CAST(doc AS VARCHAR), tags, CAST(u AS VARCHAR), flag'
    row = project.rows(query + " FROM main.customers")[0]
    assert row[0] == Decimal("12345678901234.123456")
    assert row[1] == dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.timezone.utc)
    assert row[2] == dt.date(2024, 2, 29)
    assert json.loads(row[3]) == {"a": [1, 2]}
    assert row[4] == ["x", "y"]
    assert row[5] == "0b8f3c9e-8b5d-4b8e-9c1a-2f3e4d5c6b7a"
    assert row[6] is True


@pytest.mark.parametrize("path", PATHS)
def test_projection_and_query_are_pushed_into_the_read(project, server, path):
    server.run(DDL[server.kind].format(ns=server.namespace))
    insert(
        server,
        (1, "ada", "1.00", "2024-01-01 10:00:00", None, True, None),
        (2, "bob", "2.00", "2024-01-02 10:00:00", None, True, None),
    )
    write_recipe(project, server, path, columns=["id", "name", "updated_at"])
    run_recipe_from_yaml("r.yaml")
    assert [c for c, _ in project.columns("main.customers")] == ["id", "name", "updated_at"]
    table = f"{server.namespace}.customers" if server.kind == "postgres" else "customers"
    source = server.source("customers", extract_with=path)
    del source["table"]
    source["query"] = f"SELECT id, upper(name) AS name FROM {table} WHERE id > 1"
    project.write(
        "q.yaml",
        json.dumps(
            {
                "name": "db_query",
                "source": source,
                "destination": {"type": "duckdb", "database": "q.duckdb", "table": "main.q"},
            }
        ),
    )
    run_recipe_from_yaml("q.yaml")
    assert project.rows("SELECT * FROM main.q", "q.duckdb") == [(2, "BOB")]


def test_the_plan_shows_the_read_in_both_dialects_with_a_bound_watermark(project, postgres):
    source = postgres.source(
        "customers",
        password="{{ env_var('PG_PASSWORD_ZZ', 'pw') }}",
        columns=["id", "updated_at"],
        incremental={
            "strategy": "cursor",
            "cursor_column": "updated_at",
            "lookback": "5 minutes",
            "safety_margin": "1 minute",
            "initial_value": "2024-01-01",
        },
    )
    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "p",
                "source": source,
                "destination": {"type": "duckdb", "database": "o.duckdb", "table": "t"},
            }
        ),
    )
    plan = compile_recipe(from_yaml("r.yaml"))
    extract = plan.only.extract
    assert extract.reader == "database" and extract.database.scanner == "postgres"
    assert extract.config["password"] == "***"
    assert extract.database.attached_as.startswith("_recipec_source_db_")
    assert (
        f'FROM "{extract.database.attached_as}"."{postgres.namespace}"."customers"' in extract.query
    )
    assert "CAST($watermark AS TIMESTAMPTZ) - INTERVAL 5 MINUTE" in extract.query
    assert " ".join(extract.database.source_query.split()) == (
        f'SELECT "id", "updated_at" FROM "{postgres.namespace}"."customers" WHERE "updated_at" >= '
        "( CAST(:watermark AS TIMESTAMPTZ) - INTERVAL '5 MINUTE' ) AND \"updated_at\" < "
        "( CURRENT_TIMESTAMP - INTERVAL '1 MINUTE' ) ORDER BY \"updated_at\""
    )


@pytest.mark.parametrize("path", PATHS)
def test_null_cursors_are_loaded_by_a_full_read_only(project, server, path):
    server.run(DDL[server.kind].format(ns=server.namespace))
    insert(
        server,
        (1, "a", "1.00", None, None, True, None),
        (2, "b", "1.00", "2024-01-01 00:00:00", None, True, None),
    )
    write_recipe(project, server, path)
    run_recipe_from_yaml("r.yaml")
    assert loaded(project) == [(1, "a"), (2, "b")]
    insert(server, (3, "c", "1.00", None, None, True, None))
    run_recipe_from_yaml("r.yaml")
    assert loaded(project) == [(1, "a"), (2, "b")]  # NULL cursor after the first run: not read
    run_recipe_from_yaml("r.yaml", full_refresh=True)
    assert loaded(project) == [(1, "a"), (2, "b"), (3, "c")]


@pytest.mark.parametrize("path", PATHS)
def test_a_missing_table_names_host_database_and_table(project, server, path, cli):
    write_recipe(project, server, path, incremental=False)
    result = cli("run", "r.yaml")
    assert result.code == 3
    assert "customers" in result.err and server.url.host in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("path", PATHS)
def test_an_unreachable_host_is_a_connector_error_without_the_password(project, server, path, cli):
    source = server.source(
        "customers",
        extract_with=path,
        host="127.0.0.1",
        port=1,
        password="{{ env_var('DB_PASSWORD_ZZ', 'hunter2-secret') }}",
    )
    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "down",
                "source": source,
                "runtime": {"retries": 1},
                "destination": {"type": "duckdb", "database": "o.duckdb", "table": "t"},
            }
        ),
    )
    result = cli("run", "r.yaml")
    assert result.code == 3
    assert "127.0.0.1:1" in result.err
    assert "hunter2" not in result.err
    assert "retrying after a transient failure" in result.err


def test_a_wrong_user_is_not_retried(project, postgres, cli):
    source = postgres.source("customers", user="no_such_role_zz")
    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "who",
                "source": source,
                "runtime": {"retries": 3},
                "destination": {"type": "duckdb", "database": "o.duckdb", "table": "t"},
            }
        ),
    )
    result = cli("run", "r.yaml")
    assert result.code == 3 and "no_such_role_zz" in result.err
    assert "retrying" not in result.err


def test_compiling_a_database_recipe_needs_no_server(project):
    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "offline",
                "source": {
                    "type": "postgres",
                    "host": "db.invalid",
                    "database": "x",
                    "table": "a.b",
                },
                "destination": {"type": "duckdb", "database": "o.duckdb", "table": "t"},
            }
        ),
    )
    assert compile_recipe(from_yaml("r.yaml")).only.extract.database.source_query


def test_table_or_query_not_both(project):
    from recipec import RecipeError

    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "both",
                "source": {"type": "mysql", "database": "x", "table": "a", "query": "SELECT 1"},
                "destination": {"type": "duckdb", "database": "o.duckdb", "table": "t"},
            }
        ),
    )
    with pytest.raises(RecipeError, match="exactly one of `table` and `query`"):
        from_yaml("r.yaml")


def test_connector_errors_are_data_loader_errors():
    assert issubclass(ConnectorError, Exception)


def test_introspection_records_source_types_and_warns_about_a_nullable_cursor(project, server, cli):
    server.run(DDL[server.kind].format(ns=server.namespace))
    write_recipe(project, server, "driver")
    result = cli("compile", "r.yaml", "--introspect", "--format", "json")
    assert result.code == 0, result.err
    assert "cursor column 'updated_at' is nullable" in result.err
    columns = {
        c["name"]: c for c in result.json()["units"][0]["steps"][0]["database"]["source_schema"]
    }
    assert columns["id"]["nullable"] is False
    assert columns["amount"]["duckdb_type"] == "DECIMAL(12, 2)"
    assert columns["amount"]["arrow_type"] == "decimal128(12, 2)"
    assert columns["active"]["duckdb_type"] == "BOOLEAN"
    zone = "TIMESTAMPTZ" if server.kind == "postgres" else "TIMESTAMP"
    assert columns["updated_at"]["duckdb_type"] == zone


def test_an_introspected_plan_keeps_types_through_the_driver(project, postgres, cli):
    postgres.run(
        f"CREATE TABLE {postgres.namespace}.customers (id bigint, amount numeric(12,2), "
        "u uuid, tags text[])",
        f"INSERT INTO {postgres.namespace}.customers VALUES "
        "(1, 1.50, '0b8f3c9e-8b5d-4b8e-9c1a-2f3e4d5c6b7a', ARRAY['a'])",
    )
    write_recipe(project, postgres, "driver", incremental=False)
    assert cli("compile", "r.yaml", "--introspect", "-o", "plan.json").code == 0
    assert cli("run", "--plan", "plan.json").code == 0
    assert project.columns("main.customers") == [
        ("id", "BIGINT"),
        ("amount", "DECIMAL(12,2)"),
        ("u", "UUID"),
        ("tags", "VARCHAR[]"),
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT 1; DROP TABLE x", "exactly one SELECT"),
        ("DELETE FROM x", "exactly one SELECT"),
        ("SELEC oops FROM", "not valid postgres SQL"),
        ("SELECT 'unclosed FROM t", "source.query: query is not valid postgres SQL"),
    ],
)
def test_a_source_query_is_one_select(project, query, message):
    from recipec import RecipeError

    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "q",
                "source": {"type": "postgres", "database": "x", "query": query},
                "destination": {"type": "duckdb", "database": "o.duckdb", "table": "t"},
            }
        ),
    )
    with pytest.raises(RecipeError, match=message):
        from_yaml("r.yaml")


@pytest.mark.parametrize("path", PATHS)
def test_a_chunked_full_load_reads_key_ranges_in_parallel(project, server, path):
    server.run(DDL[server.kind].format(ns=server.namespace))
    insert(
        server,
        *[(i, f"n{i}", "1.00", "2024-01-01 00:00:00", None, True, None) for i in range(1, 1001)],
    )
    write_recipe(project, server, path, chunking={"column": "id", "chunks": 4})
    first = run_recipe_from_yaml("r.yaml")
    assert "read in 4 ranges of id" in first.resources[0].notes
    assert project.rows("SELECT count(*), count(DISTINCT id), sum(id) FROM main.customers") == [
        (1000, 1000, 500500)
    ]
    second = run_recipe_from_yaml("r.yaml")  # incremental: not chunked
    assert not any("ranges" in note for note in second.resources[0].notes)


def test_the_sql_source_reads_any_sqlalchemy_url(project, server):
    server.run(DDL[server.kind].format(ns=server.namespace))
    insert(server, (1, "ada", "1.00", "2024-01-01 00:00:00", None, True, None))
    url = server.url.render_as_string(hide_password=False)
    table = f"{server.namespace}.customers" if server.kind == "postgres" else "customers"
    if server.kind == "mysql":
        url = str(server.url.set(database=server.namespace))
    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "any_sql",
                "source": {
                    "type": "sql",
                    "url": url,
                    "table": table,
                    "columns": ["id", "name"],
                    "incremental": {"strategy": "cursor", "cursor_column": "id"},
                },
                "destination": {"type": "duckdb", "database": "out.duckdb", "table": "main.t"},
            }
        ),
    )
    plan = compile_recipe(from_yaml("r.yaml"))
    read = plan.only.extract.database
    assert read.scanner == "" and read.source_dialect == server.kind
    assert run_recipe_from_yaml("r.yaml").rows_written == 1
    assert project.rows("SELECT id, name FROM main.t") == [(1, "ada")]


def test_a_missing_column_names_the_source(project, server, cli):
    server.run(DDL[server.kind].format(ns=server.namespace))
    write_recipe(project, server, "duckdb", incremental=False, columns=["id", "nope"])
    result = cli("run", "r.yaml")
    assert result.code == 3
    assert "nope" in result.err and "customers" in result.err and server.url.host in result.err


def test_lookback_and_safety_margin_work_through_the_mysql_driver(project, mysql):
    mysql.run(DDL["mysql"].format(ns=mysql.namespace))
    insert(mysql, (1, "a", "1.00", "2024-01-01 00:00:00", None, True, None))
    write_recipe(project, mysql, "driver")
    document = json.loads((project.root / "r.yaml").read_text())
    document["source"]["incremental"].update(lookback="1 hour", safety_margin="1 second")
    project.write("r.yaml", json.dumps(document))
    assert run_recipe_from_yaml("r.yaml").rows_written == 1
    assert run_recipe_from_yaml("r.yaml").rows_read == 1  # re-read within the lookback


def test_a_chunked_driver_read_of_an_empty_table_reads_nothing(project, server):
    server.run(DDL[server.kind].format(ns=server.namespace))
    write_recipe(project, server, "driver", chunking={"column": "id", "chunks": 4})
    summary = run_recipe_from_yaml("r.yaml")
    assert summary.rows_read == 0


@pytest.mark.parametrize("path", PATHS)
def test_unconstrained_numeric_is_double_and_a_cast_to_numeric_p_s_keeps_every_digit(
    project, postgres, path
):
    """Both paths read an unconstrained NUMERIC as DOUBLE (the postgres scanner's choice); a
    query casting it to NUMERIC(p, s) keeps its digits on both."""
    ns = postgres.namespace
    postgres.run(
        f"CREATE TABLE {ns}.customers (id bigint, amount numeric)",
        f"INSERT INTO {ns}.customers VALUES (1, 12345678901234567890), (2, 0.5), (3, NULL)",
    )
    write_recipe(project, postgres, path, incremental=False)
    run_recipe_from_yaml("r.yaml")
    assert dict(project.columns("main.customers"))["amount"] == "DOUBLE"
    assert project.rows("SELECT amount FROM main.customers ORDER BY id") == [
        (1.234567890123457e19,),  # the scanner's rounding (the nearest is ...567e19)
        (0.5,),
        (None,),
    ]
    source = postgres.source("customers", extract_with=path)
    del source["table"]
    source["query"] = f"SELECT id, amount::numeric(38, 1) AS amount FROM {ns}.customers"
    document = {
        "name": "exact",
        "source": source,
        "destination": {"type": "duckdb", "database": "q.duckdb", "table": "main.q"},
    }
    project.write("q.yaml", json.dumps(document))
    run_recipe_from_yaml("q.yaml")
    assert project.rows("SELECT CAST(amount AS VARCHAR) FROM main.q ORDER BY id", "q.duckdb") == [
        ("12345678901234567890.0",),
        ("0.5",),
        (None,),
    ]


def test_source_tables_are_schema_and_table(project):
    from recipec import RecipeError

    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "t3",
                "source": {"type": "postgres", "database": "x", "table": "db.s.t"},
                "destination": {"type": "duckdb", "database": "o.duckdb", "table": "t"},
            }
        ),
    )
    with pytest.raises(RecipeError, match=r"\[schema\.\]table"):
        from_yaml("r.yaml")


def test_a_sql_source_query_is_validated_in_its_dialect(project):
    from recipec import RecipeError

    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "q",
                "source": {
                    "type": "sql",
                    "url": "mysql+pymysql://u@h/db",
                    "query": "SELECT 1; SELECT 2",
                },
                "destination": {"type": "duckdb", "database": "o.duckdb", "table": "t"},
            }
        ),
    )
    with pytest.raises(RecipeError, match="exactly one SELECT"):
        from_yaml("r.yaml")


def test_introspected_integer_types_map_to_arrow_integers():
    from recipec.compiler.semantic.introspect import arrow_type, duckdb_type

    assert duckdb_type("INTEGER", "postgres") == "INT" and arrow_type("INT") == "int32"
    assert duckdb_type("INT UNSIGNED", "mysql") in {"UINT", "UINTEGER"}
    assert arrow_type(duckdb_type("INT UNSIGNED", "mysql")) == "uint32"


@pytest.mark.parametrize("primary_key", [True, False], ids=["primary-key", "no-key"])
def test_a_first_merge_load_deduplicates_unless_the_source_key_is_the_merge_key(
    project, server, primary_key, caplog
):
    table = f"{server.namespace}.events" if server.kind == "postgres" else "events"
    key = "PRIMARY KEY" if primary_key else ""
    server.run(f"CREATE TABLE {table} (id bigint {key}, v text, updated_at date)")
    rows = "(1, 'a', '2024-01-01'), (2, 'b', '2024-01-01')"
    if not primary_key:
        rows += ", (1, 'newer', '2024-02-01')"
    server.run(f"INSERT INTO {table} VALUES {rows}")
    source = server.source("events", extract_with="duckdb")
    source["incremental"] = {"strategy": "cursor", "cursor_column": "updated_at"}
    document = {
        "name": "events",
        "source": source,
        "destination": {
            "type": "duckdb",
            "database": "out.duckdb",
            "table": "main.events",
            "write_mode": "merge",
            "merge_keys": ["id"],
        },
    }
    project.write("r.yaml", json.dumps(document))
    with caplog.at_level("DEBUG", logger="recipec.runtime"):
        assert run_recipe_from_yaml("r.yaml").rows_written == 2
    expected = [(1, "a"), (2, "b")] if primary_key else [(1, "newer"), (2, "b")]
    assert project.rows("SELECT id, v FROM main.events ORDER BY id") == expected
    skipped = "covers the merge keys: no dedup" in caplog.text
    assert skipped == primary_key


def test_merge_keys_through_a_cast_are_not_source_keys(project):
    document = {
        "name": "k",
        "source": {"type": "csv", "path": "a.csv"},
        "transform": {
            "steps": [
                {"type": "rename_columns", "mapping": {"key": "id"}},
                {"type": "add_column", "name": "batch", "value": 1},
            ]
        },
        "destination": {
            "type": "duckdb",
            "database": "out.duckdb",
            "table": "t",
            "write_mode": "merge",
            "merge_keys": ["id"],
        },
    }
    project.write("a.csv", "key,v\n1,a\n")
    project.write("r.yaml", json.dumps(document))
    assert compile_recipe(from_yaml("r.yaml")).only.stage.source_keys == ["key"]
    document["destination"]["merge_keys"] = ["id", "batch"]
    project.write("r.yaml", json.dumps(document))
    assert compile_recipe(from_yaml("r.yaml")).only.stage.source_keys is None
    document["transform"]["steps"].append({"type": "cast", "columns": {"id": "str"}})
    document["destination"]["merge_keys"] = ["id"]
    project.write("r.yaml", json.dumps(document))
    assert compile_recipe(from_yaml("r.yaml")).only.stage.source_keys is None


def test_a_cast_error_names_the_database_row_by_its_keys(project, postgres, cli):
    table = f"{postgres.namespace}.codes"
    postgres.run(
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, code text, updated_at timestamp)",
        f"INSERT INTO {table} SELECT i, i::text, '2024-01-01' FROM generate_series(1, 200) i",
        f"UPDATE {table} SET code = 'x144' WHERE id = 144",
    )
    document = {
        "name": "codes",
        "source": {
            **postgres.source("codes"),
            "incremental": {"strategy": "cursor", "cursor_column": "updated_at"},
        },
        "transform": {"steps": [{"type": "cast", "columns": {"code": "int"}}]},
        "destination": {
            "type": "duckdb",
            "database": "out.duckdb",
            "table": "main.codes",
            "write_mode": "merge",
            "merge_keys": ["id"],
        },
        "runtime": {"retries": 0},
    }
    project.write("r.yaml", json.dumps(document))
    result = cli("run", "r.yaml")
    assert result.code == 3, result.err
    assert "'x144'" in result.err and "id=144" in result.err, result.err
    assert "(row " not in result.err


def test_database_steps_name_the_table_and_server_never_the_password(project, postgres, cli):
    table = f"{postgres.namespace}.labelled"
    postgres.run(f"CREATE TABLE {table} (id bigint)", f"INSERT INTO {table} VALUES (1)")
    document = {
        "name": "labelled",
        "source": {**postgres.source("labelled"), "password": "pw-not-shown"},
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "main.labelled"},
    }
    project.write("r.yaml", json.dumps(document))
    where = f"in {postgres.url.database} on {postgres.url.host}:{postgres.url.port}"
    label = f"postgres {table} {where}"
    plan = cli("compile", "r.yaml", "--format", "text")
    run = cli("run", "r.yaml")
    assert run.code == 0, run.err
    assert f"from {label}" in run.out
    assert plan.code == 0 and f"extract  {label}" in plan.out, plan.out
    assert "pw-not-shown" not in run.out + run.err + plan.out


ODD = "o'brien x"


@pytest.mark.parametrize("path", PATHS)
def test_odd_column_names_are_selected_chunked_and_loaded(project, server, path):
    quote = '"' if server.kind == "postgres" else "`"
    table = f"{server.namespace}.odd" if server.kind == "postgres" else "odd"
    server.run(
        f"CREATE TABLE {table} (id int PRIMARY KEY, {quote}{ODD}{quote} text, other text)",
        f"INSERT INTO {table} VALUES (1, 'a', 'z'), (2, 'b', 'z')",
    )
    source = server.source("odd", extract_with=path, columns=["id", ODD])
    source["chunking"] = {"column": "id", "chunks": 2}
    document = {
        "name": "odd_names",
        "source": source,
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "t"},
    }
    project.write("r.yaml", json.dumps(document))
    run_recipe_from_yaml("r.yaml")
    assert project.rows(f'SELECT id, "{ODD}" FROM t ORDER BY id') == [(1, "a"), (2, "b")]
