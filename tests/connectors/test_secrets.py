"""A secret never appears in any output: every secret-capable field, written every way a recipe
can write it, through every command (and the files and tables they write)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from helpers import Project, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recipec.api import from_yaml
from recipec.compiler.frontend.inheritance import parse_dot_path
from recipec.compiler.frontend.models import holds_secret
from recipec.compiler.frontend.yaml_loader import format_path, walk
from recipec.registry import REGISTRY, ensure_builtins

FORMS = ("literal", "env_var", "var", "secret")
"""How a recipe writes a secret: as it is, from the environment, a --var, `secret()`."""

PYTHON_SOURCE = """
from recipec import DictBatch, register_source

@register_source("echo_with_token")
def echo_with_token(config):
    yield DictBatch(columns=["id"], rows=[[1], [2]])
"""


@dataclass(frozen=True)
class Case:
    """A recipe with one secret in `field`, and whether it can run here."""

    field: str
    """The secret-capable field, as `<kind> <type>.<key>` (`source postgres.password`)."""
    recipe: Callable[[Project, object, str], dict[str, object]]
    runs: bool = True
    """False where the server rejects the secret (a run then must fail without showing it)."""


def _csv(project: Project) -> str:
    project.write("data/in.csv", "id,email\n1,a@x.org\n2,b@x.org\n")
    return "data/in.csv"


def _duckdb(table: str = "main.t") -> dict[str, object]:
    return {"type": "duckdb", "database": "out.duckdb", "table": table}


def _postgres_source(project: Project, pg, secret: str) -> dict[str, object]:
    pg.run(f"CREATE TABLE IF NOT EXISTS {pg.namespace}.src (id int, email text)")
    pg.run(f"DELETE FROM {pg.namespace}.src", f"INSERT INTO {pg.namespace}.src VALUES (1, 'a')")
    return {"source": pg.source("src", password=secret), "destination": _duckdb()}


def _postgres_destination(project: Project, pg, secret: str) -> dict[str, object]:
    return {
        "source": {"type": "csv", "path": _csv(project)},
        "destination": pg.destination(f"{pg.namespace}.t", password=secret),
    }


def _sql_source(project: Project, pg, secret: str) -> dict[str, object]:
    # the whole URL is the secret: it carries the password
    _postgres_source(project, pg, "unused")
    source = {"type": "sql", "url": secret, "table": f"{pg.namespace}.src"}
    return {"source": source, "destination": _duckdb()}


def _mysql_source(project: Project, pg, secret: str) -> dict[str, object]:
    source = {"type": "mysql", "host": "127.0.0.1", "database": "test", "user": "root"}
    return {"source": {**source, "password": secret, "table": "t"}, "destination": _duckdb()}


def _redshift_destination(project: Project, pg, secret: str) -> dict[str, object]:
    destination = {
        "type": "redshift",
        "host": "example.invalid",
        "database": "dev",
        "user": "u",
        "password": secret,
        "table": "public.t",
        "staging_location": "s3://bucket/prefix",
        "iam_role": "arn:aws:iam::1:role/r",
    }
    return {"source": {"type": "csv", "path": _csv(project)}, "destination": destination}


def _salt(project: Project, pg, secret: str) -> dict[str, object]:
    step = {"type": "hash_columns", "columns": ["email"], "salt": secret}
    return {
        "source": {"type": "csv", "path": _csv(project)},
        "transform": {"steps": [step]},
        "destination": _duckdb(),
    }


def _python_source_token(project: Project, pg, secret: str) -> dict[str, object]:
    project.write("token_source.py", PYTHON_SOURCE)
    return {
        "plugins": ["token_source"],
        "source": {"type": "echo_with_token", "api_token": secret, "note": "plain"},
        "destination": _duckdb(),
    }


CASES = [
    Case("source postgres.password", _postgres_source),
    Case("destination postgres.password", _postgres_destination),
    Case("source sql.url", _sql_source),
    Case("source mysql.password", _mysql_source, runs=False),
    Case("destination redshift.password", _redshift_destination, runs=False),
    Case("transform hash_columns.salt", _salt),
    Case("source python.api_token", _python_source_token),
]


def test_every_secret_capable_field_is_covered():
    """A connector that adds a secret field must be added to CASES."""
    ensure_builtins()
    fields = {
        f"{kind} {registration.name}.{name}"
        for kind in ("source", "destination", "transform")
        for registration in REGISTRY.all(kind)  # type: ignore[arg-type]
        for name, info in registration.config_model.model_fields.items()
        if holds_secret(info.annotation, info.metadata)
    }
    assert fields <= {case.field for case in CASES}


def _written(form: str, value: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """The recipe text for `value` written as `form`, and the CLI's --var arguments."""
    if form == "literal":
        return value, []
    if form == "var":
        return "{{ var('secret_value') }}", ["--var", f"secret_value={value}"]
    monkeypatch.setenv("RECIPEC_TEST_SECRET", value)
    call = "env_var" if form == "env_var" else "secret"
    return "{{ " + call + "('RECIPEC_TEST_SECRET') }}", []


