"""The examples in README.md and docs/*.md, run and compared with the output the docs show.

Every example a reader can type is a test, so a doc cannot drift from the code. Each runnable
block is its own test case, named `FILE:LINE` (`pytest tests/test_docs.py -k cli.md:247`).

Console blocks
--------------
A fenced block tagged `console` is a terminal session::

    ```console
    $ recipec lock orders.yaml        # a comment after the command is fine
    wrote orders.lock.yaml (8 columns)
    $ recipec lock missing.yaml
    Recipe error:
    <recipe>: recipe file not found: missing.yaml
    [exit 1]
    ```

- A line starting with `$ ` is a command. The lines after it, up to the next `$ ` line or the
  end of the block, are its output: stdout and stderr together, as a terminal shows them.
- A command must exit 0, unless its output ends with a line `[exit N]`: then it must exit N.
- A command ending in `<<EOF` (or `<<'EOF'`) reads the lines after it, up to a line `EOF`, as
  its standard input; they are not output (`$ cat > orders.yaml <<'EOF'` writes a file).
- The commands of a block run one after the other in one working directory (a `cd` stays in
  effect for the rest of the block). It is a temporary directory holding a fresh copy of the
  repository's `recipes/` folder and of `tests/docs_files/` (the small recipes and data the
  docs' examples use, such as `bad.yaml`), with `recipes/` committed to a git repository (for
  `recipec diff git:main:...`).

The commands are not given to a shell; they are run here, in-process, so that the test is fast
and the same on every machine. What is understood:

- `recipec ...` (also `.venv/bin/recipec`, `../.venv/bin/recipec`): `recipec.cli.main`;
- `cd DIR`, `export NAME=VALUE...`, `cat FILE...`, `cat > FILE` (with a here-document),
  `echo ...`, `ls [DIR]`;
- `NAME=VALUE ... COMMAND` (environment variables for that command only), `A && B` (B runs
  only if A succeeded), `COMMAND | head -N` / `| tail -N`, `COMMAND > FILE`, `>> FILE`,
  `# comments`.

Anything else fails the test: extend `_run_simple` or mark the block skipped.

Comparing the output
--------------------
Both the expected and the actual output go through `normalise` first: trailing spaces and
blank lines at the end are dropped, and the values that change from run to run become
placeholders (`NORMALISE`):

- runs of 16 or more hex digits (with a digit among them): fingerprints, run ids, hashes;
- timings: `0.14 s`, `0.000s`, `(22 rows/s)` and JSON's `"seconds": 0.01`;
- ISO date-times with a `T` (`2026-11-26T11:42:12.045011+00:00`): when a run happened;
- the temporary working directory: `<tmp>`.

Data values (`2024-05-03 09:15:00`), versions and counts are compared as written. Beyond that,
the expected output may use `...` like doctest's ELLIPSIS: a line that is only `...` matches any
number of lines (none included), and `...` inside a line matches any text. Use it for long,
uninteresting output, not to hide what the example is about.

When the code changed on purpose, `RECIPEC_DOCS_UPDATE=1 .venv/bin/python -m pytest
tests/test_docs.py` writes the actual output of each failing console command into the doc (the
wildcards of that command are lost: put them back), for you to review in `git diff`. A `pycon`
block is fixed by hand.

Python blocks
-------------
A fenced block tagged `pycon` (`>>> ` prompts) runs with doctest (ELLIPSIS on), in the same kind
of working directory. Each block starts with fresh globals: import what it uses. (`ruff format`
formats these blocks too.) Blocks tagged `python`, `yaml`, `sh` and the rest are not run; a `sh`
block may not contain a `recipec` command, nor an untagged block a `$ ` prompt (make it a
`console` block).

Directives
----------
An HTML comment right before a block (blank lines between are fine) changes how it runs:

- `<!-- docs-test: skip REASON -->`: not run; reported as skipped with REASON. Keep these rare
  (an example that needs cloud credentials, a long load).
- `<!-- docs-test: setup COMMAND -->`: run COMMAND first (as a console command; it must exit 0,
  its output is not compared), also before a `pycon` block. Several may be given, one per
  comment; `cd` in them stays in effect. Prefer a visible command when the reader needs it;
  `recipec init demo && cd demo` (the project most of docs/cli.md talks about) is the usual one.
- `<!-- docs-test: postgres -->`: the block needs the local PostgreSQL server
  (`POSTGRES_URL`: 127.0.0.1:5432, user postgres, database test, as the examples' recipes say);
  it is skipped when the server is not reachable (fails under `CI=true`). The schema
  `recipec_docs` is created empty with a table `recipec_docs.customers` (`POSTGRES_SETUP`) and
  dropped afterwards.
"""

