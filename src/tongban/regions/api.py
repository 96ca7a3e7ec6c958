"""JSON routes of the regions domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["regions"])
