"""The `recipec` command line.

Exit codes: 0 success, 1 recipe error, 2 usage error, 3 run failure. A failing command prints one
clear message (a traceback only with --debug).
"""

from __future__ import annotations

import glob
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from recipec import redaction
from recipec._version import __version__
from recipec.errors import DataLoaderError, Interrupted, RecipeError, UsageError, did_you_mean

log = logging.getLogger("recipec")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of a record (`extra={"fields": {...}}`)."""
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


class _JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    """`LEVEL message key=value ...`; an error record prints its message alone (the final
    `error:` line a person reads)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        if fields.pop("event", None) == "error":
            return record.getMessage()
        pairs = " ".join(f"{key}={value}" for key, value in fields.items())
        line = f"{record.levelname} {record.getMessage()}" + (f" {pairs}" if pairs else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _setup_logging(debug: bool, log_format: str) -> None:
    """The one logging setup every output path goes through: a stderr handler with the text or
    JSON formatter. JSON shows info records (run started/finished); text shows warnings and
    errors (and everything with --debug)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if log_format == "json" else _TextFormatter())
    root = logging.getLogger("recipec")
    root.handlers[:] = [handler]
    if debug:
        root.setLevel(logging.DEBUG)
    else:
        root.setLevel(logging.INFO if log_format == "json" else logging.WARNING)
    root.propagate = False


def _configure_logging(debug: bool, log_format: str) -> str:
    """Set up logging from the command's options (or the group's); returns the log format."""
    root_params = click.get_current_context().find_root().params
    debug = debug or bool(root_params.get("debug"))
    log_format = root_params.get("log_format") or log_format
    _setup_logging(debug, log_format)
    return log_format


def _log_format_of(args: list[str]) -> str:
    """--log-format as given on the command line (for errors raised before the command ran)."""
    for index, arg in enumerate(args):
        if arg == "--log-format" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--log-format="):
            return arg.partition("=")[2]
    return "text"


def _common(function: Any) -> Any:
    """--debug and --log-format, accepted by every command."""
    function = click.option("--debug", is_flag=True, help="Show debug logs and tracebacks.")(
        function
    )
    return click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Format of log lines on stderr.",
    )(function)


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--var takes NAME=VALUE, got '{pair}'")
        values[name] = value
    return values


_var_option = click.option(
    "--var", "vars_", multiple=True, metavar="NAME=VALUE", help="A value for {{ var('NAME') }}."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="recipec")
@click.option("--debug", is_flag=True, help="Show debug logs and tracebacks.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Format of log lines on stderr (also accepted after the command).",
)
def cli(debug: bool, log_format: str | None) -> None:
    """Compile declarative YAML recipes into plans, and run them."""


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@_common
def init(directory: str, debug: bool, log_format: str) -> None:
    """Scaffold a working example project in DIRECTORY."""
    _configure_logging(debug, log_format)
    from recipec.scaffold import scaffold

    created = scaffold(Path(directory))
    for path in created:
        click.echo(f"created {path}")
    click.echo(
        f"\nNext: cd {directory} && recipec run recipes/orders.yaml --var db_path=orders.duckdb"
    )


def _expand(patterns: tuple[str, ...]) -> list[str]:
    """Expand globs the shell left alone (quoted, or on Windows). Schema locks
    (`*.lock.yaml`, beside their recipes) are not recipes: a glob skips them."""
    from recipec.compiler.tools.lock import LOCK_SUFFIX

    files: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else []
        matches = [m for m in matches if not m.endswith(LOCK_SUFFIX)]
        files.extend(matches or [pattern])
    return files


def _escape_data(text: str) -> str:
    """Escape a GitHub Actions workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """Escape a GitHub Actions workflow command's property value."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _same_file(first: str, second: str) -> bool:
    try:
        return Path(first).resolve() == Path(second).resolve()
    except OSError:
        return first == second


def _github_annotation(recipe: str, problem: dict[str, Any]) -> str:
    """A problem of `recipe` as a GitHub Actions `::error` line. A problem in the recipe (or in
    no file) names the recipe as given on the command line; one in a parent names the parent."""
    file = problem.get("file")
    shown = file if isinstance(file, str) and not _same_file(file, recipe) else recipe
    properties = [f"file={_escape_property(shown)}"]
    if problem.get("line") is not None:
        properties.append(f"line={problem['line']}")
    if problem.get("column") is not None:
        properties.append(f"col={problem['column']}")
    properties.append("title=recipec")
    message = f"{problem['path']}: {problem['message']}" if problem["path"] else problem["message"]
    for label in ("expected", "hint"):
        if problem.get(label):
            message += f"\n{label}: {problem[label]}"
    return f"::error {','.join(properties)}::{_escape_data(message)}"


@cli.command()
@click.argument("recipes", nargs=-1, required=True)
@_var_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    help="github: one GitHub Actions ::error annotation per problem.",
)
@_common
def validate(
    recipes: tuple[str, ...], vars_: tuple[str, ...], output: str, debug: bool, log_format: str
) -> None:
    """Validate recipes (every extends chain, template and type) without touching data."""
    _configure_logging(debug, log_format)
    from recipec.compiler.driver import compile_pipeline, load_pipeline

    values = _parse_vars(vars_)
    results: list[dict[str, Any]] = []
    for path in _expand(recipes):
        try:
            compile_pipeline(load_pipeline(path, values), lineage=False)
            results.append({"file": path, "ok": True, "problems": []})
        except RecipeError as exc:
            results.append(
                {
                    "file": path,
                    "ok": False,
                    "problems": [p.to_dict() for p in exc.problems],
                    "text": exc.render(),
                }
            )
    failed = [r for r in results if not r["ok"]]
    if output == "json":
        for result in results:
            result.pop("text", None)
        click.echo(json.dumps(results, indent=2))
    elif output == "github":
        for result in results:
            for problem in result["problems"]:
                click.echo(_github_annotation(result["file"], problem))
        click.echo(f"{len(results) - len(failed)} valid, {len(failed)} with errors", err=True)
    else:
        for result in results:
            if result["ok"]:
                click.echo(f"ok      {result['file']}")
            else:
                click.echo(f"error   {result['file']}\n{result['text']}\n", err=True)
        click.echo(f"{len(results) - len(failed)} valid, {len(failed)} with errors")
    if failed:
        sys.exit(RecipeError.exit_code)


@cli.command(name="schema")
@click.option(
    "-o", "--output-file", type=click.Path(dir_okay=False), help="Write the schema to FILE."
)
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE",
    help="Import a plug-in module first, as a recipe's `plugins:` does (repeatable).",
)
@_common
def schema_command(
    output_file: str | None, plugins: tuple[str, ...], debug: bool, log_format: str
) -> None:
    """Print the JSON Schema of recipe files (for editors), generated from the registered types."""
    _configure_logging(debug, log_format)
    from recipec.compiler.tools.json_schema import schema_json
    from recipec.registry import import_plugins

    for module in plugins:
        try:
            import_plugins([module], search_paths=[Path.cwd()])
        except Exception as exc:
            raise UsageError(f"cannot import plug-in module '{module}': {exc}") from None
    text = schema_json()
    if output_file:
        Path(output_file).write_text(text, encoding="utf-8")
        click.echo(f"wrote schema to {output_file}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command(name="compile")
@click.argument("recipe")
@_var_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "mermaid", "dot"]),
    default="text",
    help="mermaid and dot: the resource graph (with --graph).",
)
@click.option("-o", "--output-file", type=click.Path(dir_okay=False), help="Write the plan JSON.")
@click.option("--graph", is_flag=True, help="Print the graph of the recipe's resources.")
@click.option(
    "--select",
    "selectors",
    multiple=True,
    metavar="SELECTOR",
    help="With --graph: only these resources (orders, orders+, +orders, @orders; repeatable).",
)
@click.option(
    "--exclude", "excluded", multiple=True, metavar="SELECTOR", help="With --graph: leave out."
)
@click.option(
    "--introspect", is_flag=True, help="Read a database source's column types (connects to it)."
)
@click.option("--lineage", metavar="COLUMN", help="Show where an output column comes from.")
@click.option(
    "--dialect", metavar="NAME", help="Print the transform steps in this SQL dialect instead."
)
@click.option(
    "--resource", metavar="NAME", help="With --lineage or --dialect: the resource to read."
)
@_common
def compile_command(
    recipe: str,
    vars_: tuple[str, ...],
    output: str,
    output_file: str | None,
    introspect: bool,
    lineage: str | None,
    dialect: str | None,
    graph: bool,
    selectors: tuple[str, ...],
    excluded: tuple[str, ...],
    resource: str | None,
    debug: bool,
    log_format: str,
) -> None:
    """Compile RECIPE into a plan and print it. Connects to nothing unless --introspect."""
    _configure_logging(debug, log_format)
    from recipec.api import compile_file
    from recipec.compiler.tools.render import render_plan

    if graph:
        from recipec.compiler.driver import load_pipeline
        from recipec.compiler.frontend.resources import SelectorError, select
        from recipec.compiler.tools.render import render_graph

        pipeline = load_pipeline(recipe, _parse_vars(vars_))
        try:
            chosen = select(pipeline.graph, selectors, excluded)
        except SelectorError as exc:
            raise UsageError(str(exc)) from None
        click.echo(render_graph(pipeline, output, chosen), nl=False)
        return
    if output in ("mermaid", "dot"):
        raise UsageError(f"--format {output} prints the resource graph: add --graph")
    if selectors or excluded:
        raise UsageError("--select and --exclude choose resources of the graph: add --graph")

    plan = compile_file(recipe, _parse_vars(vars_), introspect=introspect)
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    units = [_unit(plan, resource)] if resource is not None else plan.units
    if lineage is not None:
        _print_lineage(units[0] if resource is not None else plan.only, lineage)
        return
    if dialect is not None:
        for unit in units:
            if len(units) > 1:
                click.echo(f"-- resource {unit.name}")
            _print_in_dialect(unit, dialect)
        return
    if output_file:
        Path(output_file).write_text(plan.to_json(), encoding="utf-8")
        click.echo(f"wrote plan {plan.fingerprint[:16]} to {output_file}", err=True)
        if output == "text":
            return
    click.echo(plan.to_json() if output == "json" else render_plan(plan), nl=output != "json")


@cli.command()
@click.argument("recipe")
@_var_option
@click.option(
    "--resource",
    "resources",
    multiple=True,
    metavar="NAME",
    help="A recipe with resources: lock only these (repeatable); the others keep their lock.",
)
@_common
def lock(
    recipe: str,
    vars_: tuple[str, ...],
    resources: tuple[str, ...],
    debug: bool,
    log_format: str,
) -> None:
    """Read RECIPE's source columns into RECIPE.lock.yaml (commit it): later compiles are then
    offline and fully typed, and runs stop if the source drifts from it. A recipe with
    resources: every resource's (or those named with --resource), in one file."""
    _configure_logging(debug, log_format)
    from recipec.compiler.driver import build_ir, load_pipeline
    from recipec.compiler.tools.lock import (
        drift,
        live_columns,
        lock_entry,
        lock_path,
        read_lock,
        read_lock_document,
        write_lock,
    )

    pipeline = load_pipeline(recipe, _parse_vars(vars_))
    names = list(pipeline.recipes)
    for name in resources:
        if name not in names:
            hint = did_you_mean(name, names)
            raise UsageError(
                f"--resource {name}: the recipe has no resource of that name"
                + (f"; {hint}" if hint else "")
                + f" (resources: {', '.join(names)})"
            )
    if resources and not pipeline.listed:
        raise UsageError("--resource names a resource of a recipe with resources")
    path = lock_path(pipeline.path)
    previous = read_lock_document(pipeline.path)
    entries = dict(previous.get("resources") or {}) if previous and pipeline.listed else {}
    lines = []
    for name in resources or names:
        loaded = pipeline.recipes[name]
        key = name if pipeline.listed else None
        before = read_lock(pipeline.path, key) if previous else None
        ir = build_ir(loaded)
        columns, found = live_columns(ir)
        entries[name] = lock_entry(ir, columns, found)
        changes = drift(before.columns, columns).lines() if before else []
        label = f"{name}: " if pipeline.listed else ""
        lines.append((f"{label}{len(columns)} columns", changes))
    document = {"resources": entries} if pipeline.listed else entries[names[0]]
    write_lock(path, pipeline.path, document)
    verb = "updated" if previous else "wrote"
    if not pipeline.listed:
        summary, changes = lines[0]
        click.echo(f"{verb} {path} ({summary})")
        click.echo("".join(f"  {line}\n" for line in changes), nl=False)
        return
    click.echo(f"{verb} {path}")
    for summary, changes in lines:
        click.echo(f"  {summary}")
        click.echo("".join(f"    {line}\n" for line in changes), nl=False)


