"""Operation registry: each service operation is a function ``(client, params) -> response``.

The clients turn every registered operation into a snake_case method (``PutRecords`` ->
``put_records``) that validates, runs and shapes the call as boto3 would.
"""

from __future__ import annotations

import re
from typing import Callable

Handler = Callable[[object, dict], dict]

_OPERATIONS: dict[str, dict[str, Handler]] = {}


def operation(service_name: str, operation_name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as ``operation_name`` of ``service_name``."""
    def register(handler: Handler) -> Handler:
        _OPERATIONS.setdefault(service_name, {})[operation_name] = handler
        return handler
    return register


def operations(service_name: str) -> dict[str, Handler]:
    return _OPERATIONS.get(service_name, {})


def snake_case(operation_name: str) -> str:
    """botocore's ``xform_name`` for the names we use: ``PutRecords`` -> ``put_records``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_name).lower()
