"""JSON routes of the identity domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["identity"])