from __future__ import annotations

import contextlib
import difflib
import doctest
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import REPO

from recipec.cli import main
from recipec.registry import REGISTRY, ensure_builtins

DOCS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))

NORMALISE: tuple[tuple[str, str], ...] = (
    (r"\b(?=[0-9a-f]*[0-9])[0-9a-f]{16,}\b", "<hex>"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", "<time>"),
    (r"\b\d+\.\d+ ?s\b", "<seconds>"),
    (r"\(\d+ rows/s\)", "(<n> rows/s)"),
    (r'("(?:duration_)?seconds"): [0-9.e-]+', r"\1: <seconds>"),
)
"""(pattern, replacement) applied in order to expected and actual output alike."""

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
"""The server the docs' Postgres examples name (not RECIPEC_TEST_POSTGRES_URL: the recipes in
the docs spell out this host, user and database)."""
POSTGRES_SETUP = """
DROP SCHEMA IF EXISTS recipec_docs CASCADE;
CREATE SCHEMA recipec_docs;
CREATE TABLE recipec_docs.customers (
    id integer PRIMARY KEY, name text NOT NULL, balance numeric(12, 2), updated_at timestamp
);
INSERT INTO recipec_docs.customers VALUES
    (1, 'Ada', 10.50, '2024-05-01 10:00:00'), (2, 'Grace', 20.00, '2024-05-02 11:30:00');
"""

DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(\w+)\s*(.*?)\s*-->$")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
HEREDOC = re.compile(r"\s*<<\s*'?(\w+)'?\s*(#.*)?$")
ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
RECIPEC = re.compile(r"^\s*(\$ )?([\w./]*/)?recipec\s", re.MULTILINE)
PROMPT = re.compile(r"^\$ ", re.MULTILINE)


@dataclass
class Block:
    """One fenced block of a doc: where it is, its language and text, and its directives."""

    path: Path
    line: int
    lang: str
    text: str
    raw_fence: str
    directives: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    def directive(self, name: str) -> list[str]:
        return [value for key, value in self.directives if key == name]


def blocks(path: Path) -> Iterator[Block]:
    """The fenced blocks of a Markdown file, with the directives in the comments before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    directives: list[tuple[str, str]] = []
    number = 0
    while number < len(lines):
        line = lines[number]
        fence = FENCE.match(line)
        directive = DIRECTIVE.match(line.strip())
        if directive:
            directives.append((directive[1], directive[2]))
        elif fence:
            indent, body = len(fence[1]), []
            end = number + 1
            while end < len(lines) and lines[end].strip() != "```":
                body.append(lines[end][indent:])
                end += 1
            yield Block(path, number + 1, fence[2], "\n".join(body), line, directives)
            directives, number = [], end
        elif line.strip():
            directives = []
        number += 1


ALL_BLOCKS = [block for path in DOCS for block in blocks(path)]
RUNNABLE = [block for block in ALL_BLOCKS if block.lang in ("console", "pycon")]


def normalise(text: str, tmp: Path | None = None) -> str:
    if tmp is not None:
        text = text.replace(str(tmp.resolve()), "<tmp>").replace(str(tmp), "<tmp>")
    for pattern, replacement in NORMALISE:
        text = re.sub(pattern, replacement, text)
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n")


def matches(expected: str, actual: str) -> bool:
    """Whether `actual` fits `expected`, where `...` is a wildcard (a line of it: any lines)."""
    parts = []
    for line in expected.splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append("[^\n]*?".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return re.fullmatch("".join(parts), actual + "\n" if actual else "") is not None


@dataclass
class Command:
    """One `$ ` line of a console block, with its standard input and the output it must give."""

    line: str
    stdin: str = ""
    heredoc: str = ""
    """The `<<EOF` marker as written, if the command reads a here-document."""
    expected: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        last = self.expected[-1] if self.expected else ""
        found = re.fullmatch(r"\[exit (\d+)\]", last.strip())
        return int(found[1]) if found else 0

    @property
    def output(self) -> str:
        lines = self.expected[:-1] if self.exit_code else self.expected
        return "\n".join(lines)

    @property
    def text(self) -> str:
        """The command as the doc writes it: prompt, here-document, expected output."""
        return self.text_with("\n".join(self.expected), None)

    def text_with(self, output: str, code: int | None) -> str:
        lines = [f"$ {self.line}{self.heredoc}"]
        if self.heredoc:
            lines += [*self.stdin.splitlines(), HEREDOC.search(self.heredoc)[1]]
        lines += [line.rstrip() for line in output.rstrip().splitlines()]
        return "\n".join(lines + ([f"[exit {code}]"] if code else []))


def commands(text: str) -> list[Command]:
    """The commands of a console block, in order."""
    found: list[Command] = []
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = Command(line[2:])
            heredoc = HEREDOC.search(command.line)
            if heredoc:
                command.line, command.heredoc = (
                    command.line[: heredoc.start()],
                    command.line[heredoc.start() :],
                )
                body = []
                for body_line in lines:
                    if body_line == heredoc[1]:
                        break
                    body.append(body_line)
                command.stdin = "\n".join(body) + "\n"
            found.append(command)
        elif found:
            found[-1].expected.append(line)
        elif line.strip():
            raise AssertionError(f"output before the first command: {line!r}")
    return found


class Session:
    """Runs console commands the way a shell would, in-process; collects what they print."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp

    def run(self, line: str, stdin: str = "") -> tuple[int, str]:
        """Run one command line (`&&` chains included): its exit code and its output."""
        tokens = shlex.shlex(line, posix=True, punctuation_chars="|&>")
        tokens.whitespace_split = True
        tokens.commenters = "#"
        words = list(tokens)
        output, code = "", 0
        while words:
            if "&&" in words:
                split = words.index("&&")
                simple, words = words[:split], words[split + 1 :]
            else:
                simple, words = words, []
            code, printed = self._run_pipeline(simple, stdin)
            output += printed
            if code:
                break
        return code, output

    def _run_pipeline(self, words: list[str], stdin: str) -> tuple[int, str]:
        target, mode = None, "w"
        for operator in (">", ">>"):
            if operator in words:
                split = words.index(operator)
                words, target = words[:split], words[split + 1]
                mode = "w" if operator == ">" else "a"
        filters: list[list[str]] = []
        if "|" in words:
            split = words.index("|")
            words, rest = words[:split], words[split + 1 :]
            filters = [rest]
        code, out, err, both = self._run_simple(words, stdin)
        if not filters and target is None:
            return code, both
        for filter_ in filters:
            out = self._filter(filter_, out)
        if target is not None:
            with open(target, mode, encoding="utf-8") as file:
                file.write(out)
            out = ""
        return code, out + err

    @staticmethod
    def _filter(words: list[str], text: str) -> str:
        program, *args = words
        count = int(args[-1].lstrip("-")) if args else 10
        lines = text.splitlines(keepends=True)
        if program == "head":
            return "".join(lines[:count])
        if program == "tail":
            return "".join(lines[-count:])
        raise AssertionError(f"unsupported filter in a doc example: {' '.join(words)}")

    def _run_simple(self, words: list[str], stdin: str) -> tuple[int, str, str, str]:
        """One command: exit code, stdout, stderr, and both as a terminal interleaves them."""
        env = {}
        while words and ENV.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        program, *args = words
        streams = _Streams()
        with _environment(env), streams.capture():
            code = self._dispatch(program, args, stdin)
        return code, streams.out.getvalue(), streams.err.getvalue(), streams.both.getvalue()

    def _dispatch(self, program: str, args: list[str], stdin: str) -> int:
        if program == "recipec" or program.endswith("/recipec"):
            try:
                main(args)
            except SystemExit as exit_:
                return exit_.code if isinstance(exit_.code, int) else 1
            return 0
        if program == "cd":
            os.chdir(args[0])
        elif program == "export":
            os.environ.update(arg.partition("=")[::2] for arg in args)
        elif program == "cat" and not args:
            print(stdin, end="")
        elif program == "cat":
            for name in args:
                print(Path(name).read_text(encoding="utf-8"), end="")
        elif program == "echo":
            print(" ".join(args))
        elif program == "ls":
            for name in sorted(os.listdir(args[0] if args else ".")):
                print(name)
        else:
            raise AssertionError(f"unsupported command in a doc example: {program}")
        return 0


class _Tee(io.StringIO):
    """A stream that also copies what it is given into a shared one (the terminal's view)."""

    def __init__(self, both: io.StringIO) -> None:
        super().__init__()
        self.both = both

    def write(self, text: str) -> int:
        self.both.write(text)
        return super().write(text)


class _Streams:
    def __init__(self) -> None:
        self.both = io.StringIO()
        self.out = _Tee(self.both)
        self.err = _Tee(self.both)

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        with contextlib.redirect_stdout(self.out), contextlib.redirect_stderr(self.err):
            yield


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working directory every block starts from: `recipes/`, committed to git."""
    root = tmp_path_factory.mktemp("docs-template")
    shutil.copytree(
        REPO / "recipes",
        root / "recipes",
        ignore=shutil.ignore_patterns("*.duckdb", "*.wal", ".state", "__pycache__"),
    )
    git = ["git", "-c", "user.name=docs", "-c", "user.email=docs@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "docs"]):
        subprocess.run([*git, *args], cwd=root, check=True, capture_output=True)
    return root


@pytest.fixture
def workdir(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "work"
    shutil.copytree(template, root)
    shutil.copytree(Path(__file__).parent / "docs_files", root, dirs_exist_ok=True)
    monkeypatch.chdir(root)
    environ, path, modules = dict(os.environ), list(sys.path), set(sys.modules)
    ensure_builtins()  # registered once per process: keep them
    registered = {kind: dict(entries) for kind, entries in REGISTRY._entries.items()}
    hidden_modules = {}
    for kind, entries in registered.items():  # a doc shows the built-ins: hide test plug-ins
        REGISTRY._entries[kind] = {name: r for name, r in entries.items() if r.builtin}
        for registration in entries.values():  # and let a doc's plug-in import register again
            module = getattr(registration.factory, "__module__", "")
            if not registration.builtin and module in sys.modules:
                hidden_modules[module] = sys.modules.pop(module)
    yield root
    # Undo what the block's commands changed in this process: exported variables, plug-ins
    # imported from the working directory and what they registered.
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]
    for kind, entries in registered.items():
        REGISTRY._entries[kind] = entries
    sys.modules.update(hidden_modules)


@pytest.fixture
def postgres_schema() -> Iterator[None]:
    """The `recipec_docs` schema on the local PostgreSQL server, dropped afterwards."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        connection = psycopg2.connect(POSTGRES_URL, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        if os.environ.get("CI") == "true":  # as tests/connectors/conftest.py: CI needs the server
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(POSTGRES_SETUP)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA IF EXISTS recipec_docs CASCADE")
        connection.close()


def _report(command: Command, code: int, expected: str, actual: str) -> str:
    diff = difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), "doc", "actual", lineterm=""
    )
    return f"$ {command.line}\nexit code {code}, the doc expects {command.exit_code}\n" + "\n".join(
        diff
    )


