"""Tools for testing with asyncgen: a fake clock and a simulated SUT and QSL.

``FakeClock`` moves only when told to (``advance``) or when a shaper sleeps on it, so a test
sees exactly the timestamps a schedule asks for. ``SimulatedSUT`` answers each sample after a
service time drawn from a ``ServiceTime`` distribution; ``SimulatedQSL`` has nothing to load.

    from asyncgen.testing import FakeClock, SimulatedQSL, SimulatedSUT
"""

from asyncgen._engine.clock import FakeClock
from asyncgen.simulated import ServiceTime, SimulatedQSL, SimulatedSUT

__all__ = ["FakeClock", "ServiceTime", "SimulatedQSL", "SimulatedSUT"]

FakeClock.__module__ = __name__  # its public path, in reprs and the API reference
