"""Access tiers, loaded from a TOML file the operator edits (``VIDEOGEN_TIERS_FILE``).

Organizations store only the name of their tier, so editing a tier's numbers applies to every
organization on it at the next request: no migration, no restart of workers.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from model import Size
from model.spec import Capability
from videogen.accounts.tables import Organization
from videogen.errors import PermissionDeniedError

DEFAULT_TIERS_FILE = Path(__file__).parents[1] / "data" / "tiers.toml"


class Tier(BaseModel):
    name: str
    description: str = ""
    models: list[str] = Field(description='Allowed models; "*" allows all served models.')
    capabilities: list[Capability] = Field(
        default_factory=lambda: list(Capability),
        description="What the tier may ask models to do: text_to_video, image_to_video (default: both).",
    )
    max_seconds: float = Field(gt=0)
    max_size: Size
    max_steps: int = Field(ge=1)
    requests_per_minute: int = Field(ge=1)
    max_concurrent_jobs: int = Field(ge=1, description="Queued plus running jobs at once.")
    video_seconds_per_day: float = Field(gt=0, description="Requested seconds per UTC day.")
    priority: int = Field(ge=0, le=9, description="Higher runs first.")
    retention_hours: float = Field(gt=0, description="How long finished videos stay downloadable.")

    @field_validator("max_size", mode="before")
    @classmethod
    def _parse_size(cls, value: object) -> object:
        return Size.parse(value) if isinstance(value, str) else value

    def allows_model(self, model: str) -> bool:
        return "*" in self.models or model in self.models

    def allows(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def allows_size(self, size: Size) -> bool:
        limit = self.max_size
        return size.width * size.height <= limit.width * limit.height and max(size.width, size.height) <= max(
            limit.width, limit.height
        )

    def public_info(self) -> dict[str, object]:
        return {**self.model_dump(mode="json", exclude={"max_size"}), "max_size": str(self.max_size)}


class TierConfigError(ValueError):
    pass


class TierCatalog:
    def __init__(self, tiers: dict[str, Tier]):
        if not tiers:
            raise TierConfigError("the tiers file defines no tiers")
        self._tiers = tiers

    @classmethod
    def from_file(cls, path: Path | None) -> TierCatalog:
        path = path or DEFAULT_TIERS_FILE
        data = tomllib.loads(Path(path).read_text())
        try:
            tiers = {name: Tier(name=name, **table) for name, table in data.get("tiers", {}).items()}
        except ValidationError as exc:
            raise TierConfigError(f"invalid tier in {path}: {exc}") from exc
        return cls(tiers)

    def get(self, name: str) -> Tier:
        try:
            return self._tiers[name]
        except KeyError:
            raise TierConfigError(f"unknown tier {name!r}; tiers: {', '.join(self.names())}") from None

    def of(self, organization: Organization) -> Tier:
        """The organization's tier; a clear 403 if the operator removed it from the tiers file."""
        try:
            return self.get(organization.tier)
        except TierConfigError:
            raise PermissionDeniedError(
                f"Your organization's tier '{organization.tier}' is not configured on this server.",
                code="tier_unavailable",
            ) from None

    def names(self) -> list[str]:
        return list(self._tiers)

    def __contains__(self, name: object) -> bool:
        return name in self._tiers

    def all(self) -> list[Tier]:
        return list(self._tiers.values())


@lru_cache(maxsize=4)
def load_tiers(path: Path | None) -> TierCatalog:
    return TierCatalog.from_file(path)
