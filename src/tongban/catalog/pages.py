"""HTML pages of the catalog: search results, an item's implementations, the service guide."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.responses import Response

from tongban.catalog import queries
from tongban.catalog import service as catalog
from tongban.identity.deps import PageUi
from tongban.platform.errors import Invalid, NotFound
from tongban.platform.web.deps import DbSession
from tongban.platform.web.rendering import N_, FormState, add_templates
from tongban.regions import service as regions

router = APIRouter(tags=["catalog pages"], include_in_schema=False)
add_templates(Path(__file__).parent / "templates")

PAGE_SIZE = 10
CHANNELS: dict[str, str] = {
    "网上办理": N_("Online"),
    "掌上办理": N_("On a phone"),
    "窗口办理": N_("At a service window"),
    "自助办理": N_("At a self-service machine"),
    "代办代办": N_("Through a service point"),
    "邮寄办理": N_("By post"),
    "快递送达": N_("Result sent by post"),
}
LIMIT_UNITS: dict[str, str] = {
    "working_days": N_("working days"),
    "natural_days": N_("calendar days"),
}


def region_label(session: Session, code: str) -> str:
    """A region's full name, province first (e.g. 四川省 广安市 广安区)."""
    try:
        names = [r.name for r in regions.ancestors(session, code=code)]
        names.append(regions.get(session, code=code).name)
    except (NotFound, Invalid):
        return code
    return " ".join(names)


@router.get("/search")
def search_page(ui: PageUi, session: DbSession, q: str = "", page: int = 1) -> Response:
    """Search results (Chinese words, pinyin or initials), ten at a time."""
    form = FormState(values={"q": q})
    page = max(page, 1)
    hits: list[catalog.ItemHit] = []
    total = 0
    if not q.strip():
        form.add("q", ui.gettext("Enter what you are looking for."))
    else:
        try:
            hits, total = catalog.search_items(
                session, q=q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
        except Invalid as exc:
            ui.form_errors(form, exc)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return ui.render(
        "catalog/search.html",
        title=ui.gettext("Search results"),
        form=form,
        q=q,
        hits=hits,
        total=total,
        page=page,
        pages=pages,
        status_code=422 if form.has_errors else 200,
    )


@router.get("/services/{code}")
def item_page(code: str, ui: PageUi, session: DbSession) -> Response:
    """A basic item and where it can be handled: one line per implementing authority."""
    detail = queries.get_item(session, code=code)
    labels = {
        impl.region_code: region_label(session, impl.region_code) for impl in detail.implementations
    }
    return ui.render(
        "catalog/item.html",
        title=detail.item.name,
        item=detail.item,
        implementations=detail.implementations,
        region_labels=labels,
        limit_units=LIMIT_UNITS,
    )


@router.get("/guide/{code}")
def guide_page(code: str, ui: PageUi, session: DbSession) -> Response:
    """The service guide (办事指南) of one implementation: what, how long, cost, where, how."""
    impl = queries.get_implementation(session, code=code)
    return ui.render(
        "catalog/guide.html",
        title=impl.item.name,
        impl=impl,
        item=impl.item,
        region=region_label(session, impl.region_code),
        channels=CHANNELS,
        limit_units=LIMIT_UNITS,
    )
