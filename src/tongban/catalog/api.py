"""JSON routes of the catalog domain under /api/v1."""

from fastapi import APIRouter

router = APIRouter(tags=["catalog"])
