"""The glossary page (/glossary): every term pages explain inline, with its anchor.

Public, like the home page: the words of government services are no secret. The entries are
platform/web/glossary.py's table; this module only serves them.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import Response

from tongban.identity.deps import PageUi
from tongban.platform.web import glossary
from tongban.platform.web.rendering import add_templates

router = APIRouter(tags=["pages"], include_in_schema=False)
add_templates(Path(__file__).parent / "templates")


@router.get("/glossary")
def glossary_page(ui: PageUi) -> Response:
    """Every term in the page's language: the Chinese term, its English name, an explanation."""
    return ui.render(
        "glossary.html",
        title=ui.gettext("Words used on these pages"),
        terms=glossary.TERMS,
    )
