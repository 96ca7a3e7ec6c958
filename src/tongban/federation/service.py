"""Federation (issue #18) as the shell uses it: the hooks cases calls, the worker `serve` runs.

The work is split: routing.py (which node serves which region, from the node directory),
messages.py (signed envelopes), outbound.py (the outbox, written with the case change),
inbound.py (applying a message exactly once, refusing forged ones), requests.py (the
applicant side's withdrawal sent from a copy to the authority's node), cohandling.py (a joint
case's step sent to the node serving its co-handler, and back), worker.py (JetStream),
nats_server.py (a real NATS for the demo and tests), api.py (node and directory routes),
catalog_feed.py (the national basic catalog, published and applied by version).
"""

from __future__ import annotations

from tongban.federation.catalog_feed import starter as catalog_starter
from tongban.federation.config import FederationSettings, get_federation_settings
from tongban.federation.outbound import changed, guard
from tongban.federation.requests import forward, view
from tongban.federation.worker import Worker, starter

__all__ = [
    "FederationSettings",
    "Worker",
    "catalog_starter",
    "changed",
    "forward",
    "get_federation_settings",
    "guard",
    "starter",
    "view",
]
