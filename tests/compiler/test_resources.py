"""A recipe's resources: defaults, each resource's own extends, when:, and the dependency graph
with its problems all reported at once, each at its line."""

from __future__ import annotations

import pytest

from recipec.compiler.driver import load_pipeline
from recipec.errors import RecipeError

SHOP = """
name: shop
defaults:
  source: {type: csv}
  destination: {type: duckdb, database: w.duckdb}
resources:
  - name: customers
    source: {path: data/c.csv}
    destination: {table: dim_customers}
  - name: orders
    depends_on: [customers]
    source: {path: data/c.csv}
    destination: {table: fact_orders, write_mode: overwrite}
  - name: order_items
    depends_on: [orders]
    extends: bases/items.yaml
    when: "{{ var('include_items', 'true') == 'true' }}"
    source: {path: data/c.csv}
    destination: {table: fact_order_items}
  - name: payments
    depends_on: [customers]
    source: {path: data/c.csv}
    destination: {table: fact_payments}
"""

ITEMS_BASE = """
transform:
  steps:
    - {type: add_column, name: batch, value: items}
destination: {write_mode: append}
"""


@pytest.fixture
def shop(project):
    project.write("data/c.csv", "id,v\n1,a\n")
    project.write("bases/items.yaml", ITEMS_BASE)
    project.write("shop.yaml", SHOP)
    return project


def test_each_resource_is_a_load_with_the_defaults_under_it(shop):
    pipeline = load_pipeline("shop.yaml")
    assert list(pipeline.recipes) == ["customers", "orders", "order_items", "payments"]
    orders = pipeline.recipes["orders"].validated
    assert orders.source_registration.name == "csv"
    assert orders.destination.database.endswith("w.duckdb")  # type: ignore[attr-defined]
    assert orders.destination.write_mode == "overwrite"  # type: ignore[attr-defined]
    items = pipeline.recipes["order_items"]
    assert [step.type for step, _ in items.validated.steps] == ["add_column"]  # type: ignore[attr-defined]
    assert items.validated.destination.write_mode == "append"  # type: ignore[attr-defined]
    assert items.name == "shop"  # the recipe's name: a base a resource extends names none
    assert {f.path for f in items.files} >= {"shop.yaml", "bases/items.yaml"}


def test_levels_run_after_their_dependencies_in_the_order_written(shop):
    graph = load_pipeline("shop.yaml").graph
    assert graph.levels == (("customers",), ("orders", "payments"), ("order_items",))
    assert graph.edges == [
        ("customers", "orders"),
        ("orders", "order_items"),
        ("customers", "payments"),
    ]


def test_when_false_leaves_a_resource_out(shop):
    pipeline = load_pipeline("shop.yaml", {"include_items": "false"})
    assert "order_items" not in pipeline.recipes
    assert pipeline.skipped == ["order_items"]


def test_a_recipe_without_resources_is_a_graph_of_one(project):
    project.write("in.csv", "id\n1\n")
    project.write(
        "one.yaml",
        """
        name: one
        source: {type: csv, path: in.csv}
        destination: {type: duckdb, database: o.duckdb, table: main.t}
        """,
    )
    pipeline = load_pipeline("one.yaml")
    assert list(pipeline.recipes) == ["one"]
    assert pipeline.graph.levels == (("one",),)


def test_the_graph_prints_as_text_mermaid_and_dot(shop, cli):
    text = cli("compile", "shop.yaml", "--graph")
    assert text.code == 0, text.err
    assert text.out == (
        "Resources of recipe 'shop': 4 in 3 level(s)\n"
        "  level 1\n"
        "    customers\n"
        "  level 2\n"
        "    orders  after customers\n"
        "    payments  after customers\n"
        "  level 3\n"
        "    order_items  after orders\n"
    )
    mermaid = cli("compile", "shop.yaml", "--graph", "--format", "mermaid")
    assert mermaid.out.splitlines()[0] == "graph TD"
    assert [line.strip() for line in mermaid.out.splitlines() if "-->" in line] == [
        "customers --> orders",
        "orders --> order_items",
        "customers --> payments",
    ]
    skipped = cli(
        "compile", "shop.yaml", "--graph", "--format", "dot", "--var", "include_items=false"
    )
    assert "  order_items [style=dashed];" in skipped.out
    assert "  customers -> payments;" in skipped.out
    graph = cli("compile", "shop.yaml", "--graph", "--format", "json").json()
    assert graph["levels"] == [["customers"], ["orders", "payments"], ["order_items"]]
    assert cli("compile", "shop.yaml", "--format", "mermaid").code == 2  # needs --graph


