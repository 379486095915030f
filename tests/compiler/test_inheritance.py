"""Stage 2: extends, merge rules, delete, provenance."""

import pytest

from recipec import RecipeError, compile_recipe, from_yaml
from recipec.compiler.tools.explain import explain


@pytest.fixture
def chain(project):
    project.write(
        "bases/grand.yaml",
        """
        source:
          type: csv
          path: ../data/*.csv
          options: {delimiter: ";", header: true}
        transform:
          steps:
            - type: add_column
              name: from_grand
              value: 1
        destination:
          type: duckdb
          database: grand.duckdb
          table: main.t
          merge_keys: [a, b]
        runtime:
          retries: 5
        """,
    )
    project.write(
        "bases/parent.yaml",
        """
        extends: grand.yaml
        source:
          options: {delimiter: ","}
        transform:
          steps:
            - type: add_column
              name: from_parent
              value: 2
        destination:
          merge_keys: [id]
          write_mode: merge
        """,
    )
    project.write("data/x.csv", "id,v\n1,a\n")
    return project.write(
        "recipes/child.yaml",
        """
        name: child
        extends: ../bases/parent.yaml
        transform:
          steps:
            - type: add_column
              name: from_child
              value: 3
        runtime:
          batch_size: 10
        """,
    )


def test_multi_level_chain_merges_deepest_parent_first(chain):
    recipe = from_yaml(chain)
    model = recipe.validated
    assert model.source.options.delimiter == ","  # parent overrides grandparent
    assert model.source.options.header is True  # dicts merge key by key
    assert [s.name for s, _ in model.steps] == ["from_grand", "from_parent", "from_child"]
    assert model.destination.merge_keys == ["id"]  # other lists are replaced
    assert model.model.runtime.retries == 5 and model.model.runtime.batch_size == 10
    assert [f.path for f in recipe.files] == [
        "recipes/child.yaml",
        "bases/parent.yaml",
        "bases/grand.yaml",
    ]


def test_paths_resolve_against_the_file_that_wrote_them(chain):
    plan = compile_recipe(from_yaml(chain))
    assert plan.only.extract.path == "data/*.csv"  # written in bases/grand.yaml as ../data/*.csv
    assert plan.only.write.database == "bases/grand.duckdb"


def test_delete_removes_inherited_keys_before_validation(project, chain):
    project.write(
        "recipes/no_keys.yaml",
        """
        name: no_keys
        extends: ../bases/parent.yaml
        destination:
          write_mode: append
        delete:
          - destination.merge_keys
          - transform.steps[0]
        """,
    )
    recipe = from_yaml("recipes/no_keys.yaml")
    assert recipe.validated.destination.merge_keys == []
    assert [s.name for s, _ in recipe.validated.steps] == ["from_parent"]


def test_delete_of_a_missing_key_is_an_error_with_a_suggestion(project, chain):
    project.write(
        "recipes/bad_delete.yaml",
        "name: x\nextends: ../bases/parent.yaml\ndelete:\n  - destination.merge_kyes\n",
    )
    with pytest.raises(RecipeError) as info:
        from_yaml("recipes/bad_delete.yaml")
    (problem,) = info.value.problems
    assert "merge_kyes" in problem.message and problem.location.line == 4
    assert problem.hint == "did you mean 'merge_keys'?"


def test_extends_cycle_names_the_chain(project):
    project.write("a.yaml", "name: a\nextends: b.yaml\n")
    project.write("b.yaml", "extends: c.yaml\n")
    project.write("c.yaml", "extends: a.yaml\n")
    with pytest.raises(
        RecipeError, match=r"extends cycle: a\.yaml -> b\.yaml -> c\.yaml -> a\.yaml"
    ):
        from_yaml("a.yaml")


def test_missing_parent_names_the_file_that_asked_for_it(project):
    project.write("sub/child.yaml", "name: a\n\nextends: ../nowhere.yaml\n")
    with pytest.raises(RecipeError) as info:
        from_yaml("sub/child.yaml")
    (problem,) = info.value.problems
    assert "'../nowhere.yaml' not found" in problem.message
    assert problem.location.file == "sub/child.yaml" and problem.location.line == 3


def test_stdlib_prefix_resolves_inside_the_installed_stdlib(project):
    project.write("d.csv", "id\n1\n")
    project.write(
        "r.yaml",
        """
        name: r
        extends: stdlib:bases/duckdb_default.yaml
        source: {type: csv, path: d.csv}
        destination: {table: t}
        """,
    )
    recipe = from_yaml("r.yaml", vars={"db_path": "x.duckdb"})
    assert recipe.validated.destination.type == "duckdb"
    assert recipe.validated.destination.database == "x.duckdb"
    assert [f.path for f in recipe.files] == ["r.yaml", "stdlib:bases/duckdb_default.yaml"]


def test_explain_shows_origin_and_every_override(chain):
    text = explain(from_yaml(chain), "destination.merge_keys")
    assert text.splitlines() == [
        'destination.merge_keys = ["id"]',
        "  set at bases/parent.yaml:10",
        "  overriding, oldest first:",
        '    bases/grand.yaml:14: ["a", "b"]',
    ]


def test_explain_of_an_unknown_key_suggests_one(chain):
    with pytest.raises(RecipeError, match=r"no key 'destination\.merge_key'") as info:
        explain(from_yaml(chain), "destination.merge_key")
    assert info.value.problems[0].hint == "did you mean 'merge_keys'?"
