"""The headless collector: hub + history writer + retention with no UI, an OpenMetrics
endpoint over the fleet, and the history follower that lets a TUI attach to its database.

This package's `__init__` imports nothing: `swapdeck.config` imports `settings` from here,
and the rest pulls in aiohttp and prometheus_client, which a config load must not pay for.
"""
