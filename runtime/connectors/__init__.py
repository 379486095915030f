"""The run halves of the built-in connectors, each in the module named as its compile half
(`compiler/connectors/<name>.py`): a destination registers how its session opens with
`register_session(name)` (`recipec.runtime.destinations`), as a plug-in would."""

BUILTINS = ("duckdb", "postgres", "redshift")
