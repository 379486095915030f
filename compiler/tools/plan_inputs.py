"""The two sides of `recipec diff`: a recipe file (compiled), a plan JSON (`compile -o`), or
`git:REF:path`, the recipe as it was at a git ref, compiled in a checkout of that ref so that the
files it extends are read at the same ref."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from recipec.compiler.plan import Plan
from recipec.errors import DataLoaderError


class DiffInputError(DataLoaderError):
    """An input of `recipec diff` cannot be read or compiled (exit code 2)."""

    exit_code = 2


GIT_PREFIX = "git:"


def load_input(spec: str, vars: Mapping[str, Any] | None = None, role: str = "input") -> Plan:
    """The plan of one side of a diff: a recipe file (compiled), a plan JSON (`compile -o`) or
    `git:REF:path` (the recipe as it was at REF, compiled in a checkout of REF). Any failure is
    a `DiffInputError` naming the input."""
    if spec.startswith(GIT_PREFIX):
        return _from_git(spec, vars, role)
    path = Path(spec)
    if not path.is_file():
        raise DiffInputError(f"cannot read {role} {spec}: no such file")
    try:
        return _from_file(path, spec, vars)
    except DataLoaderError as exc:
        raise DiffInputError(f"cannot compile {role} {spec}:\n{exc.render()}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DiffInputError(f"cannot read {role} {spec}: {exc}") from None


def _from_file(path: Path, name: str, vars: Mapping[str, Any] | None) -> Plan:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json" or _looks_like_plan(text):
        return Plan.from_json(text, name)
    from recipec.compiler.driver import compile_pipeline, load_pipeline

    return compile_pipeline(load_pipeline(path, vars, resolve_secrets=False))


def _looks_like_plan(text: str) -> bool:
    if not text.lstrip().startswith("{"):
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and "format_version" in data and "units" in data


def _git(args: list[str], cwd: Path, what: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise DiffInputError(f"cannot read {what}: git is not available ({exc})") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["git failed"])[-1]
        raise DiffInputError(f"cannot read {what}: {message}")
    return done.stdout.strip()


def _from_git(spec: str, vars: Mapping[str, Any] | None, role: str) -> Plan:
    what = f"{role} {spec}"
    ref, sep, relative = spec[len(GIT_PREFIX) :].partition(":")
    if not sep or not ref or not relative:
        raise DiffInputError(
            f"cannot read {what}: write git:REF:PATH, e.g. git:main:recipes/orders.yaml"
        )
    here = Path.cwd()
    root = Path(_git(["rev-parse", "--show-toplevel"], here, what))
    prefix = _git(["rev-parse", "--show-prefix"], here, what)
    if not _ref_exists(ref, root):
        raise DiffInputError(f"cannot read {what}: '{ref}' is not a commit of {root}")
    commit = _git(["rev-parse", "--verify", f"{ref}^{{commit}}"], root, what)
    if relative.startswith(("./", "../")):  # relative to the working directory, as git show
        relative = os.path.normpath(os.path.join(prefix, relative))
    relative = relative.replace(os.sep, "/")
    kind = subprocess.run(
        ["git", "cat-file", "-t", f"{commit}:{relative}"], cwd=root, capture_output=True, text=True
    )
    if kind.returncode != 0 or kind.stdout.strip() != "blob":
        raise DiffInputError(f"cannot read {what}: there is no file '{relative}' at {ref}")
    with tempfile.TemporaryDirectory(prefix="recipec-diff-") as scratch:
        checkout = Path(scratch).resolve()
        _extract(root, commit, checkout, what)
        # The same working directory, relative to the checkout, as relative to the repository,
        # so relative paths resolve (and the plan names them) as in the working tree.
        workdir = checkout / prefix if (checkout / prefix).is_dir() else checkout
        with _working_directory(workdir):
            try:
                return _from_file(checkout / relative, spec, vars)
            except DataLoaderError as exc:
                message = exc.render().replace(str(checkout) + os.sep, "")
                raise DiffInputError(f"cannot compile {what}:\n{message}") from None


def _ref_exists(ref: str, root: Path) -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    return done.returncode == 0


def _extract(root: Path, commit: str, target: Path, what: str) -> None:
    """`git archive COMMIT | tar -x` into `target`, without a tar program."""
    if shutil.which("git") is None:
        raise DiffInputError(f"cannot read {what}: git is not available")
    with subprocess.Popen(
        ["git", "archive", "--format=tar", commit],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as archive:
        assert archive.stdout is not None
        try:
            with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
                if hasattr(tarfile, "data_filter"):  # Python 3.10.12+, 3.11.4+
                    tar.extractall(target, filter="data")
                else:  # pragma: no cover
                    tar.extractall(target)
        except tarfile.TarError as exc:
            raise DiffInputError(f"cannot read {what}: git archive failed ({exc})") from None
        finally:
            errors = archive.stderr.read().decode(errors="replace") if archive.stderr else ""
    if archive.returncode != 0:
        raise DiffInputError(f"cannot read {what}: git archive failed: {errors.strip()}")


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
