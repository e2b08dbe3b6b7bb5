"""Account settings: On-demand Advantage (UpdateAccountSettings / DescribeAccountSettings).

On-demand Advantage is an account-level, per-Region commitment (facts §5, BLOG-ODA, BC-K):
``UpdateAccountSettings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})`` turns it on;
it cannot end during its first 24 hours, so a ``DISABLED`` request in that window leaves it on
until ``EarliestAllowedEndAt`` (status ``ENABLED_UNTIL_EARLIEST_ALLOWED_END``). While it is on,
each on-demand stream may register up to 50 enhanced fan-out consumers instead of 20
(``Limits.efo_consumers_per_stream_advantage``; provisioned streams keep 20).

The setting lives on the simulator (one account); :func:`account_settings` creates it on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kinesislab.api.registry import operation

if TYPE_CHECKING:
    from kinesislab.engine.stream import Stream
    from kinesislab.simulator import Simulator

KINESIS = "kinesis"


@dataclass
class AccountSettings:
    """The account's minimum throughput billing commitment (On-demand Advantage)."""

    started_at: float | None = None
    ended_at: float | None = None
    #: when DISABLED was asked for (the commitment ends then, or at its earliest allowed end)
    end_requested_at: float | None = None

    def status(self, now: float, commitment_seconds: float) -> str:
        if self.started_at is None:
            return "DISABLED"
        if self.end_requested_at is not None:
            end = max(self.started_at + commitment_seconds, self.end_requested_at)
            if now >= end:
                self.ended_at = end
                self.started_at = None
                self.end_requested_at = None
                return "DISABLED"
            return "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
        return "ENABLED"


def account_settings(sim: "Simulator") -> AccountSettings:
    """The simulator's account settings (created on first use)."""
    settings = getattr(sim, "_account_settings", None)
    if settings is None:
        settings = AccountSettings()
        sim._account_settings = settings
    return settings


def on_demand_advantage(sim: "Simulator") -> bool:
    """Whether the account has On-demand Advantage on right now."""
    return account_settings(sim).status(sim.clock.time, sim.limits.on_demand_advantage_commitment_seconds) != "DISABLED"


def efo_consumer_limit(sim: "Simulator", stream: "Stream") -> int:
    """Registered consumers allowed on ``stream``: 50 for an on-demand stream of an On-demand
    Advantage account, else 20 (EFO-NOW, BC-K RegisterStreamConsumer)."""
    limits = sim.limits
    if stream.mode == "ON_DEMAND" and on_demand_advantage(sim):
        return limits.efo_consumers_per_stream_advantage
    return limits.efo_consumers_per_stream


def _commitment(client, settings: AccountSettings) -> dict:
    sim = client.sim
    window = sim.limits.on_demand_advantage_commitment_seconds
    status = settings.status(sim.clock.time, window)
    out: dict = {"Status": status}
    if settings.started_at is not None:
        out["StartedAt"] = client.to_datetime(settings.started_at)
        out["EarliestAllowedEndAt"] = client.to_datetime(settings.started_at + window)
        if status == "ENABLED_UNTIL_EARLIEST_ALLOWED_END":
            out["EndedAt"] = client.to_datetime(settings.started_at + window)
    elif settings.ended_at is not None:
        out["EndedAt"] = client.to_datetime(settings.ended_at)
    return out


@operation(KINESIS, "UpdateAccountSettings")
def update_account_settings(client, params: dict) -> dict:
    sim = client.sim
    settings = account_settings(sim)
    wanted = params["MinimumThroughputBillingCommitment"]["Status"]
    current = settings.status(sim.clock.time, sim.limits.on_demand_advantage_commitment_seconds)
    if wanted == "ENABLED":
        if current == "DISABLED":
            settings.started_at = sim.clock.time
            settings.ended_at = None
        settings.end_requested_at = None
    elif current != "DISABLED":
        # Inside the commitment window the setting stays on until its earliest allowed end;
        # after it, status() ends it at once.
        settings.end_requested_at = sim.clock.time
    return {"MinimumThroughputBillingCommitment": _commitment(client, settings)}


@operation(KINESIS, "DescribeAccountSettings")
def describe_account_settings(client, params: dict) -> dict:
    return {"MinimumThroughputBillingCommitment": _commitment(client, account_settings(client.sim))}
