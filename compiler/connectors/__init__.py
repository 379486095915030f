"""Built-in connectors: their config models and how each lowers to SQL.

They register through the same decorators a plug-in uses.
"""

from recipec.compiler.connectors import (  # noqa: F401  (importing registers them)
    databases,
    duckdb,
    files,
    postgres,
    redshift,
)
