"""The GovStack Registration building block on top of catalog and cases (issue #21).

GovStack concepts are answered from the domains' own rules, never copied: a service is a
catalog implementation published under a GovStack id; its eForm the implementation's form
fields as JSON Schema; an application file a case filed through cases' intake (routing,
clocks, events, ledger); a document an upload checked by content; a task the next step the
competent department takes on that case (accept, decide, complete), done through cases'
handling; statistics the counts of those cases' outcomes.

Callers are systems behind an Information Mediator (X-Road), named by the
`Information-Mediator-Client` header and registered here to a department: the adapter acts as
the client's system accounts and records every call as an event with the client as actor.
"""

from __future__ import annotations

from tongban.govstack.applications import (
    application,
    applications,
    file_application,
    update_application,
)
from tongban.govstack.catalogue import eform, eforms, get_service, publish_service, services
from tongban.govstack.clients import (
    HEADER,
    Client,
    add_client,
    list_clients,
    record_call,
    resolve_client,
    well_formed,
)
from tongban.govstack.documents import document, parse_document_payload, upload_document
from tongban.govstack.statistics import statistics
from tongban.govstack.tasks import complete_task, exists_task, task, tasks

__all__ = [
    "HEADER",
    "Client",
    "add_client",
    "application",
    "applications",
    "complete_task",
    "document",
    "eform",
    "eforms",
    "exists_task",
    "file_application",
    "get_service",
    "list_clients",
    "parse_document_payload",
    "publish_service",
    "record_call",
    "resolve_client",
    "services",
    "statistics",
    "task",
    "tasks",
    "update_application",
    "upload_document",
    "well_formed",
]
