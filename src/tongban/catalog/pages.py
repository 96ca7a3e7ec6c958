"""HTML pages of the catalog: search results, an item's implementations, the service guide."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session
from starlette.responses import Response

from tongban.catalog import item_types, placement, queries
from tongban.catalog import service as catalog
from tongban.catalog.models import Implementation
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.config import Settings
from tongban.platform.errors import Invalid, NotFound
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import N_, FormState, Ui, add_templates
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

# Catalog material name -> the data resource that stands in for it (exchange sits above the
# catalog, so the shell hands the lookup in); until then nothing is shared.
SharedResources = Callable[[Session], dict[str, str]]
_shared_resources: list[SharedResources] = [lambda _session: {}]


def set_shared_resources(lookup: SharedResources) -> None:
    """Say on guides which papers departments share (无需提交，由部门共享获取)."""
    _shared_resources[0] = lookup


# 免证办: checklist line -> the e-licence types that stand in for it (credentials sits above
# the catalog: the shell hands the lookup in); until then none.
LicenceLines = Callable[[list[str]], dict[str, list[str]]]
_licence_lines: list[LicenceLines] = [lambda _names: {}]


def set_licence_lines(lookup: LicenceLines) -> None:
    """Say on guides which papers an e-licence can replace (免证办)."""
    _licence_lines[0] = lookup


def region_label(session: Session, code: str) -> str:
    """A region's full name, province first (e.g. 四川省 广安市 广安区)."""
    return regions.full_name(session, code=code)


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
    bundles = matching_bundles(session, q, hits) if page == 1 and not form.has_errors else []
    return ui.render(
        "catalog/search.html",
        bundles=bundles,
        title=ui.gettext("Search results"),
        form=form,
        q=q,
        hits=hits,
        total=total,
        page=page,
        pages=pages,
        type_labels=item_types.type_labels(ui.locale, ui.gettext),
        status_code=422 if form.has_errors else 200,
    )


def _wanted_places(ui: Ui, session: Session, settings: Settings) -> list[str]:
    """Where the visitor's cases usually belong: their 户籍 (the county in their resident ID),
    their profile's region, the clerk's service point."""
    actor = ui.actor
    if actor is None:
        return []
    household = profile = None
    if actor.role is identity.Role.CITIZEN:
        household = identity.household_region(
            session, account_id=actor.account_id, settings=settings
        )
        profile = identity.get_account(session, account_id=actor.account_id).region_code
    return placement.places(household, profile, actor.service_point)


def _region_name(session: Session, code: str) -> str:
    try:
        return regions.get(session, code=code).name
    except (NotFound, Invalid):
        return code


@router.get("/services/{code}")
def item_page(
    code: str,
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    picked: Annotated[str, Query(alias="in", max_length=12)] = "",
) -> Response:
    """A basic item and where it can be handled: the implementations nearest to the visitor's
    户籍, profile region or service point first; for items offered in many places, those and a
    region picker (province → city → county, plain links)."""
    detail = queries.get_item(session, code=code)
    wanted = _wanted_places(ui, session, settings)
    ordered = placement.order_by_place(detail.implementations, wanted)
    prefix = placement.pick_level(picked)
    show_all = picked == "all" or len(ordered) <= placement.PICKER_THRESHOLD
    nearest: list[Implementation] = []
    shown: list[Implementation] = ordered
    regions_below: list[tuple[str, int]] = []
    trail: list[tuple[str, str]] = []
    if not show_all:
        if prefix:
            inside = placement.within(ordered, prefix)
            if len(inside) <= placement.PICKER_THRESHOLD or len(prefix) == 6:
                shown = inside
            else:
                shown = [i for i in inside if regions.significant_prefix(i.region_code) == prefix]
                regions_below = placement.next_level(inside, prefix)
            trail = [
                (prefix[:n], _region_name(session, prefix[:n].ljust(6, "0")))
                for n in (2, 4, 6)
                if n <= len(prefix)
            ]
        else:
            nearest = placement.nearest(ordered, wanted)[:3]
            shown = []
            regions_below = placement.next_level(ordered, "")
    labels = {impl.region_code: region_label(session, impl.region_code) for impl in ordered}
    return ui.render(
        "catalog/item.html",
        title=detail.item.name,
        item=detail.item,
        implementations=shown,
        nearest=nearest,
        total=len(ordered),
        picker=not show_all,
        picked=prefix,
        trail=trail,
        regions_below=[(c, _region_name(session, c), n) for c, n in regions_below],
        region_labels=labels,
        limit_units=LIMIT_UNITS,
        online={impl.code: placement.offers_online(impl.handling_forms) for impl in ordered},
        type_labels=item_types.type_labels(ui.locale, ui.gettext),
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
        online=placement.offers_online(impl.handling_forms),
        shared_by=_shared_resources[0](session),
        by_licence=_licence_lines[0]([m.name for m in impl.materials]),
    )


def matching_bundles(
    session: Session, q: str, hits: list[catalog.ItemHit]
) -> list[tuple[catalog.BundleRead, str]]:
    """The bundles (一件事) whose name or one of whose components matches the query (or is
    among the items found), with their region's name: shown first, as one thing to file."""
    words = q.strip().removesuffix("一件事").strip()
    found = {h.code for h in hits}
    matched = [
        b
        for b in catalog.list_bundles(session)
        if words
        and (
            words in b.name
            or any(words in c.item_name or c.item_code in found for c in b.components)
        )
    ]
    return [(b, _region_name(session, b.region_code)) for b in matched]
