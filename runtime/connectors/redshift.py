"""The run half of the `redshift` destination: not yet; its plans compile for review."""

from __future__ import annotations

from recipec.errors import ConnectorError
from recipec.runtime.destinations import (
    DestinationSession,
    SessionInputs,
    register_session,
)


@register_session("redshift")
def _redshift(inputs: SessionInputs) -> DestinationSession:
    raise ConnectorError(
        "running a plan on Redshift is not supported in this version of recipec: "
        "compile it to review the SQL (recipec compile)",
        destination="redshift",
    )
