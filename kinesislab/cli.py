"""``kinesislab serve``: a local Kinesis endpoint that throttles and scales like the service."""

from __future__ import annotations

import argparse
import time

from kinesislab.limits import limits_for_region
from kinesislab.simulator import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kinesislab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a simulated account on a local endpoint")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=4567, help="port (0 picks a free one; default 4567)")
    serve.add_argument("--speed", type=float, default=1.0, help="virtual seconds per wall second (default 1)")
    serve.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    serve.add_argument("--region", default="us-east-1", help="Region whose default quotas apply")
    args = parser.parse_args(argv)
    sim = Simulator(seed=args.seed, region=args.region, limits=limits_for_region(args.region))
    url = sim.serve(port=args.port, speed=args.speed, host=args.host)
    print(f"kinesislab endpoint at {url} (virtual time x{args.speed:g}); Ctrl-C stops it.", flush=True)
    print(f'  boto3.client("kinesis", endpoint_url="{url}", region_name="{args.region}",'
          f' aws_access_key_id="lab", aws_secret_access_key="lab")', flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sim.endpoint.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
