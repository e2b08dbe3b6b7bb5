"""Exceptions exactly as boto3 builds them: one ``ClientError`` subclass per modeled error.

``client.exceptions.ResourceNotFoundException`` here is made by botocore's own
``ClientExceptionsFactory`` from the service model, so ``except ClientError``,
``e.response["Error"]["Code"]`` and ``e.operation_name`` behave as they do against AWS.
"""

from __future__ import annotations

from functools import lru_cache

from botocore.errorfactory import BaseClientExceptions, ClientExceptionsFactory
from botocore.exceptions import ClientError

from kinesislab.api.service_model import service_model

#: HTTP status of each error code as the service sends it (botocore model ``error.httpStatusCode``;
#: InternalFailure is the only 500 in Kinesis).
_DEFAULT_STATUS = 400


@lru_cache(maxsize=None)
def client_exceptions(service_name: str) -> BaseClientExceptions:
    """The ``client.exceptions`` namespace for a service, built by botocore."""
    return ClientExceptionsFactory().create_client_exceptions(service_model(service_name))


def http_status(service_name: str, code: str) -> int:
    """The HTTP status the service uses for an error code."""
    for shape in service_model(service_name).error_shapes:
        if shape.name == code:
            return shape.metadata.get("error", {}).get("httpStatusCode", _DEFAULT_STATUS)
    return 500 if code.startswith("InternalFailure") else _DEFAULT_STATUS


class ServiceError(Exception):
    """Raised inside the engine; the client turns it into the modeled ``ClientError`` subclass.

    The engine never imports client classes: it names the error code and the message.
    """

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def make_client_error(service_name: str, error: ServiceError, operation_name: str) -> ClientError:
    """The ``ClientError`` (subclass when modeled) boto3 would raise for ``error``."""
    response = {
        "Error": {"Code": error.code, "Message": error.message},
        "ResponseMetadata": {"HTTPStatusCode": http_status(service_name, error.code)},
        "message": error.message,
    }
    exceptions = client_exceptions(service_name)
    cls = exceptions.from_code(error.code)
    return cls(response, operation_name)
