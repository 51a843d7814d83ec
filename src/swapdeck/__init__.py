"""swapdeck: a keyboard-driven terminal cockpit for fleets of llama-swap hosts."""

__version__ = "0.1.0"
