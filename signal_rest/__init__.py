"""signal_rest: an HTTP gateway to the Signal messenger, built on signal-cli."""

__version__ = "0.1.0"
