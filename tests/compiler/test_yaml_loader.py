"""Stage 1: YAML with locations."""

import pytest

from recipec.compiler.frontend.yaml_loader import find, load_yaml_text, to_plain
from recipec.errors import RecipeError


def test_values_remember_file_line_and_column():
    tree = load_yaml_text("name: x\nsource:\n  type: csv\n  path: a.csv\n", "r.yaml")
    node = find(tree, ("source", "path"))
    assert node is not None
    assert (node.location.file, node.location.line, node.location.column) == ("r.yaml", 4, 9)
    assert node.key_location is not None and node.key_location.column == 3
    assert to_plain(tree) == {"name": "x", "source": {"type": "csv", "path": "a.csv"}}


def test_yaml_merge_keys_and_anchors_resolve():
    text = "base: &b {a: 1}\nchild:\n  <<: *b\n  c: 2\n"
    assert to_plain(load_yaml_text(text, "r.yaml"))["child"] == {"a": 1, "c": 2}


def test_duplicate_keys_are_errors_naming_both_lines():
    with pytest.raises(RecipeError) as info:
        load_yaml_text("name: a\nname: b\n", "r.yaml")
    problem = info.value.problems[0]
    assert "duplicate key 'name'" in problem.message
    assert problem.location.line == 2
    assert "line 1" in (problem.hint or "")


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("name: x\nsource: [a\n", "malformed YAML", 3),
        ("name: x\n  bad: indent\n", "malformed YAML", 2),
        ("", "empty", 1),
        ("- a\n- b\n", "must be a mapping", 1),
    ],
)
def test_malformed_yaml_is_one_located_error(text, message, line):
    with pytest.raises(RecipeError) as info:
        load_yaml_text(text, "r.yaml")
    (problem,) = info.value.problems
    assert message in problem.message
    assert problem.location.line == line


def test_characters_yaml_does_not_allow_are_a_recipe_error():
    with pytest.raises(RecipeError, match="malformed YAML"):
        load_yaml_text("name: a\x7f\n", "r.yaml")


def test_a_json_style_surrogate_pair_is_one_character():
    node = load_yaml_text('name: "\\ud83d\\ude00"', "r.yaml")
    assert node.value["name"].value == "\U0001f600"


def test_a_lone_surrogate_is_a_located_error():
    with pytest.raises(RecipeError, match=r"r.yaml:1:7: a lone surrogate") as info:
        load_yaml_text('name: "a\\ud83d"', "r.yaml")
    assert "\\U0001F600" in info.value.render()
