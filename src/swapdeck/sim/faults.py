"""`X-Sim-Fault`: request-level knobs that provoke the edge cases a bench client must survive.

Comma-separated, combinable: `reasoning`, `usage-only-final`, `no-role-chunk`, `status=500`,
`drop-after=3`.
"""

from __future__ import annotations

from dataclasses import dataclass

FAULT_HEADER = "X-Sim-Fault"


@dataclass(frozen=True, slots=True)
class Faults:
    reasoning: bool = False
    """reasoning_content deltas before the content."""
    usage_only_final: bool = False
    """No `timings` anywhere; the stream ends with a usage chunk only."""
    no_role_chunk: bool = False
    status: int = 200
    """Answer with this upstream status and an error body instead of a completion."""
    drop_after: int | None = None
    """Close the connection after this many content chunks."""


NO_FAULTS = Faults()


def parse_faults(header: str | None) -> Faults | str:
    """The faults asked for, or a one-line reason the header is wrong."""
    if not header:
        return NO_FAULTS
    flags: dict[str, bool] = {"reasoning": False, "usage-only-final": False,
                              "no-role-chunk": False}
    status, drop_after = 200, None
    for raw in header.split(","):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep and name in flags:
            flags[name] = True
        elif sep and name == "status":
            if not value.isdigit() or not 100 <= int(value) <= 599:
                return f"{FAULT_HEADER}: status must be an HTTP status code, got {value!r}"
            status = int(value)
        elif sep and name == "drop-after":
            if not value.isdigit():
                return f"{FAULT_HEADER}: drop-after must be a chunk count, got {value!r}"
            drop_after = int(value)
        else:
            return (f"{FAULT_HEADER}: unknown fault {item!r} (expected reasoning, "
                    "usage-only-final, no-role-chunk, status=N, drop-after=N)")
    return Faults(flags["reasoning"], flags["usage-only-final"], flags["no-role-chunk"],
                  status, drop_after)