def _secret_value(case: Case, pg) -> str:
    marker = f"S3cr3t-{uuid.uuid4().hex[:12]}"
    if case.field == "source sql.url":
        url = pg.url.set(password=marker)
        return url.render_as_string(hide_password=False)
    return marker


def _outputs(project: Project, cli, var_args: list[str]) -> list[tuple[str, Result]]:
    """Every command's output for r.yaml, after which the project holds what they wrote."""
    results = [
        ("validate", cli("validate", "r.yaml", *var_args)),
        ("validate json", cli("validate", "r.yaml", "--format", "json", *var_args)),
        ("compile", cli("compile", "r.yaml", *var_args)),
        ("compile json", cli("compile", "r.yaml", "--format", "json", *var_args)),
        ("compile -o", cli("compile", "r.yaml", "-o", "plan.json", *var_args)),
        ("diff", cli("diff", "r.yaml", "r.yaml", *var_args)),
        ("diff plan", cli("diff", "plan.json", "r.yaml", "--format", "json", *var_args)),
    ]
    tree = from_yaml("r.yaml", _var_values(var_args)).tree
    for path, _ in walk(tree):
        if path:
            key = format_path(path)
            results.append((f"explain {key}", cli("explain", "r.yaml", key, *var_args)))
    results += [
        ("run", cli("run", "r.yaml", *var_args)),
        ("run json", cli("run", "r.yaml", "--format", "json", "--log-format", "json", *var_args)),
        ("run debug", cli("run", "r.yaml", "--debug", "--full-refresh", *var_args)),
        ("run --plan", cli("run", "--plan", "plan.json", *var_args)),
        ("show-state", cli("show-state", "r.yaml")),
        ("runs", cli("runs", "r.yaml", "--format", "json", *var_args)),
    ]
    return results


def _var_values(var_args: list[str]) -> dict[str, str]:
    pairs = [var_args[i + 1] for i in range(0, len(var_args), 2)]
    return dict(pair.split("=", 1) for pair in pairs)


def _files(root: Path) -> list[tuple[str, bytes]]:
    """What the commands wrote (plans, state, databases): every file but the recipe."""
    return [
        (str(p.relative_to(root)), p.read_bytes())
        for p in root.rglob("*")
        if p.is_file() and p.name != "r.yaml"
    ]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.field)
