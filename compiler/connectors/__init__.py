"""Built-in connectors: their config models and how each lowers to SQL.

They register through the same decorators a plug-in uses, when `recipec.registry.ensure_builtins`
imports them (importing one module of this package, as the runtime does for `statements`, loads
no other).
"""

BUILTIN_MODULES = ("databases", "duckdb", "files", "postgres", "redshift")