def run_setup(block: Block, session: Session) -> None:
    for setup in block.directive("setup"):
        code, output = session.run(setup)
        assert code == 0, f"setup `{setup}` failed:\n{output}"


def run_console(block: Block, session: Session) -> None:
    failures, rewritten = [], []
    for command in commands(block.text):
        code, output = session.run(command.line, command.stdin)
        expected = normalise(command.output, session.tmp)
        actual = normalise(output, session.tmp)
        ok = code == command.exit_code and matches(expected, actual)
        if not ok:
            failures.append(_report(command, code, expected, actual))
        rewritten.append(command.text if ok else command.text_with(output, code))
    if failures and os.environ.get("RECIPEC_DOCS_UPDATE"):
        _rewrite(block, "\n".join(rewritten))
    assert not failures, "\n\n".join(failures)


def _rewrite(block: Block, text: str) -> None:
    """Put the actual output into the doc (RECIPEC_DOCS_UPDATE=1), for review in the diff."""
    indent = " " * (len(block.raw_fence) - len(block.raw_fence.lstrip()))
    old = "\n".join(indent + line if line else line for line in block.text.splitlines())
    new = "\n".join(indent + line if line else line for line in text.splitlines())
    content = block.path.read_text(encoding="utf-8")
    fence = block.raw_fence + "\n"
    assert content.count(fence + old + "\n") == 1, f"cannot find {block.id} to update it"
    block.path.write_text(content.replace(fence + old + "\n", fence + new + "\n"), "utf-8")


