"""The state store: a version per key, compared and swapped, so two runs that both read a key
cannot both write it; state files of the formats before read as version 0."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import Project

from recipec.errors import StateConflict
from recipec.runtime.state import LocalStateBackend, State


def test_a_swap_writes_the_next_version_only_over_the_version_read(tmp_path):
    store = LocalStateBackend(tmp_path)
    first = store.swap(State(recipe_name="r"), expected=0)
    assert first.version == 1 and store.load("r") == first
    second = store.swap(State(recipe_name="r", checkpoints={"page": 2}), expected=1)
    assert second.version == 2
    with pytest.raises(StateConflict, match=r"version 2, this run read version 1"):
        store.swap(State(recipe_name="r", checkpoints={"page": 3}), expected=1)
    assert store.load("r") == second  # the conflicting write left nothing


def test_a_state_file_of_an_earlier_format_reads_as_version_zero(tmp_path):
    (tmp_path / "r.json").write_text(
        json.dumps({"format_version": 2, "recipe_name": "r", "cursor": {"column": "id"}})
    )
    store = LocalStateBackend(tmp_path)
    state = store.load("r")
    assert state is not None and (state.version, state.format_version) == (0, 3)
    assert store.swap(state, expected=0).version == 1


PLUGIN = """
from recipec import register_destination

@register_destination("null_sink")
class NullSink:
    def __init__(self, config):
        pass

    def write(self, reader, context):
        return sum(batch.num_rows for batch in reader)
"""


def test_each_commit_is_the_next_version_of_its_key(project: Project, cli):
    project.write("in.csv", "id\n1\n2\n")
    project.write("sink.py", PLUGIN)
    recipe = {
        "name": "versions",
        "plugins": ["sink"],
        "source": {
            "type": "csv",
            "path": "in.csv",
            "incremental": {"strategy": "cursor", "cursor_column": "id"},
        },
        "destination": {"type": "null_sink", "table": "t"},
    }
    project.write("r.yaml", yaml.safe_dump(recipe))
    assert cli("run", "r.yaml").code == 0
    assert project.state("versions")["version"] == 1
    project.write("in.csv", "id\n1\n2\n3\n")
    assert cli("run", "r.yaml").code == 0
    assert project.state("versions")["version"] == 2
    assert cli("run", "r.yaml", "--full-refresh").code == 0  # replaces the data, not the key
    assert project.state("versions")["version"] == 3
