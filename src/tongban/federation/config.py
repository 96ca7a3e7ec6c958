"""Federation settings (TONGBAN_FEDERATION_…): where NATS is, and what kind of node this is."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FederationSettings(BaseSettings):
    """How this node takes part in the federation; empty `nats_url`: it takes no part."""

    model_config = SettingsConfigDict(env_prefix="TONGBAN_FEDERATION_", extra="ignore")

    # nats://host:port of the NATS server (for an edge station: its local leaf node).
    nats_url: str = ""
    # The hub's JetStream domain (nats_server.DOMAIN), needed behind a leaf node; empty: none.
    js_domain: str = ""
    # national (publishes the directory and routing table), provincial, or edge.
    role: Literal["national", "provincial", "edge"] = "provincial"
    # The JetStream stream every node's messages go through, and its subjects' prefix.
    stream: str = "TONGBAN_FED"
    subject_prefix: str = "tongban.fed"
    # Messages published or applied per round of the worker.
    batch: int = Field(default=200, ge=1, le=10_000)
    # How long the worker waits for new messages before it looks at the outbox again.
    poll_seconds: float = Field(default=0.2, gt=0, le=30)
    # The national basic catalog's feed (federation/catalog_feed.py): the stream and subject
    # the national node publishes each signed version on (the last one kept), how often a node
    # looks for a new one, and, for a node without NATS, the national node's
    # …/api/v1/federation/catalog URL to poll over HTTP instead (or as well).
    catalog_stream: str = "TONGBAN_CATALOG"
    catalog_subject: str = "tongban.catalog.national"
    catalog_poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    catalog_url: str = ""


@lru_cache(maxsize=1)
def get_federation_settings() -> FederationSettings:
    """The process-wide federation settings."""
    return FederationSettings()
