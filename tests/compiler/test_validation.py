"""Stage 4: every recipe error names file, line, key path, what was expected, and a suggestion."""

import pytest

from recipec import RecipeError, compile_recipe, from_yaml

BASE = """
name: v
source:
  type: csv
  path: d.csv
destination:
  type: duckdb
  database: out.duckdb
  table: main.t
"""


def problems_of(project, text):
    project.write("d.csv", "id\n1\n")
    project.write("r.yaml", text)
    with pytest.raises(RecipeError) as info:
        compile_recipe(from_yaml("r.yaml"))
    return info.value.problems


def test_all_errors_are_reported_at_once_with_suggestions(project):
    problems = problems_of(
        project,
        """
        name: v
        sorce: {}
        source:
          type: csv
          path: d.csv
          optons: {header: true}
          incremental: {strategy: cursor, cursor_colum: x}
        transform:
          steps:
            - type: cast
              columns: {a: integr, b: "decimal(40,2)"}
            - type: renam_columns
              mapping: {a: b}
        destination:
          type: duckdb
          database: out.duckdb
          table: main.t
          write_mode: mrge
        runtime:
          batch_size: many
        """,
    )
    found = {(p.path, p.location.line): p for p in problems}
    assert set(found) == {
        ("sorce", 2),
        ("source.optons", 6),
        ("source.incremental.cursor_colum", 7),
        ("source.incremental.cursor_column", 7),
        ("transform.steps[0].columns.a", 11),
        ("transform.steps[0].columns.b", 11),
        ("transform.steps[1].type", 12),
        ("destination.write_mode", 18),
        ("runtime.batch_size", 20),
    }
    assert found["sorce", 2].hint == "did you mean 'source'?"
    assert found["source.optons", 6].hint == "did you mean 'options'?"
    assert found["source.incremental.cursor_colum", 7].hint == "did you mean 'cursor_column'?"
    assert found["transform.steps[0].columns.a", 11].message == "unknown type 'integr'"
    assert found["transform.steps[0].columns.a", 11].hint == "did you mean 'integer'?"
    assert "precision is 1 to 38" in found["transform.steps[0].columns.b", 11].hint
    assert found["transform.steps[1].type", 12].hint == "did you mean 'rename_columns'?"
    assert found["destination.write_mode", 18].expected == "one of: append, overwrite, merge, scd2"
    assert found["destination.write_mode", 18].hint == "did you mean 'merge'?"
    assert "valid integer" in found["runtime.batch_size", 20].message
    assert all(p.location.file == "r.yaml" for p in problems)


def test_rendered_error_has_a_numbered_frame_with_a_caret(project):
    (problem,) = problems_of(project, BASE.replace("type: csv", "type: cvs"))
    text = problem.render()
    assert text.splitlines()[0] == "r.yaml:3:3: source.type: unknown source type 'cvs'"
    assert ">  3 |   type: cvs" in text.replace(">  3", ">  3") or "> 3 |   type: cvs" in text
    assert "did you mean 'csv'?" in text


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            ("write_mode: append", "write_mode: merge"),
            "destination.write_mode",
            "needs merge_keys",
        ),
        (
            ("table: main.t", "table: 'main.t; DROP TABLE x'"),
            "destination.table",
            "not a table name",
        ),
        (("name: v", "name: 'bad name!'"), "name", "invalid recipe name"),
        (("path: d.csv", "path: [d.csv]"), "source.path", "valid string"),
        (("type: duckdb", "type: duckdbb"), "destination.type", "unknown destination type"),
        (("  type: csv\n", ""), "source.type", "missing required key 'type'"),
        (("name: v\n", ""), "name", "missing required key 'name'"),
    ],
)
def test_single_mistakes(project, change, path, message):
    text = BASE.replace("database: out.duckdb", "database: out.duckdb\n  write_mode: append")
    problems = problems_of(project, text.replace(*change))
    assert any(p.path == path and message in p.message for p in problems), [
        (p.path, p.message) for p in problems
    ]


def test_incremental_strategy_typo_suggests_the_strategy(project):
    problems = problems_of(
        project, BASE.replace("path: d.csv", "path: d.csv\n  incremental: {strategy: cursr}")
    )
    (problem,) = problems
    assert problem.path == "source.incremental"
    assert "unknown value 'cursr' for 'strategy'" in problem.message
    assert problem.hint == "did you mean 'cursor'?"


def test_quoted_table_names_are_identifiers(project):
    project.write("d.csv", "id\n1\n")
    project.write("r.yaml", BASE.replace("table: main.t", 'table: main."o\'brien orders"'))
    plan = compile_recipe(from_yaml("r.yaml"))
    assert plan.only.write.sql_write.write_sql == [
        'INSERT INTO "main"."o\'brien orders" SELECT * FROM "_recipec_stage"'
    ]


def test_overwrite_with_an_incremental_source_is_refused(project):
    text = BASE.replace("path: d.csv", "path: d.csv\n  incremental: {strategy: modified_time}")
    text = text.replace("table: main.t", "table: main.t\n  write_mode: overwrite")
    (problem,) = problems_of(project, text)
    assert problem.path == "destination.write_mode" and "only the newest rows" in problem.message


def test_secrets_cannot_be_written_into_sql(project, monkeypatch):
    monkeypatch.setenv("SALT", "s3cr3t")
    text = (
        BASE
        + "transform:\n  steps:\n"
        + "    - {type: add_column, name: k, value: \"{{ secret('SALT') }}\"}\n"
    )
    text = text.replace("path: d.csv", "path: \"{{ secret('SALT') }}.csv\"")
    problems = problems_of(project, text)
    assert [(p.path, p.location.line) for p in problems] == [
        ("source.path", 4),
        ("transform.steps[0].value", 11),
    ]
    assert all("would be written into the plan" in p.message for p in problems)
    assert all("s3cr3t" not in p.render() for p in problems)


def test_secret_looking_keys_match_whole_words(project, monkeypatch):
    from recipec.compiler.frontend.templates import SECRET_KEY

    assert SECRET_KEY.search("db_password") and SECRET_KEY.search("api_key")
    assert SECRET_KEY.search("token") and SECRET_KEY.search("auth")
    assert not SECRET_KEY.search("author") and not SECRET_KEY.search("tokenizer_name")


def test_secrets_in_sql_connector_options_are_refused(project, monkeypatch):
    monkeypatch.setenv("SEP", ";")
    text = BASE.replace(
        "path: d.csv", "path: d.csv\n  options: {delimiter: \"{{ secret('SEP') }}\"}"
    )
    (problem,) = problems_of(project, text)
    assert problem.path == "source.options.delimiter"


def test_duckdb_tables_are_schema_and_table_only(project):
    (problem,) = problems_of(project, BASE.replace("table: main.t", "table: db.main.t"))
    assert problem.path == "destination.table" and "[schema.]table" in problem.message
    assert problem.location.line == 8
