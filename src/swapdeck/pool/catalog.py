"""The curated model catalog shipped with swapdeck, first-run picks and upgrade proposals.

The catalog is `data/catalog.json` (versioned, `schema` 1). Entries sit in memory brackets of
4, 8, 16 and 32+ GB: the smallest bracket whose GiB cover the model's estimated memory at the
catalog's reference context. Every sha256 is a real digest or the string "unknown" — never a
filler — and `size_exact` says whether a size was verified or is the README's rounded figure /
a params × bpw estimate. `catalog_hub.refresh_catalog` replaces both with the Hub's LFS metadata
when the Hub can be reached.

`upgrade_check` only ever proposes a model from the *same* bracket as the installed one (a
bigger bracket would not fit the space the user chose), and only one that scores strictly
higher on this box by at least `min_gain_percent`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swapdeck.pool.estimate import GIB, ModelShape
from swapdeck.pool.quant import normalize_quant
from swapdeck.pool.rank import Candidate, RankedModel

if TYPE_CHECKING:
    from swapdeck.pool.state import PoolEntry

SCHEMA = 1
UNKNOWN_SHA256 = "unknown"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class Bracket(IntEnum):
    GB4 = 4
    GB8 = 8
    GB16 = 16
    GB32 = 32
    """32 GB and up."""

    @property
    def label(self) -> str:
        return "32+ GB" if self is Bracket.GB32 else f"{self.value} GB"


class CatalogError(ValueError):
    """A catalog file that breaks the rules; the message names the file, entry and key."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    id: str
    name: str
    bracket: Bracket
    recommended: bool
    repo: str
    file: str
    quant: str
    size_bytes: int
    size_exact: bool
    size_source: str
    sha256: str
    """64 lower-case hex digits, or "unknown"."""
    sha256_source: str | None
    context_length: int
    license: str
    params_total: int
    params_active: int | None
    family: str
    org: str
    shape: ModelShape
    base_model: str | None = None

    @property
    def sha256_known(self) -> bool:
        return self.sha256 != UNKNOWN_SHA256

    def candidate(self) -> Candidate:
        return Candidate(id=self.id, shape=self.shape, quant=self.quant,
                         context_length=self.context_length, file_size_bytes=self.size_bytes,
                         name=self.name)


@dataclass(frozen=True, slots=True)
class Catalog:
    version: str
    reference_context: int
    entries: tuple[CatalogEntry, ...]

    def get(self, entry_id: str) -> CatalogEntry | None:
        return next((entry for entry in self.entries if entry.id == entry_id), None)

    def in_bracket(self, bracket: Bracket) -> tuple[CatalogEntry, ...]:
        return tuple(entry for entry in self.entries if entry.bracket is bracket)

    def candidates(self) -> list[Candidate]:
        return [entry.candidate() for entry in self.entries]

    def installed_ids(self, pool: Iterable[PoolEntry]) -> set[str]:
        """Catalog ids the pool holds. A llama-swap install keeps the catalog id; an Ollama
        pull is known by its tag (`hf.co/<repo>:<quant>`), so it is matched by repo and
        quant instead."""
        ids: set[str] = set()
        pulled: set[tuple[str, str]] = set()
        for held in pool:
            if held.installer == "ollama":
                pulled.add((held.repo.lower(), held.quant.upper()))
            else:
                ids.add(held.id)
        if pulled:
            ids.update(entry.id for entry in self.entries
                       if (entry.repo.lower(), entry.quant.upper()) in pulled)
        return ids


@dataclass(frozen=True, slots=True)
class UpgradeProposal:
    installed: CatalogEntry
    target: CatalogEntry
    installed_score: float
    target_score: float
    gain_percent: float | None
    """None when the installed model cannot run here (any runnable model is a gain)."""
    download_bytes: int
    download_size_exact: bool
    reason: str


# --------------------------------------------------------------------------- loading


