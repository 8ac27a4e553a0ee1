"""Settings: every knob is an environment variable with the HARKEN_ prefix."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator
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
    decision_memory: int = Field(
        10_000,
        ge=0,
        description="People (per org) whose decision inputs each server process keeps in memory between "
        "decisions, least recently used first out; each decision still reads the person's change counter, "
        "so what is kept is used only while it holds (0: read everything on every decision).",
    )
    learning_interval: float = Field(
        0,
        ge=0,
        description="Seconds between `harken worker`'s training rounds: every org with settled decisions its "
        "latest model has not learned from gets a new version, not live until promoted (`harken learn "
        "promote`). 0 (the default): off; `harken learn train` trains on demand.",
    )
    history_page_size: int = Field(50, ge=1, le=500, description="Default page size of consent history.")
    max_body_bytes: int = Field(
        2 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted, in bytes: a larger one is refused (413) before it is read. "
        "The largest legitimate bodies: a question whose texts and 12 options fill 20 locales with 500 "
        "characters each, ASCII-escaped (1.5 MiB); a decision with 100 candidates with every field full "
        "(0.8 MiB, 1.05 MiB pretty-printed).",
    )
    rate_limit_window: int = Field(
        60, ge=1, le=3600, description="Seconds in the fixed window that rate limits count requests in."
    )
    rate_limit_per_key: int = Field(
        60_000,
        ge=0,
        description="Requests per window to /v1 per API key or customer token, whether known or not; "
        "past it, 429 with Retry-After (0: no limit).",
    )
    rate_limit_per_address: int = Field(
        120_000, ge=0, description="Requests per window to /v1 per client address (0: no limit)."
    )
    rate_limit_failed_auth: int = Field(
        30,
        ge=0,
        description="Failed authentications (401 answers) per window per client address; past it every /v1 "
        "request from that address gets 429 until the window ends (0: no limit).",
    )
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Your reverse proxies, as addresses or CIDRs separated by commas (e.g. 10.0.0.0/8,127.0.0.1): "
        "only from them is X-Forwarded-For believed, and only its right-most address that is not one of them. "
        "Empty: the client is the peer address and X-Forwarded-For is ignored.",
    )

    webhook_allowed_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list,
        description="Networks webhooks may be sent to although they are not public (loopback, private, "
        "link-local…), as comma-separated CIDRs, e.g. 127.0.0.0/8 for a receiver on this machine. "
        "Empty (the default): only public addresses, checked at subscription and at every delivery.",
    )

    metrics_token: SecretStr | None = Field(
        None,
        description="A bearer token that opens /metrics from any address (`Authorization: Bearer …`); a "
        "scrape with a missing or wrong one is refused with 401. Unset: /metrics only by address (below).",
    )
    metrics_allow: Annotated[list[IPvAnyNetwork] | None, NoDecode] = Field(
        None,
        description="Client addresses (CIDRs, comma-separated) that may read /metrics without the token; a "
        "refused one gets 404. Unset: loopback (127.0.0.0/8, ::1) when no token is set, nobody when one is; "
        "empty: nobody. A request relayed by a proxy not in HARKEN_TRUSTED_PROXIES is never let in by address.",
    )
    log_format: Literal["auto", "json", "console"] = Field(
        "auto",
        description="Server and worker logs on stderr: json (one object a line), console (for people), or "
        "auto: console when stderr is a terminal, else json.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="The least severe log lines written: debug, info, warning or error."
    )

    @field_validator("trusted_proxies", "webhook_allowed_networks", "metrics_allow", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return (
            [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
        )

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
    """As the variable would be written: a list comma-separated."""
    return ",".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
