"""Firehose control plane: CreateDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams,
DeleteDeliveryStream. Sources: Direct PUT and a Kinesis data stream; destination: S3 only.

Messages marked CHOSEN are kinesislab's wording where no real service text was found.
"""

from __future__ import annotations

from kinesislab.api.errors import ServiceError
from kinesislab.api.registry import operation
from kinesislab.firehose.delivery import COMPRESSIONS, DIRECT_PUT, KINESIS_SOURCE, BufferingHints, DeliveryStream
from kinesislab.firehose.transform import LambdaTransform, registered_transform
from kinesislab.limits import Limits, MiB

FIREHOSE = "firehose"
S3_CONFIGS = ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration")
DESTINATION_ID = "destinationId-000000000001"
LIST_DEFAULT_LIMIT = 10  # BC-F ListDeliveryStreams: "The default limit is 10."


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidArgumentException", message)


def _hints(config: dict | None, limits: Limits) -> BufferingHints:
    if not config:
        return BufferingHints(limits.firehose_buffer_default_mib, limits.firehose_buffer_default_seconds)
    if ("SizeInMBs" in config) != ("IntervalInSeconds" in config):
        # BC-F BufferingHints: "if you specify a value for one of them, you must also provide a value for the other".
        raise _invalid("BufferingHints must specify both SizeInMBs and IntervalInSeconds, or neither.")
    return BufferingHints(config["SizeInMBs"], config["IntervalInSeconds"])


def _number(params: dict, name: str, default: float, low: float, high: float, kind=float) -> float:
    if name not in params:
        return default
    try:
        value = kind(params[name])
    except ValueError:
        raise _invalid(f"Processor parameter {name} must be a number, not {params[name]!r}.") from None
    if not low <= value <= high:
        raise _invalid(f"Processor parameter {name} must be between {low} and {high}; got {params[name]}.")
    return value


def _transform(config: dict | None, limits: Limits) -> LambdaTransform | None:
    # CHOSEN: a ProcessingConfiguration with processors but no Enabled flag counts as enabled.
    if not config or not config.get("Enabled", True) or not config.get("Processors"):
        return None
    processors = config["Processors"]
    others = sorted({p["Type"] for p in processors if p["Type"] != "Lambda"})
    if others:
        raise _invalid(f"kinesislab simulates the Lambda processor only, not {', '.join(others)}.")
    if len(processors) > 1:
        raise _invalid("Only one Lambda processor can be configured.")
    params = {p["ParameterName"]: p["ParameterValue"] for p in processors[0].get("Parameters", [])}
    arn = params.get("LambdaArn")
    if arn is None:
        raise _invalid("A Lambda processor needs the LambdaArn parameter.")
    function = registered_transform(arn)
    if function is None:
        raise _invalid(f"kinesislab has no Python function for the Lambda {arn}: call "
                       f"kinesislab.firehose.register_transform({arn!r}, your_function) first.")
    size_mib = _number(params, "BufferSizeInMBs", limits.firehose_lambda_buffer_default_mib,
                       limits.firehose_lambda_buffer_min_mib, limits.firehose_lambda_buffer_max_mib)
    interval = _number(params, "BufferIntervalInSeconds", limits.firehose_lambda_buffer_default_seconds,
                       limits.firehose_lambda_buffer_min_seconds, limits.firehose_lambda_buffer_max_seconds, int)
    retries = _number(params, "NumberOfRetries", limits.firehose_lambda_default_retries, 0,
                      limits.firehose_lambda_max_retries, int)
    return LambdaTransform(function, arn, round(size_mib * MiB), interval, int(retries))


