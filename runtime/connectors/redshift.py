"""The run half of the `redshift` destination: not yet; its plans compile for review."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from recipec.errors import ConnectorError
from recipec.runtime.destinations import (
    DestinationSession,
    SessionInputs,
    register_session,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger("recipec.runtime")
_PYFORMAT = re.compile(r"%\((\w+)\)s")


@register_session("redshift")
def _redshift(inputs: SessionInputs) -> DestinationSession:
    raise ConnectorError(
        "running a plan on Redshift is not supported in this version of recipec: "
        "compile it to review the SQL (recipec compile)",
        destination="redshift",
    )
