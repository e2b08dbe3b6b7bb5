"""Waiters that poll in virtual time, read from botocore's own waiter definitions."""

from __future__ import annotations

from functools import lru_cache

import botocore.session
from botocore.exceptions import ClientError, WaiterError

from kinesislab.api.registry import snake_case


@lru_cache(maxsize=None)
def _model(service_name: str):
    """botocore's waiter model, loaded once per service (a new botocore session costs ~0.1 s)."""
    return botocore.session.get_session().get_waiter_model(service_name)


def _names(service_name: str) -> dict[str, str]:
    return {snake_case(name): name for name in _model(service_name).waiter_names}


class Waiter:
    """``client.get_waiter("stream_exists").wait(StreamName=...)``: each delay advances the virtual clock."""

    def __init__(self, client, waiter_name: str):
        names = _names(client.service_name)
        if waiter_name not in names:
            raise ValueError(f"Waiter does not exist: {waiter_name}; choose from {sorted(names)}")
        self.config = _model(client.service_name).get_waiter(names[waiter_name])
        self.client = client
        self.name = waiter_name

    def wait(self, WaiterConfig: dict | None = None, **params) -> None:
        delay = (WaiterConfig or {}).get("Delay", self.config.delay)
        attempts = (WaiterConfig or {}).get("MaxAttempts", self.config.max_attempts)
        operation = getattr(self.client, snake_case(self.config.operation))
        for attempt in range(1, attempts + 1):
            try:
                response = operation(**params)
                error_code = None
            except ClientError as error:
                response, error_code = error.response, error.response["Error"]["Code"]
            for acceptor in self.config.acceptors:
                if acceptor.matcher == "error" and error_code == acceptor.expected:
                    matched = True
                elif acceptor.matcher == "path" and error_code is None:
                    matched = _path(response, acceptor.argument) == acceptor.expected
                else:
                    matched = False
                if matched and acceptor.state == "success":
                    return
                if matched and acceptor.state == "failure":
                    raise WaiterError(name=self.name, reason="Waiter encountered a terminal failure state",
                                      last_response=response)
            if attempt < attempts:
                self.client.sim.advance(delay)
        raise WaiterError(name=self.name, reason="Max attempts exceeded", last_response=response)


def _path(response: dict, argument: str):
    value = response
    for part in argument.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