def _source(client, params: dict, stream_type: str) -> str | None:
    """The Kinesis stream ARN of a KinesisStreamAsSource stream (None for Direct PUT)."""
    if stream_type not in (DIRECT_PUT, KINESIS_SOURCE):
        raise _invalid(f"kinesislab simulates DirectPut and KinesisStreamAsSource streams, not {stream_type}.")
    config = params.get("KinesisStreamSourceConfiguration")
    if stream_type == DIRECT_PUT:
        if config is not None:
            raise _invalid("KinesisStreamSourceConfiguration is only allowed with DeliveryStreamType "
                           "KinesisStreamAsSource.")
        return None
    if config is None:
        raise _invalid("KinesisStreamSourceConfiguration is required for DeliveryStreamType KinesisStreamAsSource.")
    if "DirectPutSourceConfiguration" in params:
        raise _invalid("DirectPutSourceConfiguration is only allowed with DeliveryStreamType DirectPut.")
    arn = config["KinesisStreamARN"]
    if not any(s.arn == arn for s in client.sim.streams.values()):
        raise _invalid(f"Kinesis stream {arn} does not exist.")  # CHOSEN wording
    return arn


def _destination(params: dict) -> tuple[str, dict]:
    other = sorted(k for k in params if k.endswith("DestinationConfiguration") and k not in S3_CONFIGS)
    if other:
        raise _invalid(f"kinesislab delivers to Amazon S3 only; {other[0]} is not simulated.")
    given = [k for k in S3_CONFIGS if k in params]
    if len(given) != 1:
        raise _invalid("Specify exactly one destination configuration: ExtendedS3DestinationConfiguration "
                       "or S3DestinationConfiguration.")
    destination = params[given[0]]
    # Refuse, rather than silently ignore, the S3 features kinesislab does not simulate.
    unsimulated = [
        ("DynamicPartitioningConfiguration", destination.get("DynamicPartitioningConfiguration", {}).get("Enabled")),
        ("DataFormatConversionConfiguration",  # its Enabled defaults to true when the block is given (BC-F)
         "DataFormatConversionConfiguration" in destination
         and destination["DataFormatConversionConfiguration"].get("Enabled", True)),
        ("S3BackupMode Enabled", destination.get("S3BackupMode") == "Enabled"),
        ("CustomTimeZone", destination.get("CustomTimeZone", "UTC") not in ("", "UTC")),
    ]
    for feature, used in unsimulated:
        if used:
            raise _invalid(f"kinesislab does not simulate {feature} for S3 destinations.")
    return given[0], destination


@operation(FIREHOSE, "CreateDeliveryStream")
def create_delivery_stream(client, params: dict) -> dict:
    sim = client.sim
    limits = sim.limits
    name = params["DeliveryStreamName"]
    if name in client.delivery_streams:
        raise ServiceError("ResourceInUseException",
                           f"Firehose {name} under account {sim.account_id} already exists.")  # CHOSEN wording
    if len(client.delivery_streams) >= limits.firehose_delivery_stream_quota:
        raise ServiceError("LimitExceededException",
                           f"You have already reached the limit of {limits.firehose_delivery_stream_quota} "
                           f"Firehose streams in account {sim.account_id} in {sim.region}.")
    stream_type = params.get("DeliveryStreamType", DIRECT_PUT)
    kinesis_arn = _source(client, params, stream_type)
    destination_kind, destination = _destination(params)
    compression = destination.get("CompressionFormat", "UNCOMPRESSED")
    if compression not in COMPRESSIONS:
        raise _invalid(f"kinesislab writes UNCOMPRESSED or GZIP objects, not {compression}.")
    hints = _hints(destination.get("BufferingHints"), limits)
    transform = _transform(destination.get("ProcessingConfiguration"), limits)
    try:
        stream = DeliveryStream(
            sim, name, source=stream_type, kinesis_stream_arn=kinesis_arn, buffering=hints,
            prefix=destination.get("Prefix", ""), error_output_prefix=destination.get("ErrorOutputPrefix"),
            compression=compression, transform=transform, sink=client.bucket(destination["BucketARN"]),
            creating_seconds=limits.firehose_creating_seconds, file_extension=destination.get("FileExtension"))
    except ValueError as error:
        raise _invalid(str(error)) from None
    client.delivery_streams[name] = stream
    client.configs[name] = {"params": params, "destination_kind": destination_kind, "hints": hints}
    return {"DeliveryStreamARN": stream.arn}


