"""What the Pool screen says about a ranked model or an installed one — pure words and filters.

Nothing here reads a clock, a file or a socket: the session hands in the ranking, the
catalog, the pool entries and `now`, and gets back strings and small values, so the same
facts read the same in the screen, the modals and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from swapdeck.pool.catalog import Bracket, Catalog, CatalogEntry, UpgradeProposal, upgrade_check
from swapdeck.pool.errors import human_bytes
from swapdeck.pool.estimate import GIB, Fit, SpeedBasis
from swapdeck.pool.evidence import Grade
from swapdeck.pool.rank import RankedModel
from swapdeck.pool.state import PoolEntry

FIT_WORDS: Mapping[Fit, str] = {Fit.FULL_GPU: "fits", Fit.PARTIAL_OFFLOAD: "partial",
                                Fit.CPU_ONLY: "cpu only", Fit.WONT_FIT: "won't fit"}
SPEED_MARK: Mapping[SpeedBasis, str] = {SpeedBasis.ESTIMATED: "~", SpeedBasis.LOWER_BOUND: "≥",
                                        SpeedBasis.MEASURED: "✓", SpeedBasis.CANNOT_RUN: ""}
RECENT_USE_S = 3600.0
"""Evicting a model used within the last hour earns a warning: someone is likely to ask
for it again soon, and it would have to be downloaded again."""
UPGRADE_MIN_GAIN_PERCENT = 5.0
"""ranking-facts §5: HE proposes a swap only past a threshold of 5."""


# --------------------------------------------------------------------------- one ranked row


def speed_text(row: RankedModel) -> str:
    """"~38.1" estimated, "≥12.0" lower bound, "✓42.0" measured by swapdeck's bench here."""
    if row.speed.basis is SpeedBasis.CANNOT_RUN:
        return "—"
    return f"{SPEED_MARK[row.speed.basis]}{row.speed.tokens_per_s:.1f}"


def evidence_grade(row: RankedModel) -> str:
    """The strongest evidence behind the row: a measured speed beats any benchmark grade;
    with neither, the score rests on the size prior."""
    if row.speed.basis is SpeedBasis.MEASURED:
        return Grade.MEASURED.value
    grades = [used.observation.grade for used in row.evidence.used]
    if not grades:
        return "prior"
    order = list(Grade)
    return min(grades, key=order.index).value


def memory_text(row: RankedModel) -> str:
    return f"{row.memory.total_bytes / GIB:.1f} GiB"


def why_lines(row: RankedModel, entry: CatalogEntry | None) -> list[str]:
    """The why-view: what the score is made of, then where the model comes from."""
    lines = [f"{row.name} ({row.id})", ""]
    lines += row.explain()
    lines.append(f"headroom: {row.fit.headroom_bytes / GIB:+.2f} GiB after loading "
                 f"({row.fit.gpu_fraction:.0%} on GPU), context {row.context_tokens} tokens")
    if entry is not None:
        size = human_bytes(entry.size_bytes) + ("" if entry.size_exact else " (approximate)")
        sha = entry.sha256 if entry.sha256_known else "unknown — will not be verified"
        lines += ["", f"catalog: bracket {entry.bracket.label}"
                  f"{', the recommended pick' if entry.recommended else ''} · {entry.family} · "
                  f"{entry.org} · license {entry.license}",
                  f"file: {entry.repo}/{entry.file} · {size}", f"sha256: {sha}"]
    return lines


# --------------------------------------------------------------------------- filters


FIT_FILTERS: tuple[str, ...] = ("all", "fits", "partial", "cpu only", "won't fit", "runnable")


@dataclass(frozen=True, slots=True)
class CandidateFilter:
    family: str | None = None
    bracket: Bracket | None = None
    fit: str = "all"

    def matches(self, row: RankedModel, entry: CatalogEntry | None) -> bool:
        if self.family is not None and (entry is None or entry.family != self.family):
            return False
        if self.bracket is not None and (entry is None or entry.bracket is not self.bracket):
            return False
        if self.fit == "runnable":
            return row.runnable
        return self.fit == "all" or FIT_WORDS[row.fit.verdict] == self.fit

    def next_family(self, families: Sequence[str]) -> CandidateFilter:
        choices: list[str | None] = [None, *families]
        here = choices.index(self.family) if self.family in choices else 0
        return replace(self, family=choices[(here + 1) % len(choices)])

    def next_bracket(self) -> CandidateFilter:
        choices: list[Bracket | None] = [None, *Bracket]
        return replace(self, bracket=choices[(choices.index(self.bracket) + 1) % len(choices)])

    def next_fit(self) -> CandidateFilter:
        here = FIT_FILTERS.index(self.fit) if self.fit in FIT_FILTERS else 0
        return replace(self, fit=FIT_FILTERS[(here + 1) % len(FIT_FILTERS)])

    def describe(self) -> str:
        bracket = self.bracket.label if self.bracket is not None else "all"
        return f"family {self.family or 'all'} · bracket {bracket} · fit {self.fit}"


def filter_rows(rows: Iterable[RankedModel], catalog: Catalog,
                chosen: CandidateFilter) -> list[RankedModel]:
    return [row for row in rows if chosen.matches(row, catalog.get(row.id))]


# --------------------------------------------------------------------------- installed pool


def upgrade_proposals(entries: Iterable[PoolEntry], catalog: Catalog,
                      ranking: Sequence[RankedModel], *,
                      min_gain_percent: float = UPGRADE_MIN_GAIN_PERCENT
                      ) -> dict[str, UpgradeProposal]:
    """One proposal per installed catalog model, in id order; a target already installed,
    or already proposed for another model, is not proposed (ranking-facts §5)."""
    pooled = {entry.id for entry in entries}
    claimed: set[str] = set()
    proposals: dict[str, UpgradeProposal] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        installed = catalog.get(entry.id)
        if installed is None:
            continue
        others = [row for row in ranking if row.id not in pooled - {entry.id}
                  and row.id not in claimed]
        proposal = upgrade_check(installed, catalog, others, min_gain_percent=min_gain_percent)
        if proposal is not None:
            proposals[entry.id] = proposal
            claimed.add(proposal.target.id)
    return proposals


def proposal_text(proposal: UpgradeProposal) -> str:
    """"Qwen3 14B Q4_K_M → Q5_K_M: +9 %, same bracket, 10.5 GB download"."""
    old, new = proposal.installed, proposal.target
    same_model = _base_name(old) == _base_name(new)
    arrow = f"{old.name} → {new.quant if same_model else new.name}"
    gain = (f"{proposal.gain_percent:+.0f} %" if proposal.gain_percent is not None
            else "the installed one cannot run here")
    size = human_bytes(proposal.download_bytes)
    approx = "" if proposal.download_size_exact else "≈"
    return f"{arrow}: {gain}, same bracket, {approx}{size} download"


def _base_name(entry: CatalogEntry) -> str:
    return entry.name.removesuffix(entry.quant).strip()


def evict_warnings(entry: PoolEntry, loaded_on: Sequence[str], last_use: float | None,
                   now: float, recent_s: float = RECENT_USE_S) -> list[str]:
    """Why evicting `entry` deserves a second thought (empty when it does not)."""
    warnings = []
    if loaded_on:
        warnings.append(f"{entry.id} is loaded on {', '.join(loaded_on)} right now")
    if last_use is not None and now - last_use < recent_s:
        minutes = int(max(0.0, now - last_use) // 60)
        ago = f"{minutes} min ago" if minutes else "less than a minute ago"
        warnings.append(f"{entry.id} was used {ago}")
    return warnings
