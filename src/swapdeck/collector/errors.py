"""The collector's one expected-failure type: its message is meant for a person."""

from __future__ import annotations


class CollectorError(Exception):
    """The collector cannot start or run as configured (port taken, database unusable…)."""
