"""The whole cases domain, rows included, for tests.

Domains meet cases only through `tongban.cases.service` (CaseViews, never rows); tests also
reach behind it: cases, materials and messages as rows, submission and handling directly.
"""

# ruff: noqa: F401, F403
from tongban.cases.checks import *
from tongban.cases.clocks import *
from tongban.cases.handling import *
from tongban.cases.intake import *
from tongban.cases.materials import *
from tongban.cases.models import *
from tongban.cases.notify import *
from tongban.cases.offers import *
from tongban.cases.queries import *
from tongban.cases.receipts import *
from tongban.cases.service import CaseView
from tongban.cases.states import *
from tongban.cases.uploads import *
