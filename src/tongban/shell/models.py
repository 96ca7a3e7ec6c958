"""Imports every domain's tables so that Base.metadata is complete (for Alembic and tests)."""

from tongban.assistant import models as assistant_models
from tongban.cases import models as cases_models
from tongban.catalog import models as catalog_models
from tongban.consent import models as consent_models
from tongban.consent import tracker_models as tracker_models
from tongban.credentials import models as credentials_models
from tongban.events import models as events_models
from tongban.exchange import models as exchange_models
from tongban.federation import catalog_models as federation_catalog_models
from tongban.federation import models as federation_models
from tongban.federation import request_models as federation_request_models
from tongban.govstack import models as govstack_models
from tongban.guard import models as guard_models
from tongban.identity import models as identity_models
from tongban.ledger import models as ledger_models
from tongban.regions import models as regions_models
from tongban.reviews import models as reviews_models
from tongban.workdays import models as workdays_models

__all__ = [
    "assistant_models",
    "cases_models",
    "catalog_models",
    "consent_models",
    "credentials_models",
    "events_models",
    "exchange_models",
    "federation_catalog_models",
    "federation_models",
    "federation_request_models",
    "govstack_models",
    "guard_models",
    "identity_models",
    "ledger_models",
    "regions_models",
    "reviews_models",
    "tracker_models",
    "workdays_models",
]