def load_catalog(path: Path | None = None) -> Catalog:
    """The shipped catalog, or the file given; raises CatalogError with a one-line message."""
    origin = str(path) if path else "swapdeck/pool/data/catalog.json"
    try:
        if path is None:
            text = resources.files("swapdeck.pool").joinpath("data/catalog.json").read_text(
                "utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise CatalogError(f"{origin}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise CatalogError(f"{origin}: expected JSON ({exc})") from None
    return parse_catalog(data, origin)


def parse_catalog(data: Any, origin: str = "<catalog>") -> Catalog:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise CatalogError(f"{origin}: expected a JSON object with \"schema\": {SCHEMA}")
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise CatalogError(f"{origin}: entries: expected a non-empty list")
    entries = tuple(_entry(raw, f"{origin}: entries[{i}]") for i, raw in enumerate(raw_entries))
    ids = [entry.id for entry in entries]
    duplicates = sorted({entry_id for entry_id in ids if ids.count(entry_id) > 1})
    if duplicates:
        raise CatalogError(f"{origin}: entry ids must be unique; repeated: {duplicates}")
    for bracket in Bracket:
        picks = [e.id for e in entries if e.bracket is bracket and e.recommended]
        if len(picks) != 1:
            raise CatalogError(f"{origin}: bracket {bracket.label}: expected exactly one "
                               f"recommended entry, found {picks or 'none'}")
    return Catalog(str(data.get("version", "")), int(data.get("reference_context", 8192)),
                   entries)


def _entry(raw: Any, where: str) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected an object")

    def text(key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CatalogError(f"{where}.{key}: expected a non-empty string")
        return value

    def positive(key: str) -> int:
        value = raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise CatalogError(f"{where}.{key}: expected a positive integer")
        return value

    sha = text("sha256")
    if sha != UNKNOWN_SHA256 and (not _SHA256.fullmatch(sha) or len(set(sha)) == 1):
        raise CatalogError(f"{where}.sha256: expected 64 lower-case hex digits of a real digest "
                           f"or \"unknown\", got {sha!r}")
    if sha != UNKNOWN_SHA256 and not raw.get("sha256_source"):
        raise CatalogError(f"{where}.sha256_source: a known sha256 must say where it came from")
    try:
        bracket = Bracket(int(raw["bracket_gb"]))
    except (KeyError, TypeError, ValueError):
        raise CatalogError(f"{where}.bracket_gb: expected one of 4, 8, 16, 32") from None
    quant = text("quant")
    if not normalize_quant(quant).known:
        raise CatalogError(f"{where}.quant: {quant!r} is not a quant swapdeck knows")
    if not isinstance(raw.get("size_exact"), bool):
        raise CatalogError(f"{where}.size_exact: expected true or false")
    active = raw.get("params_active")
    if active is not None and (not isinstance(active, int) or active <= 0):
        raise CatalogError(f"{where}.params_active: expected a positive integer or null")
    total = positive("params_total")
    shape_raw = raw.get("shape") or {}
    if not isinstance(shape_raw, dict):
        raise CatalogError(f"{where}.shape: expected an object")
    shape = ModelShape(
        total_params=float(total), active_params=float(active) if active else None,
        layers=shape_raw.get("layers"), kv_heads=shape_raw.get("kv_heads"),
        head_dim=shape_raw.get("head_dim"), sliding_window=shape_raw.get("sliding_window"),
        sliding_layer_fraction=float(shape_raw.get("sliding_layer_fraction", 0.0)),
    )
    return CatalogEntry(
        id=text("id"), name=str(raw.get("name") or raw["id"]), bracket=bracket,
        recommended=bool(raw.get("recommended", False)), repo=text("repo"), file=text("file"),
        quant=quant, size_bytes=positive("size_bytes"), size_exact=bool(raw["size_exact"]),
        size_source=text("size_source"), sha256=sha, sha256_source=raw.get("sha256_source"),
        context_length=positive("context_length"), license=text("license"),
        params_total=total, params_active=active, family=text("family"), org=text("org"),
        shape=shape, base_model=raw.get("base_model"),
    )


def entry_to_json(entry: CatalogEntry) -> dict[str, Any]:
    shape: dict[str, Any] = {"layers": entry.shape.layers, "kv_heads": entry.shape.kv_heads,
                             "head_dim": entry.shape.head_dim}
    if entry.shape.sliding_window:
        shape["sliding_window"] = entry.shape.sliding_window
        shape["sliding_layer_fraction"] = entry.shape.sliding_layer_fraction
    return {
        "id": entry.id, "name": entry.name, "bracket_gb": int(entry.bracket),
        "recommended": entry.recommended, "repo": entry.repo, "file": entry.file,
        "quant": entry.quant, "size_bytes": entry.size_bytes, "size_exact": entry.size_exact,
        "size_source": entry.size_source, "sha256": entry.sha256,
        "sha256_source": entry.sha256_source, "context_length": entry.context_length,
        "license": entry.license, "params_total": entry.params_total,
        "params_active": entry.params_active, "family": entry.family, "org": entry.org,
        "base_model": entry.base_model, "shape": shape,
    }


# --------------------------------------------------------------------------- picks


def bracket_for_memory(usable_bytes: int) -> Bracket | None:
    """The largest bracket this much usable memory covers; None below the smallest."""
    fitting = [bracket for bracket in Bracket if bracket.value * GIB <= usable_bytes]
    return max(fitting) if fitting else None


def recommend(bracket: Bracket | int, catalog: Catalog | None = None) -> CatalogEntry:
    """The curated first-run pick for a bracket."""
    catalog = catalog or load_catalog()
    chosen = Bracket(bracket)
    return next(entry for entry in catalog.in_bracket(chosen) if entry.recommended)


def upgrade_check(
    installed_entry: CatalogEntry,
    catalog: Catalog,
    ranking: Sequence[RankedModel],
    *,
    min_gain_percent: float = 5.0,
) -> UpgradeProposal | None:
    """The best strictly better model in the installed model's bracket, or None."""
    rows: Mapping[str, RankedModel] = {row.id: row for row in ranking}
    installed_row = rows.get(installed_entry.id)
    installed_score = installed_row.score if installed_row and installed_row.runnable else 0.0
    rivals = sorted(
        ((rows[entry.id], entry) for entry in catalog.in_bracket(installed_entry.bracket)
         if entry.id != installed_entry.id and entry.id in rows and rows[entry.id].runnable
         and rows[entry.id].score > installed_score),
        key=lambda pair: (-pair[0].score, pair[1].id),
    )
    if not rivals:
        return None
    best_row, best = rivals[0]
    gain: float | None = None
    if installed_score > 0:
        percent = (best_row.score - installed_score) / installed_score * 100.0
        if percent < min_gain_percent:
            return None
        gain = percent
        reason = f"{best.name} scores {best_row.score:.1f} vs {installed_score:.1f} " \
                 f"({percent:+.0f} %)"
    else:
        reason = f"{installed_entry.name} cannot run on this box; {best.name} can"
    return UpgradeProposal(installed_entry, best, installed_score, best_row.score, gain,
                           best.size_bytes, best.size_exact, reason)
