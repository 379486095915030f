"""Benchmark: how compile time grows with the number of resources in a recipe.

Usage (from the repository root):
    .venv/bin/python bench/bench_compile.py [--small 20] [--large 200] [--repeat 5]

Writes two recipes of independent and chained CSV resources (every third resource depends on
the one before it) into a temporary folder and measures, in this process after one warm-up of
each, what a compile of them does today: loading the recipe and its resource graph
(`load_pipeline`: extends, defaults, templates, validation, the graph's checks and levels), then
lowering each resource into its unit of the one plan (`compile_pipeline`). It prints the medians
and the ratio large / small against the target: linear growth, at most 12x for 10x the resources.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET = 12.0
"""200 resources compile in at most 12x the time of 20 (10x the work, some slack)."""


def recipe(resources: int) -> str:
    lines = [
        "name: wide",
        "defaults:",
        "  source: {type: csv, path: data/in.csv}",
        "  destination: {type: duckdb, database: w.duckdb, write_mode: merge, merge_keys: [id]}",
        "resources:",
    ]
    for index in range(resources):
        lines.append(f"  - name: r{index}")
        if index % 3 == 2:
            lines.append(f"    depends_on: [r{index - 1}]")
        lines.append(f"    destination: {{table: t{index}}}")
        lines.append("    transform:")
        lines.append("      steps:")
        lines.append(f"        - {{type: filter, where: 'amount > {index}'}}")
        lines.append("        - {type: derive, columns: {double: amount * 2}}")
    return "\n".join(lines) + "\n"


def compile_once(path: Path) -> float:
    from recipec.compiler.driver import compile_pipeline, load_pipeline

    started = time.perf_counter()
    plan = compile_pipeline(load_pipeline(path), lineage=False)
    elapsed = time.perf_counter() - started
    assert len(plan.units) == len(plan.levels[0]) + sum(len(level) for level in plan.levels[1:])
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--large", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="recipec-bench-compile-"))
    os.chdir(folder)
    (folder / "data").mkdir()
    (folder / "data" / "in.csv").write_text("id,amount\n1,2.5\n2,3.5\n")
    paths = {}
    for size in (args.small, args.large):
        paths[size] = folder / f"wide_{size}.yaml"
        paths[size].write_text(recipe(size))
    for path in paths.values():
        compile_once(path)  # warm-up: imports, the sniff of the CSV
    times: dict[int, list[float]] = {size: [] for size in paths}
    for round_ in range(args.repeat):
        for size in (args.small, args.large) if round_ % 2 == 0 else (args.large, args.small):
            times[size].append(compile_once(paths[size]))
    small, large = (statistics.median(times[size]) for size in (args.small, args.large))
    print(f"compile (load_pipeline + compile_pipeline), median of {args.repeat}:")
    print(f"  {args.small:>4} resources  {small:7.3f} s  ({small / args.small * 1000:.1f} ms each)")
    print(f"  {args.large:>4} resources  {large:7.3f} s  ({large / args.large * 1000:.1f} ms each)")
    ratio = large / small
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print(f"  ratio {args.large}/{args.small}: {ratio:.2f}x  (target <= {TARGET:.0f}x)  {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