def _unit(plan: Any, resource: str) -> Any:
    """The plan's unit of `resource`; a usage error naming the others otherwise."""
    names = [unit.name for unit in plan.units]
    if resource not in names:
        hint = did_you_mean(resource, names)
        raise UsageError(
            f"--resource {resource}: the recipe has no resource of that name"
            + (f"; {hint}" if hint else "")
            + f" (resources: {', '.join(names)})"
        )
    return plan.unit(resource)


def _print_in_dialect(plan: Any, dialect: str) -> None:
    from recipec.compiler.backend.portable import transforms_in

    for step, text in transforms_in(plan, dialect):
        click.echo(f"-- transform[{step.index}] {step.type} ({step.origin})")
        click.echo(f"{text};\n" if text is not None else "-- a Python function: no SQL\n")


def _print_lineage(plan: Any, column: str) -> None:
    from recipec.compiler.tools.lineage import explain

    python = [t for t in plan.transforms if t.runs_in_python]
    if plan.lineage is None and python:
        raise UsageError(
            f"lineage stops at transform[{python[0].index}] ({python[0].type}): a Python "
            "function's columns have no SQL to follow"
        )
    if plan.lineage is None:
        raise UsageError(
            "lineage needs the source's columns: declare a schema:, use --introspect, or "
            "compile where the source files are"
        )
    if column not in plan.lineage:
        hint = did_you_mean(column, plan.lineage)
        raise UsageError(
            f"'{column}' is not an output column"
            + (f"; {hint}" if hint else "")
            + f" (columns: {', '.join(plan.lineage)})"
        )
    source = [(c.name, c.type) for c in plan.extract.output_schema]
    for line in explain(plan.stage.sql, source, column, [t.type for t in plan.transforms]):
        click.echo(line)