def run_pycon(block: Block) -> None:
    test = doctest.DocTestParser().get_doctest(
        block.text, {}, block.id, str(block.path), block.line
    )
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=out.write)
    assert runner.failures == 0, out.getvalue()


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_doc_example(block: Block, request: pytest.FixtureRequest) -> None:
    skip = block.directive("skip")
    if skip:
        pytest.skip(skip[0] or "marked skip in the doc")
    if block.directive("postgres"):
        request.getfixturevalue("postgres_schema")
    session = Session(request.getfixturevalue("workdir"))
    run_setup(block, session)
    if block.lang == "pycon":
        run_pycon(block)
    else:
        run_console(block, session)


SHELL_BLOCKS = [b for b in ALL_BLOCKS if b.lang in ("sh", "bash", "shell", "")]


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=[block.id for block in SHELL_BLOCKS])
def test_no_untested_command(block: Block) -> None:
    """A shell example with a `recipec` command, or a `$ ` prompt, is a `console` block, so
    that it is tested. (A plain block of a command's synopsis, without `$ `, is fine.)"""
    untested = PROMPT if block.lang == "" else RECIPEC
    assert not untested.search(block.text), f"{block.id}: make this a ```console block"


def test_the_conventions_hold() -> None:
    """The matcher itself: wildcards, exit codes, here-documents, normalisation."""
    assert matches("a\n...\nd", "a\nb\nc\nd") and matches("a\n...\nd", "a\nd")
    assert matches("x ... z", "x y z") and not matches("a\nb", "a\nc")
    block = commands("$ cat > f <<'EOF'\nhello\nEOF\n$ recipec nope\noops\n[exit 2]")
    assert block[0].stdin == "hello\n" and block[0].expected == []
    assert (block[1].exit_code, block[1].output) == (2, "oops")
    assert not matches("x ... z", "x y\nz")
    assert RECIPEC.search("cd x\n.venv/bin/recipec run r.yaml") and not RECIPEC.search("make demo")
    assert normalise("fingerprint de3315d93fa9e3ab  0.14 s (22 rows/s), 0.000s") == (
        "fingerprint <hex>  <seconds> (<n> rows/s), <seconds>"
    )


def test_directives_belong_to_the_next_block(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "<!-- docs-test: skip needs S3 credentials -->\n\n```console\n$ recipec run s3.yaml\n```\n"
        "<!-- docs-test: setup recipec init . -->\ntext between\n```console\n$ ls\n```\n"
    )
    first, second = blocks(doc)
    assert first.directive("skip") == ["needs S3 credentials"] and first.line == 3
    assert second.directives == []


def test_the_shell_subset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chains, redirections, pipes and environment assignments, as a shell runs them."""
    monkeypatch.chdir(tmp_path)
    session = Session(tmp_path)
    assert session.run("echo a > f && echo b >> f && cat f | tail -1") == (0, "b\n")
    assert session.run("echo 'x # y'  # a comment") == (0, "x # y\n")
    assert session.run("X_DOCS=1 recipec --version && echo no")[0] == 0
    assert "X_DOCS" not in os.environ
    code, output = session.run("recipec lock missing.yaml && echo not reached")
    assert code == 1 and "missing.yaml" in output and "not reached" not in output
