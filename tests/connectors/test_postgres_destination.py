"""The Postgres destination against a real server: write modes, schema, state with the data."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest

from recipec import run_recipe_from_yaml


def recipe(
    project, postgres, *, mode="append", keys=None, strategy="upsert", incremental=True, steps=None
):
    source = {"type": "csv", "path": "data/*.csv", "options": {"union_by_name": True}}
    if incremental:
        source["incremental"] = {"strategy": "cursor", "cursor_column": "updated_at"}
    destination = {
        "type": "postgres",
        "host": postgres.url.host,
        "port": postgres.url.port,
        "database": postgres.url.database,
        "user": postgres.url.username,
        "table": f"{postgres.namespace}.items",
        "write_mode": mode,
        "state_schema": postgres.namespace,
    }
    if keys:
        destination.update(merge_keys=keys, merge_strategy=strategy)
    document = {
        "name": "to_pg",
        "source": source,
        "destination": destination,
        "transform": {"steps": steps or []},
        "runtime": {"retries": 0},
    }
    project.write("r.yaml", json.dumps(document))


def items(postgres):
    return postgres.rows(f"SELECT id, v FROM {postgres.namespace}.items ORDER BY id, v")


def test_append_creates_schema_and_table_and_commits_state_with_the_rows(project, postgres):
    project.write(
        "data/a.csv", "id,v,updated_at\n1,a,2024-01-01 00:00:00\n2,b,2024-01-02 00:00:00\n"
    )
    recipe(project, postgres)
    assert run_recipe_from_yaml("r.yaml").rows_written == 2
    assert items(postgres) == [(1, "a"), (2, "b")]
    ((state,),) = postgres.rows(f"SELECT state FROM {postgres.namespace}._recipec_state")
    assert json.loads(state)["cursor"]["watermark"] == "2024-01-02 00:00:00"
    assert json.loads(state) == project.state("to_pg")
    project.write("data/b.csv", "id,v,updated_at\n3,c,2024-01-03 00:00:00\n")
    run_recipe_from_yaml("r.yaml")
    assert items(postgres) == [(1, "a"), (2, "b"), (3, "c")]  # boundary row 2 not loaded twice


def test_append_skips_rows_loaded_at_the_watermark_whatever_the_recipe_derives(project, postgres):
    project.write(
        "data/a.csv", "id,v,updated_at\n1,a,2024-01-01 00:00:00\n2,b,2024-01-02 00:00:00\n"
    )
    recipe(
        project,
        postgres,
        steps=[{"type": "add_column", "name": "run", "value": "{{ var('run') }}"}],
    )
    run_recipe_from_yaml("r.yaml", vars={"run": "one"})
    project.write("data/b.csv", "id,v,updated_at\n3,c,2024-01-02 00:00:00\n")
    second = run_recipe_from_yaml("r.yaml", vars={"run": "two"})
    assert second.rows_written == 1
    assert "skipped 1 row(s) already loaded at the watermark" in second.resources[0].notes
    assert run_recipe_from_yaml("r.yaml", vars={"run": "three"}).rows_written == 0
    assert items(postgres) == [(1, "a"), (2, "b"), (3, "c")]
    stored = postgres.rows(f"SELECT count(*) FROM {postgres.namespace}._recipec_boundary_rows")
    assert stored == [(2,)]  # rows 2 and 3, at the watermark


@pytest.mark.parametrize("strategy", ["upsert", "delete_insert"])
def test_merge_updates_inserts_and_keeps_the_latest_duplicate(project, postgres, strategy):
    project.write(
        "data/a.csv", "id,v,updated_at\n1,a,2024-01-01 00:00:00\n2,b,2024-01-02 00:00:00\n"
    )
    recipe(project, postgres, mode="merge", keys=["id"], strategy=strategy)
    run_recipe_from_yaml("r.yaml")
    project.write(
        "data/b.csv",
        "id,v,updated_at\n2,b2,2024-01-03 00:00:00\n2,b3,2024-01-04 00:00:00\n"
        "4,d,2024-01-03 00:00:00\n",
    )
    run_recipe_from_yaml("r.yaml")
    assert items(postgres) == [(1, "a"), (2, "b3"), (4, "d")]
    index = postgres.rows(
        f"SELECT indexdef FROM pg_indexes WHERE schemaname = '{postgres.namespace}'"
    )
    assert any("UNIQUE" in row[0] and "(id)" in row[0] for row in index)


def test_new_columns_are_added_and_types_are_kept(project, postgres):
    project.write("data/a.csv", "id,v,updated_at\n1,a,2024-01-01 00:00:00\n")
    recipe(
        project,
        postgres,
        mode="merge",
        keys=["id"],
        steps=[{"type": "cast", "columns": {"id": "int", "updated_at": "datetime"}}],
    )
    run_recipe_from_yaml("r.yaml")
    project.write("data/b.csv", "id,v,amount,updated_at\n2,b,1.25,2024-01-02 00:00:00\n")
    summary = run_recipe_from_yaml("r.yaml")
    assert any("added column" in note for note in summary.resources[0].notes)
    columns = postgres.rows(
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{postgres.namespace}' AND table_name = 'items' "
        "ORDER BY ordinal_position"
    )
    assert columns == [
        ("id", "bigint"),
        ("v", "text"),
        ("updated_at", "timestamp without time zone"),
        ("amount", "double precision"),
    ]


def test_overwrite_is_atomic_for_readers(project, postgres):
    rows = "".join(f"{i},v{i}\n" for i in range(20000))
    project.write("data/a.csv", "id,v\n" + rows)
    recipe(project, postgres, mode="overwrite", incremental=False)
    run_recipe_from_yaml("r.yaml")
    project.write("data/a.csv", "id,v\n" + rows.replace(",v", ",w"))
    seen: set[int] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # a reader may wait out the swap, or retry
                seen.add(postgres.rows(f"SELECT count(*) FROM {postgres.namespace}.items")[0][0])
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run_recipe_from_yaml("r.yaml")
    finally:
        stop.set()
        watcher.join()
    assert seen == {20000}  # never empty, never half-written
    assert postgres.rows(f"SELECT count(*) FROM {postgres.namespace}.items WHERE v LIKE 'w%'") == [
        (20000,)
    ]


def test_a_failed_write_leaves_table_and_state_as_they_were(project, postgres, cli):
    project.write("data/a.csv", "id,v,updated_at\n1,a,2024-01-01 00:00:00\n")
    recipe(project, postgres, mode="merge", keys=["id"])
    run_recipe_from_yaml("r.yaml")
    before = (
        items(postgres),
        postgres.rows(f"SELECT state::text FROM {postgres.namespace}._recipec_state"),
    )
    project.write("data/b.csv", "id,v,updated_at\nnot-a-number,b,2024-01-02 00:00:00\n")
    result = cli("run", "r.yaml")
    assert result.code == 3
    assert f"{postgres.url.database} on {postgres.url.host}" in result.err
    after = (
        items(postgres),
        postgres.rows(f"SELECT state::text FROM {postgres.namespace}._recipec_state"),
    )
    assert after == before


def test_an_unreachable_destination_is_a_connector_error(project, postgres, cli):
    project.write("data/a.csv", "id,v,updated_at\n1,a,2024-01-01 00:00:00\n")
    recipe(project, postgres)
    text = (
        (project.root / "r.yaml").read_text().replace(f'"port": {postgres.url.port}', '"port": 1')
    )
    project.write("r.yaml", text)
    result = cli("run", "r.yaml")
    assert result.code == 3 and "cannot connect to postgres" in result.err and ":1" in result.err


def test_unsigned_and_nanosecond_types_and_mixed_case_tables(project, postgres):
    import duckdb as duck

    with duck.connect() as connection:
        connection.execute(
            "COPY (SELECT 1 AS id, CAST(4000000000 AS UINTEGER) AS big, "
            "CAST(200 AS UTINYINT) AS small, CAST('2024-01-01 10:00:00.123456789' AS TIMESTAMP_NS)"
            " AS at) TO 'data.parquet'"
        )
    document = {
        "name": "types",
        "source": {"type": "parquet", "path": "data.parquet"},
        "destination": {
            "type": "postgres",
            "host": postgres.url.host,
            "port": postgres.url.port,
            "database": postgres.url.database,
            "user": postgres.url.username,
            "table": f'{postgres.namespace}."MixedCase"',
            "state_schema": postgres.namespace,
        },
    }
    project.write("r.yaml", json.dumps(document))
    run_recipe_from_yaml("r.yaml")
    with duck.connect() as connection:
        connection.execute(
            "COPY (SELECT 2 AS id, CAST(1 AS UINTEGER) AS big, CAST(1 AS UTINYINT) AS small, "
            "CAST('2024-01-02' AS TIMESTAMP_NS) AS at, 'new' AS extra) TO 'data.parquet'"
        )
    run_recipe_from_yaml("r.yaml")
    rows = postgres.rows(
        f'SELECT id, big, small, extra FROM {postgres.namespace}."MixedCase" ORDER BY id'
    )
    assert rows == [(1, 4000000000, 200, None), (2, 1, 1, "new")]


@pytest.mark.parametrize("flag", [None, "hard_delete_column", "soft_delete_column"])
def test_servers_without_merge_upsert_with_on_conflict(project, postgres, monkeypatch, flag):
    from recipec.runtime.connectors.postgres import PostgresSession

    monkeypatch.setattr(PostgresSession, "MERGE_SINCE", 10**9)  # as if the server were old
    header = "id,v,gone,updated_at\n"
    project.write(
        "data/a.csv", header + "1,a,false,2024-01-01 00:00:00\n2,b,false,2024-01-01 00:00:00\n"
    )
    recipe(project, postgres, mode="merge", keys=["id"])
    if flag:
        document = json.loads((project.root / "r.yaml").read_text())
        document["destination"][flag] = "gone"
        project.write("r.yaml", json.dumps(document))
    run_recipe_from_yaml("r.yaml")
    project.write(
        "data/a.csv",
        header
        + "1,a2,false,2024-01-02 00:00:00\n2,b,true,2024-01-02 00:00:00\n"
        + "3,c,false,2024-01-02 00:00:00\n",
    )
    run_recipe_from_yaml("r.yaml")
    expected = {
        None: [(1, "a2"), (2, "b"), (3, "c")],
        "hard_delete_column": [(1, "a2"), (3, "c")],
        "soft_delete_column": [(1, "a2"), (2, "b"), (3, "c")],
    }[flag]
    assert items(postgres) == expected
