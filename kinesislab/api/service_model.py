"""botocore's own service models, loaded once: the source of every parameter constraint,
every output shape and every modeled exception name the clients use."""

from __future__ import annotations

from functools import lru_cache

import botocore.session
from botocore.model import ServiceModel


@lru_cache(maxsize=None)
def service_model(service_name: str) -> ServiceModel:
    """The botocore ``ServiceModel`` for ``"kinesis"`` or ``"firehose"``."""
    return botocore.session.get_session().get_service_model(service_name)