def test_a_secret_appears_in_no_output_of_any_command(
    case: Case, form: str, project: Project, cli, postgres, monkeypatch: pytest.MonkeyPatch
):
    secret = _secret_value(case, postgres)
    text, var_args = _written(form, secret, monkeypatch)
    recipe = {"name": "secretive", **case.recipe(project, postgres, text)}
    project.write("r.yaml", yaml.safe_dump(recipe, sort_keys=False))

    results = _outputs(project, cli, var_args)

    for command, result in results:
        assert secret not in result.out + result.err, f"`{command}` printed the secret"
    for name, content in _files(project.root):
        assert secret.encode() not in content, f"{name} holds the secret"
    by_command = dict(results)
    assert by_command["compile -o"].code == 0
    assert json.loads((project.root / "plan.json").read_text())["units"][0]["secrets"]
    if case.runs:
        assert by_command["run"].code == 0, by_command["run"].err
        assert by_command["run --plan"].code == 0, by_command["run --plan"].err
    else:
        assert by_command["run"].code == 3, by_command["run"].err  # the server refused it


def test_a_saved_plan_asks_for_the_var_its_secret_reads(project: Project, cli, postgres):
    recipe = _postgres_destination(project, postgres, "{{ var('pw') }}")
    project.write("r.yaml", yaml.safe_dump({"name": "p", **recipe}, sort_keys=False))
    assert cli("compile", "r.yaml", "--var", "pw=hunter2-pw", "-o", "plan.json").code == 0
    assert "hunter2-pw" not in (project.root / "plan.json").read_text()

    missing = cli("run", "--plan", "plan.json")
    assert missing.code == 1
    assert "the secret at destination.password reads var 'pw'" in missing.err
    assert "--var pw=VALUE" in missing.err
    unused = cli("run", "--plan", "plan.json", "--var", "pw=x", "--var", "other=1")
    assert unused.code == 2
    assert "--var other" in unused.err

    ran = cli("run", "--plan", "plan.json", "--var", "pw=hunter2-pw")
    assert ran.code == 0, ran.err
    assert postgres.rows(f"SELECT count(*) FROM {postgres.namespace}.t") == [(2,)]


def test_explain_masks_secrets_under_a_parent_key_and_in_what_they_override(
    project: Project, cli, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PG_PASSWORD", "s3cr3t-pg-pw")
    project.write(
        "base.yaml",
        """
        destination: {type: postgres, host: h, database: d, table: public.t, password: old-pw-1}
        """,
    )
    project.write(
        "r.yaml",
        """
        name: r
        extends: base.yaml
        source: {type: csv, path: in.csv}
        transform:
          steps:
            - {type: hash_columns, columns: [email], salt: pepper-literal-salt}
        destination:
          password: "{{ env_var('PG_PASSWORD') }}"
        """,
    )
    for key in ("destination", "destination.password", "transform", "transform.steps[0]"):
        shown = cli("explain", "r.yaml", key)
        assert shown.code == 0, shown.err
        for secret in ("s3cr3t-pg-pw", "old-pw-1", "pepper-literal-salt"):
            assert secret not in shown.out + shown.err
    assert '"password": "***"' in cli("explain", "r.yaml", "destination").out
    assert '"salt": "***"' in cli("explain", "r.yaml", "transform.steps[0]").out


def test_a_literal_secret_is_read_again_from_its_recipe_file_at_run_time(project: Project, cli):
    project.write("data/in.csv", "id,email\n1,a@x.org\n")
    project.write(
        "r.yaml",
        """
        name: salted
        source: {type: csv, path: data/in.csv}
        transform:
          steps:
            - {type: hash_columns, columns: [email], salt: pepper-literal-salt}
        destination: {type: duckdb, database: out.duckdb, table: main.t}
        """,
    )
    assert cli("compile", "r.yaml", "-o", "plan.json").code == 0
    plan = json.loads((project.root / "plan.json").read_text())
    assert plan["units"][0]["secrets"]["transform.steps[0].salt"]["file"] == "r.yaml"
    assert "pepper-literal-salt" not in json.dumps(plan)
    assert cli("run", "--plan", "plan.json").code == 0
    assert cli("run", "r.yaml", "--full-refresh", "--state-dir", ".other").code == 0
    import duckdb

    expected = duckdb.sql("SELECT sha256('pepper-literal-salt' || 'a@x.org')").fetchone()
    assert project.rows("SELECT email FROM main.t") == [expected]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    secret=st.text(
        st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=4, max_size=30
    ),
    field=st.sampled_from(["source", "destination", "salt"]),
)
def test_any_secret_text_stays_out_of_compile_explain_and_validate(
    secret: str, field: str, project: Project, cli
):
    marked = f"Zq9-{secret}"
    project.write("in.csv", "id,email\n1,a\n")
    source: dict[str, object] = {"type": "csv", "path": "in.csv"}
    destination: dict[str, object] = {
        "type": "postgres",
        "host": "h",
        "database": "d",
        "table": "public.t",
    }
    steps: list[dict[str, object]] = []
    if field == "source":
        source = {"type": "postgres", "host": "h", "database": "d", "table": "public.s"}
        source["password"] = marked
    elif field == "destination":
        destination["password"] = marked
    else:
        steps = [{"type": "hash_columns", "columns": ["email"], "salt": marked}]
    recipe = {"name": "h", "source": source, "destination": destination}
    if steps:
        recipe["transform"] = {"steps": steps}
    project.write("r.yaml", yaml.safe_dump(recipe, allow_unicode=True))
    tree = from_yaml("r.yaml").tree
    keys = [format_path(path) for path, _ in walk(tree) if path]
    outputs = [cli("compile", "r.yaml"), cli("compile", "r.yaml", "--format", "json")]
    outputs += [cli("validate", "r.yaml")] + [cli("explain", "r.yaml", key) for key in keys]
    assert all(o.code == 0 for o in outputs)
    for output in outputs:
        assert marked not in output.out + output.err
    assert parse_dot_path(keys[0])


