"""The whole reviews domain, rows included, for tests (domains use tongban.reviews.service)."""

# ruff: noqa: F403
from tongban.reviews.models import *
from tongban.reviews.ratings import *
from tongban.reviews.rectify import *
from tongban.reviews.stats import *
