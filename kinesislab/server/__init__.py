"""A local endpoint that speaks the Kinesis (and Firehose) wire protocol, backed by the engine.

``boto3.client("kinesis", endpoint_url=sim.serve())`` then throttles, enforces read limits and
scales on-demand streams exactly as the in-process client does. A teaching lab, not a security
boundary: request signatures are accepted without being checked.
"""

from kinesislab.server.app import Endpoint, serve

__all__ = ["Endpoint", "serve"]
