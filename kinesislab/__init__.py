"""kinesislab: Amazon Kinesis Data Streams, simulated in virtual time, for learning.

>>> import kinesislab
>>> sim = kinesislab.Simulator(seed=0)
>>> kinesis = sim.client("kinesis")
"""

from kinesislab.limits import Limits, limits_2022, limits_for_region
from kinesislab.simulator import Simulator
from kinesislab.scenario import Scenario, run

__all__ = ["Simulator", "Scenario", "run", "Limits", "limits_for_region", "limits_2022"]
__version__ = "0.1.0"
