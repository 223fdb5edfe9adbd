"""A DashScope-compatible simulator: a local HTTP server the real dashscope SDK talks to unchanged.

It is the app's offline demo and what every test and benchmark runs against.
"""

from core.simulator.server import Simulator
from core.simulator.stats import SimulatorStats

__all__ = ["Simulator", "SimulatorStats"]
