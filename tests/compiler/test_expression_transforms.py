"""The transforms written in the expression language (filter, derive, drop_columns,
select_columns, deduplicate, hash_columns): their SQL, pinned, and the rows they produce when a
recipe runs from a CSV file into DuckDB."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from snapshot_extensions import SqlSnapshot
from sqlglot import exp

from recipec import RecipeError, run_recipe_from_yaml
from recipec.registry import ensure_builtins, get_transform

ensure_builtins()

CONFIGS = {
    "filter": {"type": "filter", "where": "status != 'deleted' and amount >= 0"},
    "filter_not_in": {"type": "filter", "where": "\"my col\" not in ('a', 'b') or x is null"},
    "derive": {
        "type": "derive",
        "columns": {
            "full_name": "concat(first_name, ' ', last_name)",
            "size": "case when amount > 1000 then 'big' else 'small' end",
            "ratio": "a / b",
            "month": "date_trunc('month', created_at)",
        },
    },
    "drop_columns": {"type": "drop_columns", "columns": ["secret", "my col"]},
    "select_columns": {"type": "select_columns", "columns": ["c", "a", "select"]},
    "deduplicate": {"type": "deduplicate", "keys": ["id"]},
    "deduplicate_order_by": {
        "type": "deduplicate",
        "keys": ["id", "region"],
        "order_by": 'updated_at desc, coalesce(priority, 0), "a, b" asc',
    },
    "hash_columns": {"type": "hash_columns", "columns": ["email", "phone"]},
    "hash_columns_salted": {"type": "hash_columns", "columns": ["email"], "salt": "pepper"},
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_transform_sql_is_pinned(name, snapshot):
    config = CONFIGS[name]
    registration = get_transform(config["type"])
    step = registration.config_model.model_validate(config)
    select = registration.factory(step, exp.to_table("input"))
    sql = select.sql("duckdb", pretty=True)
    assert "pepper" not in sql  # a salt is bound as a parameter, never written into the SQL
    assert sql + "\n" == snapshot(extension_class=SqlSnapshot)


# -- running recipes -------------------------------------------------------------------------------


def recipe(project, steps, *, csv, name="t", mode="overwrite"):
    project.write("data/in.csv", csv)
    document = {
        "name": name,
        "source": {"type": "csv", "path": "data/in.csv"},
        "transform": {"steps": steps},
        "destination": {
            "type": "duckdb",
            "database": "out.duckdb",
            "table": "main.items",
            "write_mode": mode,
        },
    }
    return project.write("r.yaml", json.dumps(document, indent=2))


PEOPLE = (
    "id,first,last,amount,status,ts\n"
    "1,Ann,Lee,10.5,active,2024-03-15 10:20:00\n"
    "2,,Kim,,active,2024-01-02 00:00:00\n"
    "3,Cy,,-3,deleted,2023-12-31 23:59:59\n"
    "4,Di,Ng,2000,active,2024-02-29 12:00:00\n"
)


def test_filter_keeps_rows_where_the_condition_is_true_and_drops_null(project):
    recipe(project, [{"type": "filter", "where": "amount > 0"}], csv=PEOPLE)
    summary = run_recipe_from_yaml("r.yaml")
    assert summary.rows_written == 2
    # Row 2 has no amount: `amount > 0` is NULL there, which drops it like false.
    assert project.rows("SELECT id FROM main.items ORDER BY id") == [(1,), (4,)]


def test_filter_with_in_between_like_and_is_null(project):
    where = (
        "(status in ('active') and amount between 0 and 100) "
        "or first like 'C%' or (amount is null and not last like '%z')"
    )
    recipe(project, [{"type": "filter", "where": where}], csv=PEOPLE)
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id FROM main.items ORDER BY id") == [(1,), (2,), (3,)]


def test_derive_adds_computed_columns(project):
    columns = {
        "full_name": "concat(first, ' ', last)",
        "size": "case when amount >= 1000 then 'big' when amount >= 0 then 'small' end",
        "yr": "year(ts)",
        "month": "date_trunc('month', ts)",
        "half": "id / 2",
        "rest": "-7 % id",
    }
    recipe(project, [{"type": "derive", "columns": columns}], csv=PEOPLE)
    run_recipe_from_yaml("r.yaml")
    rows = project.rows(
        "SELECT id, full_name, size, yr, month, half, rest FROM main.items ORDER BY id"
    )
    assert rows == [
        (1, "Ann Lee", "small", 2024, dt.datetime(2024, 3, 1), 0.5, 0),
        (2, " Kim", None, 2024, dt.datetime(2024, 1, 1), 1.0, -1),  # NULL concatenates as ''
        (3, "Cy ", None, 2023, dt.datetime(2023, 12, 1), 1.5, -1),
        (4, "Di Ng", "big", 2024, dt.datetime(2024, 2, 1), 2.0, -3),
    ]
    names = [name for name, _ in project.columns("main.items")]
    assert names == ["id", "first", "last", "amount", "status", "ts", *columns]


def test_derived_columns_read_the_input_not_each_other(project):
    columns = {"double": "amount * 2", "again": "upper(status)"}
    recipe(project, [{"type": "derive", "columns": columns}], csv=PEOPLE)
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT double, again FROM main.items WHERE id = 1") == [(21.0, "ACTIVE")]


def test_drop_columns(project):
    recipe(project, [{"type": "drop_columns", "columns": ["first", "ts"]}], csv=PEOPLE)
    run_recipe_from_yaml("r.yaml")
    assert [name for name, _ in project.columns("main.items")] == [
        "id",
        "last",
        "amount",
        "status",
    ]


def test_select_columns_keeps_the_given_order(project):
    steps = [{"type": "select_columns", "columns": ["status", "id", "first"]}]
    recipe(project, steps, csv=PEOPLE)
    run_recipe_from_yaml("r.yaml")
    assert [name for name, _ in project.columns("main.items")] == ["status", "id", "first"]
    assert project.rows("SELECT * FROM main.items ORDER BY id LIMIT 1") == [("active", 1, "Ann")]


VERSIONS = (
    "id,v,updated_at,priority\n"
    "1,old,2024-01-01,1\n"
    "1,newest,2024-03-01,2\n"
    "1,mid,2024-02-01,3\n"
    "2,only,2024-01-05,1\n"
    "3,dated,2024-01-01,5\n"
    "3,undated,,9\n"
)


def test_deduplicate_keeps_the_first_row_in_descending_order(project):
    steps = [{"type": "deduplicate", "keys": ["id"], "order_by": "updated_at desc"}]
    recipe(project, steps, csv=VERSIONS)
    summary = run_recipe_from_yaml("r.yaml")
    assert summary.rows_written == 3
    # NULLs sort last either way: the undated row of id 3 loses.
    assert project.rows("SELECT id, v FROM main.items ORDER BY id") == [
        (1, "newest"),
        (2, "only"),
        (3, "dated"),
    ]


def test_deduplicate_with_two_order_items(project):
    csv = "id,v,rank,updated_at\n1,a,1,2024-01-01\n1,b,2,2024-01-01\n1,c,2,2024-02-01\n"
    steps = [{"type": "deduplicate", "keys": ["id"], "order_by": "rank desc, updated_at"}]
    recipe(project, steps, csv=csv)
    run_recipe_from_yaml("r.yaml")
    # rank 2 wins over rank 1; between the two of rank 2, the earlier updated_at.
    assert project.rows("SELECT id, v FROM main.items") == [(1, "b")]


def test_deduplicate_order_items_may_hold_commas(project):
    order_by = "coalesce(updated_at, cast('2099-01-01' as date)) desc, v in ('a, b', 'c')"
    steps = [{"type": "deduplicate", "keys": ["id"], "order_by": order_by}]
    recipe(project, steps, csv=VERSIONS)
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id, v FROM main.items ORDER BY id") == [
        (1, "newest"),
        (2, "only"),
        (3, "undated"),  # its missing date counts as 2099
    ]


def test_deduplicate_order_items_are_expressions(project):
    steps = [{"type": "deduplicate", "keys": ["id"], "order_by": "-priority"}]
    recipe(project, steps, csv=VERSIONS)
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id, v FROM main.items ORDER BY id") == [
        (1, "mid"),
        (2, "only"),
        (3, "undated"),
    ]


CONTACTS = "id,email,phone\n1,ann@x.com,555\n2,,556\n3,Bob@Y.org,\n"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_hash_columns_without_salt(project):
    steps = [{"type": "hash_columns", "columns": ["email", "phone"]}]
    recipe(project, steps, csv=CONTACTS)
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id, email, phone FROM main.items ORDER BY id") == [
        (1, sha256("ann@x.com"), sha256("555")),  # the number's text is hashed
        (2, None, sha256("556")),  # NULL stays NULL
        (3, sha256("Bob@Y.org"), None),
    ]
    assert project.columns("main.items") == [
        ("id", "BIGINT"),
        ("email", "VARCHAR"),
        ("phone", "VARCHAR"),
    ]


SALT = "s3cr3t-Pepper-9f2c"


def test_hash_columns_with_a_secret_salt_that_never_reaches_the_plan(project, cli, monkeypatch):
    monkeypatch.setenv("PII_SALT", SALT)
    steps = [{"type": "hash_columns", "columns": ["email"], "salt": "{{ secret('PII_SALT') }}"}]
    recipe(project, steps, csv=CONTACTS)
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id, email FROM main.items ORDER BY id") == [
        (1, sha256(SALT + "ann@x.com")),
        (2, None),
        (3, sha256(SALT + "Bob@Y.org")),
    ]
    text = cli("compile", "r.yaml")
    as_json = cli("compile", "r.yaml", "--format", "json")
    written = cli("compile", "r.yaml", "-o", "plan.json")
    assert (text.code, as_json.code, written.code) == (0, 0, 0)
    plan = (project.root / "plan.json").read_text()
    assert "PII_SALT" in text.out and "PII_SALT" in plan
    for output in (text.out, text.err, as_json.out, as_json.err, written.out, written.err, plan):
        assert SALT not in output
    state = project.rows("SELECT * FROM recipec._recipec_state")
    assert SALT not in repr(state)
    # The saved plan runs too, the salt bound from the environment at run time.
    assert cli("run", "--plan", "plan.json").code == 0
    assert project.rows("SELECT email FROM main.items WHERE id = 1") == [
        (sha256(SALT + "ann@x.com"),)
    ]


# -- bad input -------------------------------------------------------------------------------------


def test_an_expression_syntax_error_names_the_file_line_key_and_token(project):
    project.write("data/in.csv", PEOPLE)
    project.write(
        "r.yaml",
        """
        name: t
        source: {type: csv, path: data/in.csv}
        transform:
          steps:
            - type: filter
              where: amount > 0 andd status = 'active'
        destination: {type: duckdb, database: out.duckdb, table: main.items}
        """,
    )
    with pytest.raises(RecipeError) as caught:
        run_recipe_from_yaml("r.yaml")
    (problem,) = caught.value.problems
    assert problem.path == "transform.steps[0].where"
    assert (problem.location.file, problem.location.line) == ("r.yaml", 6)
    assert problem.location.column == 25  # under `andd`
    rendered = caught.value.render()
    assert "r.yaml:6:25: transform.steps[0].where: unexpected 'andd'" in rendered
    assert "amount > 0 andd status = 'active'\n           ^^^^" in rendered
    assert "> 6 |       where: amount > 0 andd status = 'active'" in rendered
    assert not (project.root / "out.duckdb").exists()


def test_a_type_error_in_an_expression_points_at_the_key(project):
    project.write("data/in.csv", PEOPLE)
    project.write(
        "r.yaml",
        """
        name: t
        source: {type: csv, path: data/in.csv}
        transform:
          steps:
            - type: derive
              columns:
                label: upper(amount)
        destination: {type: duckdb, database: out.duckdb, table: main.items}
        """,
    )
    with pytest.raises(RecipeError) as caught:
        run_recipe_from_yaml("r.yaml")
    (problem,) = caught.value.problems
    assert problem.path == "transform.steps[0].columns.label"
    assert (problem.location.line, problem.location.column) == (7, 22)
    assert "upper() needs a string value, but amount is DOUBLE" in problem.message


def test_a_filter_on_a_misspelled_column_suggests_the_right_one(project):
    recipe(project, [{"type": "filter", "where": "amout > 0"}], csv=PEOPLE)
    with pytest.raises(RecipeError) as caught:
        run_recipe_from_yaml("r.yaml")
    assert "unknown column 'amout'" in caught.value.render()
    assert "did you mean 'amount'?" in caught.value.render()


def test_deriving_an_existing_column_is_an_error(project):
    steps = [{"type": "derive", "columns": {"Amount": "amount * 2"}}]
    recipe(project, steps, csv=PEOPLE)
    with pytest.raises(RecipeError) as caught:
        run_recipe_from_yaml("r.yaml")
    (problem,) = caught.value.problems
    assert problem.path == "transform.steps[0].columns.Amount"
    assert problem.message == (
        "derive: column 'Amount' already exists in its input (derive adds new columns; "
        "cast or rename an existing one, or drop it in an earlier step)"
    )
    assert not (project.root / "out.duckdb").exists()


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"type": "drop_columns", "columns": ["frist"]}, "no column 'frist' in its input"),
        ({"type": "select_columns", "columns": ["id", "stauts"]}, "did you mean 'status'?"),
        ({"type": "deduplicate", "keys": ["idd"]}, "did you mean 'id'?"),
        ({"type": "deduplicate", "keys": ["id"], "order_by": "tss desc"}, "did you mean 'ts'?"),
        ({"type": "hash_columns", "columns": ["emali"]}, "no column 'emali' in its input"),
    ],
)
def test_a_missing_column_is_an_error_before_data_moves(project, step, message):
    recipe(project, [step], csv=PEOPLE)
    with pytest.raises(RecipeError) as caught:
        run_recipe_from_yaml("r.yaml")
    assert message in caught.value.render()
    assert not (project.root / "out.duckdb").exists()


@pytest.mark.parametrize(
    ("step", "path"),
    [
        ({"type": "filter", "where": "select 1"}, "transform.steps[0].where"),
        ({"type": "filter", "where": "a; drop table x"}, "transform.steps[0].where"),
        ({"type": "derive", "columns": {"x": "uper(first)"}}, "transform.steps[0].columns.x"),
        ({"type": "deduplicate", "keys": ["id"], "order_by": "ts desc;"}, "transform.steps[0]"),
    ],
)
def test_bad_expressions_fail_validation(project, step, path):
    recipe(project, [step], csv=PEOPLE)
    with pytest.raises(RecipeError) as caught:
        run_recipe_from_yaml("r.yaml")
    assert any(p.path.startswith(path) for p in caught.value.problems), caught.value.problems
    assert not (project.root / "out.duckdb").exists()
