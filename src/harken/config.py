"""Settings: every knob is an environment variable with the HARKEN_ prefix."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARKEN_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./harken.db",
        description="SQLAlchemy URL of the store: sqlite:///PATH (embedded, WAL) or "
        "postgresql+psycopg://USER@HOST/DB (production).",
    )
    data_dir: Path = Field(
        Path("./.harken"),
        description="Local state kept outside the database: the hub's Ed25519 signing keys.",
    )
    checkpoint_every: int = Field(
        100,
        ge=1,
        description="A signed ledger checkpoint is written in the same transaction as every Nth entry of a chain.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL the hub is reached at; names the receipt issuer.",
    )
    profiling_cadence_days: int = Field(
        7,
        ge=0,
        le=365,
        description="Progressive profiling asks a customer at most one question per org this often.",
    )
    mailer: str = Field(
        "console",
        description="Where sign-in links go: console (printed), directory:PATH (one .eml per message), "
        "smtp://HOST:PORT or smtp+starttls://HOST:PORT.",
    )
    mail_from: str = Field("Harken <no-reply@harken.localhost>", description="The sender of sign-in links.")
    centre_session_hours: int = Field(
        12, ge=1, le=24 * 30, description="How long a Preference Centre sign-in lasts."
    )
    history_page_size: int = Field(50, ge=1, le=500, description="Default page size of consent history.")
    webhook_allowed_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list,
        description="Networks webhooks may be sent to although they are not public (loopback, private, "
        "link-local…), as comma-separated CIDRs, e.g. 127.0.0.0/8 for a receiver on this machine. "
        "Empty (the default): only public addresses, checked at subscription and at every delivery.",
    )

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"


def describe() -> list[tuple[str, str, str]]:
    """(variable, current value, description) for every setting, for `harken config show`."""
    current = Settings()
    return [
        (f"HARKEN_{name.upper()}", _shown(getattr(current, name)), field.description or "")
        for name, field in Settings.model_fields.items()
    ]


def _shown(value: object) -> str:
    """A value as it would be written in its environment variable."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