@cli.command()
@click.argument("old")
@click.argument("new")
@_var_option
@click.option("--format", "output", type=click.Choice(["text", "markdown", "json"]), default="text")
@_common
def diff(
    old: str, new: str, vars_: tuple[str, ...], output: str, debug: bool, log_format: str
) -> None:
    """Show what changes from OLD to NEW, with each change's risk: safe, backfill, destructive.

    OLD and NEW are each a recipe file, a plan JSON (compile -o) or git:REF:PATH (the recipe at
    a git ref). Exit code 0 when nothing changed, 1 when something did, 2 when an input cannot
    be read or compiled."""
    _configure_logging(debug, log_format)
    from recipec.compiler.tools.diff import diff_plans, render
    from recipec.compiler.tools.plan_inputs import load_input

    values = _parse_vars(vars_)
    result = diff_plans(load_input(old, values, "OLD"), load_input(new, values, "NEW"))
    if output == "json":
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
    click.echo(render(result, output, old, new))
    if result.changes:
        sys.exit(1)


@cli.command()
@click.argument("recipe", required=False)
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False), help="Run a saved plan.")
@_var_option
@click.option("--state-dir", default=".state", show_default=True, type=click.Path(file_okay=False))
@click.option("--full-refresh", is_flag=True, help="Ignore saved state; rebuild the table.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
@click.option("--preview", default=0, metavar="N", help="Print N rows of the loaded table.")
@click.option(
    "--select",
    "selectors",
    multiple=True,
    metavar="SELECTOR",
    help="Only these resources (orders, orders+, +orders, @orders; repeatable).",
)
@click.option("--exclude", "excluded", multiple=True, metavar="SELECTOR", help="Leave out.")
@click.option("--fail-fast", is_flag=True, help="Start no resource after the first failure.")
@_common
def run(
    recipe: str | None,
    plan_file: str | None,
    vars_: tuple[str, ...],
    state_dir: str,
    full_refresh: bool,
    output: str,
    preview: int,
    selectors: tuple[str, ...],
    excluded: tuple[str, ...],
    fail_fast: bool,
    debug: bool,
    log_format: str,
) -> None:
    """Run RECIPE (or a saved plan with --plan): each resource after those it depends on."""
    log_format = _configure_logging(debug, log_format)
    from recipec.api import plan_for_run, run_plan
    from recipec.compiler.plan import Plan
    from recipec.runtime.state import LocalStateBackend

    if (recipe is None) == (plan_file is None):
        raise UsageError("give a RECIPE or --plan FILE (one of the two)")
    values = _parse_vars(vars_)
    if plan_file is not None:
        try:
            text = Path(plan_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read plan file {plan_file}: {exc.strerror}") from None
        plan = Plan.from_json(text, plan_file)
        from recipec.runtime.secrets import unused_vars

        if unused := unused_vars(plan, values):
            raise UsageError(
                f"--var {unused[0]}: a saved plan has its vars compiled in; --var gives only the "
                "vars its secrets read"
            )
    else:
        plan = plan_for_run(recipe, values, state_dir)  # type: ignore[arg-type]
    chosen = _selected(plan, selectors, excluded)
    show_progress = output == "text" and log_format == "text" and sys.stderr.isatty()
    try:
        summary = run_plan(
            plan,
            LocalStateBackend(state_dir),
            full_refresh=full_refresh,
            progress=show_progress,
            refuse_stale=plan_file is not None,
            vars=values,
            select=chosen,
            fail_fast=fail_fast,
        )
    except DataLoaderError as exc:
        # several resources: what committed, failed and was skipped, then the error (a run of
        # one has only the error to say)
        if exc.summary is not None and len(exc.summary.resources) > 1:
            _print_summary(exc.summary, plan, output, 0)
        raise
    _print_summary(summary, plan, output, preview)


def _selected(plan: Any, selectors: tuple[str, ...], excluded: tuple[str, ...]) -> Any:
    """The units `--select`/`--exclude` choose (None: all)."""
    if not selectors and not excluded:
        return None
    from recipec.compiler.frontend.resources import ResourceGraph, SelectorError, select

    graph = ResourceGraph.of([(u.name, u.depends_on) for u in plan.units])
    try:
        return select(graph, selectors, excluded)
    except SelectorError as exc:
        raise UsageError(str(exc)) from None


def _print_summary(summary: Any, plan: Any, output: str, preview: int) -> None:
    if output == "json":
        click.echo(json.dumps(summary.to_dict(), indent=2, default=str))
        return
    from recipec.runtime.report import render_summary

    click.echo(render_summary(summary, plan, preview))


def _recipe_name(recipe: str) -> str:
    """A recipe name as given, or the name of the recipe at a path (`pg_incr.yaml`)."""
    if not recipe.endswith((".yaml", ".yml")) and not Path(recipe).is_file():
        return recipe
    import yaml

    try:
        data = yaml.safe_load(Path(recipe).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read recipe {recipe}: {exc.strerror}") from None
    except yaml.YAMLError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        return data["name"]
    from recipec.api import from_yaml  # the name comes from `extends:`

    return from_yaml(recipe).name


@cli.command(name="show-state")
@click.argument("recipe_name")
@click.option("--state-dir", default=".state", show_default=True, type=click.Path(file_okay=False))
@click.option("--resource", default=None, help="A recipe with resources: this resource's state.")
@_common
def show_state(
    recipe_name: str, state_dir: str, resource: str | None, debug: bool, log_format: str
) -> None:
    """Print the saved state of RECIPE_NAME (a recipe's name, or the path of its file)."""
    _configure_logging(debug, log_format)
    from recipec.compiler.plan import state_key
    from recipec.runtime.state import LocalStateBackend

    recipe_name = _recipe_name(recipe_name)
    if resource is not None:
        recipe_name = state_key(recipe_name, resource)
    backend = LocalStateBackend(state_dir)
    state = backend.load(recipe_name)
    if state is None:
        raise DataLoaderError(
            f"no saved state for recipe '{recipe_name}' in {backend.path(recipe_name)}"
        )
    click.echo(state.to_json(), nl=False)


@cli.command()
@click.argument("recipe")
@_var_option
@click.option("--limit", default=20, show_default=True, help="How many of the newest loads.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
@_common
def runs(
    recipe: str, vars_: tuple[str, ...], limit: int, output: str, debug: bool, log_format: str
) -> None:
    """List RECIPE's runs, resource by resource, newest first, as its destination recorded
    them (failed attempts too)."""
    _configure_logging(debug, log_format)
    from recipec.api import compile_file
    from recipec.runtime.history import load_history

    values = _parse_vars(vars_)
    plan = compile_file(recipe, values, lineage=False)
    loads = load_history(plan, limit, values)
    if output == "json":
        click.echo(json.dumps(loads, indent=2, default=str))
        return
    if not loads:
        tables = ", ".join(unit.write.table for unit in plan.units)
        click.echo(f"no runs of {plan.name} into {tables} yet")
        return
    width = max(len("resource"), *(len(load["resource"]) for load in loads))
    header = (
        f"{'finished at':<26}  {'resource':<{width}}  {'run id':<32}  {'status':<11}  "
        f"{'rows':>10}  {'mode':<9}  watermark"
    )
    click.echo(header)
    for load in loads:
        finished = str(load["finished_at"])[:26]
        click.echo(
            f"{finished:<26}  {load['resource']:<{width}}  {load['run_id']:<32}  "
            f"{load['status']:<11}  {load['rows_written']:>10,}  {load['write_mode']:<9}  "
            f"{load['watermark'] or ''}"
        )
        if load["error"]:
            click.echo(f"{'':<28}{load['error'].splitlines()[0]}")


@cli.command(name="list-connectors")
@_common
def list_connectors(debug: bool, log_format: str) -> None:
    """List the registered sources, destinations and transforms."""
    _configure_logging(debug, log_format)
    from recipec.registry import REGISTRY, ensure_builtins

    ensure_builtins()
    for kind in ("source", "destination", "transform"):
        click.echo(f"{kind}s:")
        for registration in REGISTRY.all(kind):  # type: ignore[arg-type]
            origin = "built-in" if registration.builtin else "plug-in"
            click.echo(f"  {registration.name:<16} {origin:<9} {registration.description}")


@cli.command()
@click.argument("recipe")
@click.argument("key")
@_var_option
@_common
def explain(recipe: str, key: str, vars_: tuple[str, ...], debug: bool, log_format: str) -> None:
    """Show KEY's value in RECIPE and the file and line that set it, through extends (a
    resource's: `resources.NAME.KEY`)."""
    _configure_logging(debug, log_format)
    from recipec.compiler.driver import load_pipeline
    from recipec.compiler.tools.explain import explain as explain_key

    pipeline = load_pipeline(recipe, _parse_vars(vars_))
    name, _, rest = key.removeprefix("resources.").partition(".")
    if key.startswith("resources.") and name in pipeline.recipes and rest:
        loaded, key = pipeline.recipes[name], rest
    elif len(pipeline.recipes) == 1:
        loaded = next(iter(pipeline.recipes.values()))
    elif key.startswith("resources.") and rest:
        hint = did_you_mean(name, list(pipeline.recipes))
        raise UsageError(
            f"{key}: the recipe has no resource '{name}'"
            + (f"; {hint}" if hint else "")
            + f" (resources: {', '.join(pipeline.recipes)})"
        )
    else:
        raise UsageError(
            f"{key}: name the resource, as resources.NAME.{key.removeprefix('resources.')} "
            f"(resources: {', '.join(pipeline.recipes)})"
        )
    click.echo(explain_key(loaded, key))


def _exit_interrupted(message: str, code: int, error_class: str) -> NoReturn:
    """Exit with `code` now: the run has rolled back and closed. (Through `sys.exit`, CPython
    sometimes notices the KeyboardInterrupt it saw and kills itself with SIGINT instead.)"""
    _report(message, code, error_class)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _report(message: str, code: int, error_class: str, **extra: Any) -> None:
    """The final error line, through the logging setup (one JSON object with --log-format json,
    with a recipe error's `problems`, each with its file, line and column)."""
    fields = {"event": "error", "exit_code": code, "error_class": error_class, **extra}
    log.error(message, extra={"fields": fields})
    sys.stderr.flush()


def _fail(message: str, code: int, error_class: str = "", **extra: Any) -> NoReturn:
    _report(message, code, error_class, **extra)
    sys.exit(code)


def _invoke(args: list[str]) -> None:
    """Run the command; a signal (Ctrl-C, SIGTERM) becomes `Interrupted`, whatever it broke."""
    from recipec.runtime.interrupts import interruptible

    with interruptible() as interruptions:
        try:
            cli.main(args=args, prog_name="recipec", standalone_mode=False)
        except Interrupted:
            raise
        except Exception as exc:  # an import, a query: whatever the signal broke
            error = interruptions.error(exc, [])  # outside a run: nothing was committed
            if error is None:
                raise
            raise error from exc
        except KeyboardInterrupt as exc:
            raise interruptions.error(exc, []) or exc from None


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    log_format = _log_format_of(args)
    with redaction.redacted_output():
        _main(args, debug, log_format, exit_when_done=argv is None)


def _main(args: list[str], debug: bool, log_format: str, exit_when_done: bool) -> None:
    _setup_logging(debug, log_format if log_format in ("text", "json") else "text")
    try:
        _invoke(args)
        if exit_when_done:  # the program is done: a late signal must not turn it into a kill
            from recipec.runtime.interrupts import HANDLED

            for number in HANDLED:
                signal.signal(number, signal.SIG_IGN)
    except click.exceptions.Abort:
        _fail("aborted", 130, "Abort")
    except click.ClickException as exc:
        _fail(f"usage error: {exc.format_message()}", 2, type(exc).__name__)
    except DataLoaderError as exc:
        if debug:
            log.exception("failed")
        prefix = "" if isinstance(exc, RecipeError) else "error: "
        if isinstance(exc, Interrupted):
            _exit_interrupted(prefix + exc.render(), exc.exit_code, type(exc).__name__)
        extra = (
            {"problems": [p.to_dict() for p in exc.problems]}
            if isinstance(exc, RecipeError)
            else {}
        )
        _fail(prefix + exc.render(), exc.exit_code, type(exc).__name__, **extra)
    except KeyboardInterrupt:
        _fail("interrupted", 130, "KeyboardInterrupt")
    except Exception as exc:
        if debug:
            raise
        message = f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)"
        _fail(message, 3, type(exc).__name__)


if __name__ == "__main__":
    main()