def test_diff_compiles_a_secret_read_from_a_var_without_the_var(project: Project, cli):
    project.write("data/in.csv", "id\n1\n")
    project.write(
        "r.yaml",
        """
        name: d
        source: {type: csv, path: data/in.csv}
        destination:
          type: postgres
          host: h
          database: d
          table: public.t
          password: "{{ var('pw') }}"
        """,
    )
    result = cli("diff", "r.yaml", "r.yaml")
    assert result.code == 0, result.err
    assert cli("compile", "r.yaml").code == 1  # a compile for a run needs it


def test_a_config_model_shows_its_secret_fields_as_stars(project: Project):
    project.write("data/in.csv", "id\n1\n")
    project.write(
        "r.yaml",
        """
        name: m
        source: {type: postgres, host: h, database: d, table: public.s, password: pw-in-a-repr}
        transform:
          steps:
            - {type: hash_columns, columns: [id], salt: salt-in-a-repr}
        destination: {type: duckdb, database: out.duckdb, table: main.t}
        """,
    )
    validated = from_yaml("r.yaml").validated
    shown = repr(validated.source) + repr(validated.steps) + str(validated.source)
    assert "pw-in-a-repr" not in shown and "salt-in-a-repr" not in shown
    assert validated.source.password == "pw-in-a-repr"  # still the value to every use


def test_a_literal_secret_in_a_base_file_is_read_again_from_that_file(
    project: Project, cli, postgres
):
    destination = postgres.destination(f"{postgres.namespace}.t", password="literal-in-base")
    project.write("bases/pg.yaml", yaml.safe_dump({"destination": destination}))
    project.write("data/in.csv", "id\n1\n")
    project.write(
        "r.yaml",
        """
        name: based
        extends: bases/pg.yaml
        source: {type: csv, path: data/in.csv}
        """,
    )
    assert cli("compile", "r.yaml", "-o", "plan.json").code == 0
    plan = json.loads((project.root / "plan.json").read_text())
    assert plan["units"][0]["secrets"]["destination.password"]["file"] == "bases/pg.yaml"
    assert "literal-in-base" not in json.dumps(plan)
    ran = cli("run", "--plan", "plan.json")
    assert ran.code == 0, ran.err
    assert postgres.rows(f"SELECT count(*) FROM {postgres.namespace}.t") == [(1,)]
