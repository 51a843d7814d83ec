"""swapdeck's local history: one SQLite file (WAL) of activity, perf, captures and events."""

from swapdeck.history.store import HistoryStore
from swapdeck.history.values import HistoryError, PerfPoint, RetentionReport, StoredCapture

__all__ = ["HistoryError", "HistoryStore", "PerfPoint", "RetentionReport", "StoredCapture"]