def _s3_description(destination: dict, hints: BufferingHints) -> dict:
    description = {
        "RoleARN": destination["RoleARN"], "BucketARN": destination["BucketARN"],
        "BufferingHints": {"SizeInMBs": hints.size_mib, "IntervalInSeconds": hints.interval_seconds},
        "CompressionFormat": destination.get("CompressionFormat", "UNCOMPRESSED"),
        "EncryptionConfiguration": destination.get("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"}),
        "CloudWatchLoggingOptions": destination.get("CloudWatchLoggingOptions", {"Enabled": False}),
    }
    for key in ("Prefix", "ErrorOutputPrefix"):
        if key in destination:
            description[key] = destination[key]
    return description


def describe(client, stream: DeliveryStream) -> dict:
    """The ``DeliveryStreamDescription`` of one stream."""
    config = client.configs[stream.name]
    destination = config["params"][config["destination_kind"]]
    s3 = _s3_description(destination, config["hints"])
    # The service describes every S3 destination in both the plain and the extended form.
    extended = {**s3, "S3BackupMode": destination.get("S3BackupMode", "Disabled")}
    if "ProcessingConfiguration" in destination:
        processing = destination["ProcessingConfiguration"]
        extended["ProcessingConfiguration"] = {"Enabled": processing.get("Enabled", True),
                                               "Processors": processing.get("Processors", [])}
    description = {
        "DeliveryStreamName": stream.name, "DeliveryStreamARN": stream.arn, "DeliveryStreamStatus": stream.status,
        "DeliveryStreamEncryptionConfiguration": {"Status": "DISABLED"},
        "DeliveryStreamType": stream.source_type, "VersionId": stream.version,
        "CreateTimestamp": client.to_datetime(stream.created_at),
        "Destinations": [{"DestinationId": DESTINATION_ID, "S3DestinationDescription": s3,
                          "ExtendedS3DestinationDescription": extended}],
        "HasMoreDestinations": False,
    }
    if stream.source is not None:
        source = config["params"]["KinesisStreamSourceConfiguration"]
        kinesis = {"KinesisStreamARN": source["KinesisStreamARN"], "RoleARN": source["RoleARN"]}
        if stream.source.started_at is not None:
            kinesis["DeliveryStartTimestamp"] = client.to_datetime(stream.source.started_at)
        description["Source"] = {"KinesisStreamSourceDescription": kinesis}
    return description


@operation(FIREHOSE, "DescribeDeliveryStream")
def describe_delivery_stream(client, params: dict) -> dict:
    return {"DeliveryStreamDescription": describe(client, client.resolve(params["DeliveryStreamName"]))}


@operation(FIREHOSE, "ListDeliveryStreams")
def list_delivery_streams(client, params: dict) -> dict:
    names = sorted(name for name, stream in client.delivery_streams.items()
                   if params.get("DeliveryStreamType") in (None, stream.source_type))
    start = params.get("ExclusiveStartDeliveryStreamName")
    if start is not None:
        names = [n for n in names if n > start]
    limit = params.get("Limit", LIST_DEFAULT_LIMIT)
    return {"DeliveryStreamNames": names[:limit], "HasMoreDeliveryStreams": len(names) > limit}


@operation(FIREHOSE, "DeleteDeliveryStream")
def delete_delivery_stream(client, params: dict) -> dict:
    sim = client.sim
    stream = client.resolve(params["DeliveryStreamName"])
    if stream.status == "CREATING":
        # BC-F DeleteDeliveryStream: "You can't delete a Firehose stream that is in the CREATING state."
        raise ServiceError("ResourceInUseException",
                           f"Firehose {stream.name} under account {sim.account_id} is in CREATING state and "
                           f"cannot be deleted until it is ACTIVE.")  # CHOSEN wording
    if stream.status == "DELETING":
        return {}

    def remove() -> None:
        if client.delivery_streams.get(stream.name) is stream:
            del client.delivery_streams[stream.name]
            client.configs.pop(stream.name, None)
            client.deleted_delivery_streams.append(stream)

    stream.delete(sim.limits.firehose_deleting_seconds, on_removed=remove)
    return {}
