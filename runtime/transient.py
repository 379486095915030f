"""Which failures are transient: the one place a driver's or DuckDB's error is classified.

By code where the error carries one: a Postgres SQLSTATE (class 08 connection exceptions, 40
transaction rollbacks such as deadlocks and serialization failures, 53300 too many connections,
55P03 a lock wait that timed out, 57P01-57P03 the server shutting down) and a MySQL error number
(connection lost or refused, too many connections, lock wait timeout, deadlock). By message only
where there is no code: libpq's failures to connect (before a session, psycopg2 has no
SQLSTATE), DuckDB's scanners (which pass on the driver's text) and DuckDB's file lock (another
process holds the database file).
"""

from __future__ import annotations

import re
from typing import Any

from recipec.errors import ConnectorError, TransientError

_POSTGRES_STATES = ("08", "40", "53300", "55P03", "57P01", "57P02", "57P03")
_MYSQL_ERRORS = frozenset({1040, 1205, 1213, 2002, 2003, 2006, 2013, 2055})
_UNCODED = re.compile(
    r"could not connect|connection refused|timeout expired|timed out|server closed the connection"
    r"|lost connection|can't connect|connection reset|too many connections"
    r"|could not set lock|conflicting lock|database is locked",
    re.IGNORECASE,
)


def is_transient(exc: BaseException) -> bool:
    """Whether another attempt may succeed where `exc` failed."""
    cause: Any = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    state = getattr(cause, "pgcode", None)
    if isinstance(state, str):
        return state.startswith(_POSTGRES_STATES)
    number = _mysql_error_number(cause)
    if number is not None:
        return number in _MYSQL_ERRORS
    return bool(_UNCODED.search(str(cause)))


def connector_error(message: str, exc: BaseException, **context: Any) -> ConnectorError:
    """`message` as a `TransientError` when `exc` is transient, else as a `ConnectorError`."""
    kind = TransientError if is_transient(exc) else ConnectorError
    return kind(message, **context)


def _mysql_error_number(exc: Any) -> int | None:
    """PyMySQL's errors carry (number, text) as their args."""
    if type(exc).__module__.split(".")[0] != "pymysql":
        return None
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None
