"""A llama-swap protocol simulator on loopback HTTP, one host per protocol era.

It backs `swapdeck demo` and the integration tests of the connectors; facts it reproduces are
cited from /work/shared/docs/llama-swap-api.md by section number.
"""

from swapdeck.sim.era import Era
from swapdeck.sim.fleet import DEMO_FLEET, SimFleet, SimHostSpec, start_fleet
from swapdeck.sim.host import SimHost
from swapdeck.sim.model import SimModel

__all__ = ["DEMO_FLEET", "Era", "SimFleet", "SimHost", "SimHostSpec", "SimModel", "start_fleet"]