def test_validate_checks_every_resource(shop, cli):
    result = cli("validate", "shop.yaml")
    assert result.code == 0, result.err
    assert "ok      shop.yaml" in result.out


def test_compile_prints_each_resource_with_its_dependencies(shop, cli):
    result = cli("compile", "shop.yaml")
    assert result.code == 0, result.err
    headers = [line for line in result.out.splitlines() if line.startswith("resource ")]
    assert [h.split("'")[1] for h in headers] == ["customers", "orders", "payments", "order_items"]
    assert headers[1].endswith("after customers") and headers[3].endswith("after orders")
    plan = cli("compile", "shop.yaml", "--format", "json").json()
    assert plan["levels"] == [["customers"], ["orders", "payments"], ["order_items"]]
    assert [u["state_key"] for u in plan["units"]][:2] == ["shop.customers", "shop.orders"]
    assert len({u["fingerprint"] for u in plan["units"]}) == 4


BAD = """
name: bad
defaults:
  source: {type: csv, path: data/c.csv}
  destination: {type: duckdb, database: w.duckdb}
resources:
  - name: a
    depends_on: [c]
    destination: {table: a}
  - name: b
    depends_on: [a, customer]
    destination: {table: b}
  - name: c
    depends_on: [b]
    destination: {table: c}
  - name: a
    destination: {table: a2}
  - name: d
    when: "{{ var('x', 'maybe') }}"
    destination: {table: d, write_mode: sideways}
  - name: customers
    destination: {table: e}
  - {depends_on: [a]}
  - name: 9lives
    destination: {table: f}
  - name: g
    depends_on: a
    extends: bases/missing.yaml
    destination: {table: g}
"""


def test_every_problem_of_the_graph_is_reported_at_once_at_its_line(project, cli):
    project.write("data/c.csv", "id\n1\n")
    path = project.write("bad.yaml", BAD)
    lines = path.read_text().splitlines()

    with pytest.raises(RecipeError) as info:
        load_pipeline("bad.yaml")
    found = {(p.path, p.location.line if p.location else None): p for p in info.value.problems}

    def line_of(text: str, start: int = 0) -> int:
        return next(i for i, line in enumerate(lines, 1) if i > start and text in line)

    cycle = found[("resources[0].depends_on", line_of("depends_on: [c]"))]
    assert cycle.message == "dependency cycle: a -> c -> b -> a (each depends on the next)"
    missing = found[("resources[1].depends_on[1]", line_of("depends_on: [a, customer]"))]
    assert "'b' depends on 'customer', which is not a resource" in missing.message
    assert missing.hint == "did you mean 'customers'?"
    twice = found[("resources[3].name", line_of("- name: a", line_of("- name: c")))]
    assert twice.message == f"resource 'a' is defined twice (first at line {line_of('- name: a')})"
    when = found[("resources[4].when", line_of("when:"))]
    assert when.message == "when must render to true or false, got 'maybe'"
    assert ("resources.d.destination.write_mode", line_of("sideways")) in found
    assert ("resources[6].name", line_of("{depends_on: [a]}")) in found
    assert found[("resources[7].name", line_of("9lives"))].message == (
        "'9lives' is not a resource name"
    )
    assert ("resources[8].depends_on", line_of("depends_on: a")) in found
    assert ("resources[8].extends", line_of("bases/missing.yaml")) in found

    result = cli("validate", "bad.yaml")
    assert result.code == 1
    assert "Recipe has 9 errors" in result.err


