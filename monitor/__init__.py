"""gatewatch: a monitor for what data leaves a connected vehicle.

The import package is ``monitor``; the distribution and the command are ``gatewatch``.
Stages live in sub-packages (``canbus``, later ``net``, ``detect``, ``policy``, ...);
``monitor.pipeline`` is the one place that wires them together.
"""

__version__ = "0.1.0"
