"""Shared fixtures: a scratch project folder to work in, and the CLI run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import Project, Result

from recipec.cli import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run `recipec ARGS...` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture(autouse=True)
def _forget_secrets():
    """Secrets one test registers for redaction must not redact another test's output."""
    from recipec import redaction

    with redaction.scope():
        yield


@pytest.fixture(autouse=True)
def _forget_plugins():
    """Plug-ins a test registers (and the modules it imported from its own folders) are gone
    after it: the registry is one per process, and a later test may list or miss them."""
    import sys

    from recipec.registry import REGISTRY, ensure_builtins

    ensure_builtins()
    registered = {kind: dict(entries) for kind, entries in REGISTRY._entries.items()}
    modules = set(sys.modules)
    yield
    for kind, entries in registered.items():
        REGISTRY._entries[kind] = entries
    repo = Path(__file__).resolve().parents[1]
    package = tuple(str(repo / part) for part in ("recipec", "compiler", "runtime", "stdlib"))
    installed = (sys.prefix, sys.base_prefix, *package)
    for name in set(sys.modules) - modules:
        file = str(getattr(sys.modules[name], "__file__", "") or "")
        if file and not file.startswith(installed):
            del sys.modules[name]
