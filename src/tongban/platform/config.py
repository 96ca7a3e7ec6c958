"""Typed settings, read from the environment with the prefix TONGBAN_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob an operator may turn; defaults give a working embedded node."""

    model_config = SettingsConfigDict(env_prefix="TONGBAN_", env_file=None, extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    # Public identifiers (case numbers, ledger origin) carry this node's region code: 6 digits
    # for a provincial or city node, 12 for a village or township station (tongban edge).
    node_region: str = Field(default="440300", pattern=r"^\d{6}(\d{6})?$")
    node_name: str = "tongban.local"
    session_ttl_hours: int = 12
    api_token_ttl_days: int = 90
    # Failed logins (docs/security.md, "Identity and accounts"): free failures per username at
    # one address, per address (every username; default 4 x login_max_failures) and per
    # username (every address, counted only against addresses it never logged in from); then
    # delays that double from login_delay_seconds up to login_window_seconds; a counter
    # forgets a window after its delay ran out.
    login_max_failures: int = Field(default=5, ge=1)
    login_address_max_failures: int | None = Field(default=None, ge=1)
    login_account_max_failures: int = Field(default=100, ge=1)
    login_delay_seconds: int = Field(default=30, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    login_known_address_days: int = Field(default=90, ge=0)
    # `module:Class` of the province's real-name verification service (docs/realname.md);
    # empty: identities are verified in person at a service point only.
    realname_verifier: str = ""
    realname_max_failures: int = Field(default=3, ge=1)
    acceptance_limit_working_days: int = 5
    deadline_warning_working_days: int = 2
    rectification_limit_working_days: int = 15
    # A data steward answers a citizen's objection to a use of their data (consent/objections.py)
    # within this many working days; later, the objection is flagged overdue to the operator.
    objection_reply_working_days: int = Field(default=10, ge=1, le=60)
    # Insight: the Ibis connection the analytics run on (duckdb:// in memory over the Parquet
    # snapshot; postgres://… or trino://… to run the same expressions there), and where the
    # snapshot lives (default: <data_dir>/analytics).
    analytics_url: str = "duckdb://"
    analytics_dir: Path | None = None
    import_max_bytes: int = 20 * 1024 * 1024
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_max_pages: int = 300
    # Bounds on what one request may make the node read (docs/configuration.md, "Request and
    # upload limits"): an image's pixels (from its header), an OFD package's unpacked bytes,
    # the files one page form may carry (the desk sends every paper of an application at
    # once), and the body of a request without files. A body over its limit is not read.
    upload_max_pixels: int = Field(default=40_000_000, ge=1)
    upload_max_unpacked_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    upload_form_max_files: int = Field(default=10, ge=1, le=100)
    request_max_bytes: int = Field(default=1024 * 1024, ge=64 * 1024)
    # The public address of this node's web front (https://…, no trailing path), where
    # receipts' QR codes and SMS notices link to; empty: a page links to the address it was
    # asked on, and SMS notices carry no link (docs/deployment.md).
    public_base_url: str = ""
    # The national node's public key (base64 of the raw Ed25519 key) that a node directory
    # must be signed with to be loaded (`tongban exchange directory load`, docs/exchange.md).
    exchange_national_key: str = ""
    # Where this node reloads the node directory from (the national node's published document,
    # signed with exchange_national_key), and how often; empty: only by hand (docs/exchange.md).
    exchange_directory_url: str = ""
    exchange_directory_reload_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    # A TrueType CJK font (path, or path.ttc#N for a face of a collection) that receipts,
    # result notices and day lists embed (PDF/UA); empty: the usual Debian places
    # (fonts-wqy-microhei …), else STSong-Light, not embedded (cases/pdf_fonts.py).
    pdf_font: str = ""
    # Tracking links (/track/t/…) stay valid this long; failed look-ups by number and name
    # that one client address may make before delays begin.
    tracking_link_days: int = Field(default=365, ge=1, le=3650)
    tracking_max_failures: int = Field(default=10, ge=1)
    # `module:Class` of the SMS gateway (see docs/sms-gateway.md).
    sms_gateway: str = "tongban.adapters.sms:LoggingSmsGateway"
    cookie_secure: bool = False
    # Other origins (scheme://host[:port]) whose pages may post this node's forms, besides its
    # own address and public_base_url (a JSON list in the environment).
    trusted_origins: list[str] = Field(default_factory=list)
    # /metrics answers this machine (loopback, not through a proxy) and, when this is set, any
    # client that sends it as `Authorization: Bearer …`.
    metrics_token: SecretStr | None = None
    # Ledger: integration batches, how often the in-process integrator runs, and how often a
    # checkpoint is re-signed even when nothing new arrived.
    ledger_batch_size: int = Field(default=2000, ge=1, le=100_000)
    ledger_integrate_interval_seconds: float = Field(default=1.0, gt=0)
    ledger_checkpoint_interval_seconds: float = Field(default=60.0, gt=0)
    ledger_settle_seconds: float = Field(default=300.0, ge=0)
    ledger_integrate_in_process: bool = True
    # The security brain (issue #20, docs/guard.md): its detector runs inside `serve` (off: run
    # `tongban guard` beside it); high alerts are texted to these numbers (comma-separated).
    guard_in_process: bool = True
    guard_sms_to: str | None = None
    # Verifier keys (C2SP vkeys, a JSON list in the environment) of the independent witnesses
    # whose cosignatures on a checkpoint the public receipt pages count and check.
    ledger_witness_keys: list[str] = Field(default_factory=list)
    # Verifier keys of the logs this node's witness cosigns beside the node directory's nodes
    # (POST /api/v1/ledger/witness/add-checkpoint and `tongban witness`; docs/ledger.md).
    ledger_witness_logs: list[str] = Field(default_factory=list)
    # Serve the GovStack Registration building block under /govstack/registration/ (issue #21,
    # docs/govstack.md): only on an interface the Information Mediator reaches, since its
    # callers are authenticated by the mediator, not by sessions. Off: the routes do not exist.
    govstack_enabled: bool = False

    def resolved_database_url(self) -> str:
        """The configured database URL, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tongban.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own Settings instead)."""
    return Settings()