def test_load_keys_beside_resources_belong_in_a_resource(project):
    project.write(
        "r.yaml",
        """
        name: r
        source: {type: csv, path: x.csv}
        resources:
          - name: a
            destination: {type: duckdb, database: w.duckdb, table: a}
        """,
    )
    with pytest.raises(RecipeError) as info:
        load_pipeline("r.yaml")
    (problem,) = [p for p in info.value.problems if p.path == "source"]
    assert problem.message.startswith("'source' belongs in a resource or in defaults")
    assert problem.location is not None and problem.location.line == 2


def test_the_json_schema_describes_resources_and_defaults(shop):
    import json

    import yaml
    from jsonschema import Draft202012Validator

    from recipec.compiler.tools.json_schema import schema_json

    validator = Draft202012Validator(json.loads(schema_json()))
    document = yaml.safe_load(SHOP)
    assert list(validator.iter_errors(document)) == []
    document["resources"][0]["sauce"] = {}
    assert [e.message for e in validator.iter_errors(document)]  # an unknown key of a resource


@pytest.mark.parametrize(
    ("selectors", "exclude", "expected"),
    [
        ([], [], ["customers", "orders", "order_items", "payments"]),
        (["orders"], [], ["orders"]),
        (["orders+"], [], ["orders", "order_items"]),
        (["+orders"], [], ["customers", "orders"]),
        (["customers+1"], [], ["customers", "orders", "payments"]),
        (["1+order_items"], [], ["orders", "order_items"]),
        (["@orders"], [], ["customers", "orders", "order_items"]),
        (["orders payments"], [], ["orders", "payments"]),
        (["orders", "payments"], [], ["orders", "payments"]),
        (["customers+,+order_items"], [], ["customers", "orders", "order_items"]),
        (["customers+"], ["orders+"], ["customers", "payments"]),
    ],
)
def test_selectors_follow_dbt(shop, selectors, exclude, expected):
    from recipec.compiler.frontend.resources import select

    assert select(load_pipeline("shop.yaml").graph, selectors, exclude) == expected


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("ordrs", "selector 'ordrs' names no resource 'ordrs'; did you mean 'orders'?"),
        ("orders++", "'orders++' is not a selector"),
        ("", None),
    ],
)
def test_a_bad_selector_is_a_usage_error_naming_it(shop, cli, selector, message):
    result = cli("compile", "shop.yaml", "--graph", "--select", selector)
    if message is None:  # an empty selector selects nothing
        assert result.code == 0 and "0 of 4 selected" in result.out
        return
    assert result.code == 2
    assert message in result.err


def test_a_recipe_whose_one_resource_is_left_out_says_so(project, cli):
    project.write("data/c.csv", "id\n1\n")
    project.write(
        "r.yaml",
        """
        name: off
        resources:
          - name: only
            when: "false"
            source: {type: csv, path: data/c.csv}
            destination: {type: duckdb, database: w.duckdb, table: t}
        """,
    )
    result = cli("compile", "r.yaml")
    assert result.code == 1
    assert "its one resource's when: is false: there is nothing to load" in result.err


def test_explain_shows_where_a_resources_value_came_from(shop, cli):
    table = cli("explain", "shop.yaml", "resources.order_items.destination.write_mode")
    assert table.code == 0, table.err
    assert table.out.splitlines() == [
        'destination.write_mode = "append"',
        "  set at bases/items.yaml:4",  # the resource's own extends: over defaults
    ]
    database = cli("explain", "shop.yaml", "resources.orders.destination.database").out
    assert database.splitlines()[1] == "  set at shop.yaml:4"  # from defaults:
    unknown = cli("explain", "shop.yaml", "resources.ordrs.destination.table")
    assert unknown.code == 2
    assert "the recipe has no resource 'ordrs'; did you mean 'orders'?" in unknown.err
    bare = cli("explain", "shop.yaml", "destination.table")
    assert bare.code == 2 and "name the resource, as resources.NAME.destination.table" in bare.err
