"""What the Kinesis and Firehose clients share: validation, error translation, response metadata."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING

from kinesislab.api.errors import ServiceError, client_exceptions, make_client_error
from kinesislab.api.registry import operations, snake_case
from kinesislab.api.validation import validate_request

if TYPE_CHECKING:
    from kinesislab.simulator import Simulator


_OID_NAMESPACE = uuid.NAMESPACE_OID.bytes
_UUID_VARIANT_MASK, _UUID_RFC_4122 = 0xC000 << 48, 0x8000 << 48
_UUID_VERSION_MASK, _UUID_VERSION_5 = 0xF000 << 64, 5 << 76


def uuid5_text(name: str) -> str:
    """``str(uuid.uuid5(uuid.NAMESPACE_OID, name))``, computed the same way without building a
    ``UUID`` object (a request id is made on every call)."""
    value = int.from_bytes(hashlib.sha1(_OID_NAMESPACE + name.encode("utf-8")).digest()[:16], "big")
    value = (value & ~_UUID_VARIANT_MASK | _UUID_RFC_4122) & ~_UUID_VERSION_MASK | _UUID_VERSION_5
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class SimulatedClient:
    """Base of the boto3-shaped clients. Subclasses set ``service_name``."""

    service_name = ""

    def __init__(self, sim: "Simulator"):
        self.sim = sim
        self.exceptions = client_exceptions(self.service_name)
        self._request_counter = 0

    def __repr__(self) -> str:
        return f"<kinesislab {self.service_name} client, virtual time {self.sim.now.isoformat()}>"

    def _request_id(self) -> str:
        # Deterministic (seed + call count) and independent of the simulation's random stream.
        self._request_counter += 1
        return uuid5_text(f"{self.service_name}/{self.sim.seed}/{self._request_counter}")

    def _invoke(self, operation_name: str, params: dict) -> dict:
        handler = operations(self.service_name)[operation_name]
        try:
            # PutRecords entries the validator found plainly valid come back as columns, for the handler.
            checked = validate_request(self.service_name, operation_name, params)
            if params.get("DryRun"):
                # The model's DryRunOperationException: checked, then rejected, nothing done.
                raise ServiceError("DryRunOperationException",
                                   "The request was rejected because the DryRun parameter was specified.")
            response = handler(self, params) if checked is None else handler(self, params, checked)
        except ServiceError as error:
            raise make_client_error(self.service_name, error, operation_name) from None
        response["ResponseMetadata"] = {
            "RequestId": self._request_id(), "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}
        return response

    def can_paginate(self, operation_name: str) -> bool:
        return False

    @classmethod
    def install_operations(cls) -> None:
        """Give the class one method per registered operation (so Tab completion lists them)."""
        for operation_name in operations(cls.service_name):
            method_name = snake_case(operation_name)
            setattr(cls, method_name, cls._make_method(operation_name, method_name))

    @classmethod
    def _make_method(cls, operation_name: str, method_name: str):
        # The operation is bound in the closure and ``self`` is positional-only, so no keyword
        # parameter (a request member such as "_name" or "self", say from the wire) can redirect
        # the call to another operation or clash with ``self``: it is just an unknown parameter.
        def method(self, /, **params):
            return self._invoke(operation_name, params)

        method.__name__ = method_name
        method.__qualname__ = f"{cls.__name__}.{method_name}"
        method.__doc__ = (f"{operation_name}, as boto3's ``{cls.service_name}`` client: same keyword "
                          f"parameters, response and exceptions, in virtual time.")
        return method
