"""Enhanced fan-out consumers: register, deregister, describe, list, and SubscribeToShard."""

from __future__ import annotations

from kinesislab.api.errors import ServiceError
from kinesislab.api.kinesis_account import efo_consumer_limit
from kinesislab.api.kinesis_records import _start_position
from kinesislab.api.kinesis_streams import _decode_token, _encode_token
from kinesislab.api.registry import operation
from kinesislab.engine.fanout import EventStream
from kinesislab.engine.stream import Consumer, Stream

KINESIS = "kinesis"


def _description(client, stream: Stream, consumer: Consumer, with_stream: bool) -> dict:
    described = {"ConsumerName": consumer.name, "ConsumerARN": consumer.arn, "ConsumerStatus": consumer.status,
                 "ConsumerCreationTimestamp": client.to_datetime(consumer.created_seconds)}
    if with_stream:
        described["StreamARN"] = stream.arn
    return described


def _find_consumer(client, params: dict) -> tuple[Stream, Consumer]:
    sim = client.sim
    arn = params.get("ConsumerARN")
    if arn is not None:
        for stream in sim.streams.values():
            for consumer in stream.consumers.values():
                if consumer.arn == arn:
                    return stream, consumer
        raise ServiceError("ResourceNotFoundException", f"Consumer {arn} under account {sim.account_id} not found.")
    if "StreamARN" not in params or "ConsumerName" not in params:
        raise ServiceError("InvalidArgumentException",
                           "Either ConsumerARN, or both StreamARN and ConsumerName, must be provided.")
    stream = client.resolve_stream({"StreamARN": params["StreamARN"]})
    consumer = stream.consumers.get(params["ConsumerName"])
    if consumer is None:
        raise ServiceError("ResourceNotFoundException",
                           f"Consumer {params['ConsumerName']} under account {sim.account_id} not found.")
    return stream, consumer


@operation(KINESIS, "RegisterStreamConsumer")
def register_stream_consumer(client, params: dict) -> dict:
    sim = client.sim
    limits = sim.limits
    stream = client.resolve_stream({"StreamARN": params["StreamARN"]})
    name = params["ConsumerName"]
    if name in stream.consumers:
        raise ServiceError("ResourceInUseException",
                           f"Consumer {name} under stream {stream.name} in account {sim.account_id} already exists.")
    allowed = efo_consumer_limit(sim, stream)
    if len(stream.consumers) >= allowed:
        raise ServiceError("LimitExceededException",
                           f"Only {allowed} consumers can be registered to a stream at once.")
    if sum(1 for c in stream.consumers.values() if c.status == "CREATING") >= limits.efo_consumers_creating:
        raise ServiceError("LimitExceededException",
                           f"Only {limits.efo_consumers_creating} consumers can be created at the same time.")
    now = sim.clock.time
    stream.usage.account_time()
    consumer = Consumer(name=name, arn=f"{stream.arn}/consumer/{name}:{int(now)}", created_seconds=now)
    stream.consumers[name] = consumer

    def activate() -> None:
        if consumer.status == "CREATING":
            stream.usage.account_time()
            consumer.status = "ACTIVE"

    sim.clock.schedule_in(limits.efo_consumer_creating_seconds, activate)
    return {"Consumer": _description(client, stream, consumer, with_stream=False)}


@operation(KINESIS, "DeregisterStreamConsumer")
def deregister_stream_consumer(client, params: dict) -> dict:
    stream, consumer = _find_consumer(client, params)
    if consumer.status == "DELETING":
        raise ServiceError("ResourceInUseException", f"Consumer {consumer.name} is already being deleted.")
    stream.usage.account_time()
    consumer.status = "DELETING"

    def remove() -> None:
        if stream.consumers.get(consumer.name) is consumer:
            del stream.consumers[consumer.name]

    client.sim.clock.schedule_in(client.sim.limits.efo_consumer_creating_seconds, remove)
    return {}


@operation(KINESIS, "DescribeStreamConsumer")
def describe_stream_consumer(client, params: dict) -> dict:
    stream, consumer = _find_consumer(client, params)
    return {"ConsumerDescription": _description(client, stream, consumer, with_stream=True)}


@operation(KINESIS, "ListStreamConsumers")
def list_stream_consumers(client, params: dict) -> dict:
    stream = client.resolve_stream({"StreamARN": params["StreamARN"]})
    consumers = sorted(stream.consumers.values(), key=lambda c: c.name)
    if "NextToken" in params:
        # Tokens expire like ListShards' and ListStreams' (ExpiredNextTokenException after 300 s, facts §12).
        after = _decode_token(client, params["NextToken"], "ListStreamConsumers")["after"]
        consumers = [c for c in consumers if c.name > after]
    limit = params.get("MaxResults", 100)
    page = consumers[:limit]
    response = {"Consumers": [_description(client, stream, c, with_stream=False) for c in page]}
    if len(consumers) > limit:
        response["NextToken"] = _encode_token({"kind": "ListStreamConsumers", "after": page[-1].name,
                                               "issued": client.sim.clock.time})
    return response


@operation(KINESIS, "SubscribeToShard")
def subscribe_to_shard(client, params: dict) -> dict:
    sim = client.sim
    stream, consumer = _find_consumer(client, {"ConsumerARN": params["ConsumerARN"]})
    if consumer.status != "ACTIVE":
        raise ServiceError("ResourceInUseException",
                           f"Consumer {consumer.arn} is not ACTIVE, instead in state {consumer.status}.")
    shard = stream.get_shard(params["ShardId"])
    start = params["StartingPosition"]
    kind = start["Type"]
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and "SequenceNumber" not in start:
        raise ServiceError("InvalidArgumentException", f"StartingPosition of type {kind} requires a SequenceNumber.")
    if kind == "AT_TIMESTAMP" and "Timestamp" not in start:
        raise ServiceError("InvalidArgumentException", "StartingPosition of type AT_TIMESTAMP requires a Timestamp.")
    position = _start_position(client, stream, shard, kind, start.get("SequenceNumber"), start.get("Timestamp"))
    now = sim.clock.time
    last = consumer.last_subscribed.get(shard.shard_id)
    if last is not None and now - last < sim.limits.efo_resubscribe_min_seconds:
        raise ServiceError("ResourceInUseException",
                           f"Another active subscription exists for consumer {consumer.arn} on shard {shard.shard_id}; "
                           f"wait {sim.limits.efo_resubscribe_min_seconds:g} seconds between SubscribeToShard calls.")
    consumer.last_subscribed[shard.shard_id] = now
    events = EventStream(client, stream, consumer, shard, position)
    consumer.subscriptions[shard.shard_id] = events
    sim.metrics_recorder.consumer(stream.name, consumer.name, "SubscribeToShard.Success", int(now), 1)
    return {"EventStream": events}
