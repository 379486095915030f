"""`recipec init`: a small working project to start from."""

from __future__ import annotations

from pathlib import Path

from recipec.errors import UsageError

RECIPE = """\
# A recipe: read orders from CSV, clean them up, merge them into a DuckDB table.
name: orders
extends: stdlib:bases/duckdb_default.yaml
source:
  type: csv
  path: data/orders*.csv
  options: {header: true}
  incremental:
    strategy: cursor
    cursor_column: updated_at
transform:
  steps:
    - type: rename_columns
      mapping: {cust: customer}
    - type: cast
      columns: {amount: "decimal(10,2)", ordered_at: date}
    - type: add_column
      name: loaded_by
      value: "{{ recipe.name }}"
destination:
  database: "{{ var('db_path', 'orders.duckdb') }}"
  table: main.orders
  write_mode: merge
  merge_keys: [order_id]
"""

DATA = """\
order_id,cust,amount,ordered_at,updated_at
1,acme,120.50,2024-05-01,2024-05-01 10:00:00
2,globex,75.00,2024-05-02,2024-05-02 11:30:00
3,initech,310.25,2024-05-03,2024-05-03 09:15:00
"""

FILES = {"recipes/orders.yaml": RECIPE, "recipes/data/orders_2024.csv": DATA}


def scaffold(directory: Path) -> list[Path]:
    """Write the example files; refuse to overwrite any."""
    targets = {directory / name: text for name, text in FILES.items()}
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        raise UsageError(f"not overwriting existing files: {', '.join(existing)}")
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(targets)
