"""JSON routes of the catalog domain under /api/v1: public search and reads, import/export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import Response

from tongban.catalog import service as catalog
from tongban.catalog.import_problems_pages import worded
from tongban.catalog.schemas import (
    BundleRead,
    ImplementationRead,
    ItemListRead,
    ItemRead,
    ItemSummaryRead,
)
from tongban.catalog.validation import Refused
from tongban.identity import service as identity
from tongban.identity.deps import CurrentActor, run_unit
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Invalid, PayloadTooLarge
from tongban.platform.web import i18n
from tongban.platform.web.deps import DbSession, SkipQuery

router = APIRouter(tags=["catalog"])

RegionParam = Annotated[
    str | None, Query(description="Region code: what is available to a resident there.")
]


@router.get("/catalog/items", response_model=ItemListRead)
def search_items(
    session: DbSession,
    q: Annotated[
        str | None, Query(max_length=100, description="Words, pinyin or initials.")
    ] = None,
    type: Annotated[str | None, Query(description="Item type, e.g. 公共服务.")] = None,
    region: RegionParam = None,
    range: Annotated[str | None, Query(description="通办 range, e.g. 跨省.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: SkipQuery = 0,
) -> ItemListRead:
    """Search basic items (public): Chinese words, pinyin and initials, with filters."""
    hits, total = catalog.search_items(
        session, q=q, type=type, region=region, range=range, limit=limit, offset=offset
    )
    return ItemListRead(
        items=[ItemSummaryRead.model_validate(hit) for hit in hits],
        total=total,
    )


@router.get("/catalog/items/{code}", response_model=ItemRead)
def get_item(session: DbSession, code: str, region: RegionParam = None) -> ItemRead:
    """A basic item with its standard elements and implementations (public)."""
    return catalog.get_item(session, code=code, region=region)


@router.get("/catalog/implementations/{code}", response_model=ImplementationRead)
def get_implementation(session: DbSession, code: str) -> ImplementationRead:
    """One implementation with everything needed to apply (public)."""
    return catalog.get_implementation(session, code=code)


@router.get("/catalog/bundles", response_model=list[BundleRead])
def list_bundles(session: DbSession, region: RegionParam = None) -> list[BundleRead]:
    """One-thing bundles (public), optionally those offered to residents of a region."""
    return catalog.list_bundles(session, region=region)


@router.get("/catalog/bundles/{code}", response_model=BundleRead)
def get_bundle(session: DbSession, code: str) -> BundleRead:
    """One bundle with its components in order (public)."""
    return catalog.get_bundle(session, code=code)


async def _read_upload(request: Request, limit: int) -> tuple[bytes, str]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise PayloadTooLarge(
            f"The upload is over the import limit of {limit} bytes.",
            errors=[FieldError("file", f"larger than the limit of {limit} bytes")],
        )
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid(
                "Send the catalog as the form field 'file'.",
                errors=[FieldError("file", "missing")],
            )
        content = await upload.read(limit + 1)
        name = upload.filename or "upload"
    else:
        chunks = bytearray()
        async for chunk in request.stream():
            chunks.extend(chunk)
            if len(chunks) > limit:
                break
        content = bytes(chunks)
        name = "upload.json" if "json" in content_type else "upload"
    if len(content) > limit:
        raise PayloadTooLarge(
            f"The upload is over the import limit of {limit} bytes.",
            errors=[FieldError("file", f"larger than the limit of {limit} bytes")],
        )
    if not content.strip():
        raise Invalid("The upload is empty.", errors=[FieldError("file", "empty")])
    return content, name


@router.post("/catalog/import")
async def import_catalog(request: Request) -> dict[str, Any]:
    """Import a catalog file (multipart `file`, or the raw JSON/YAML/xlsx body); all or nothing.

    The format is recognized by content: a zip signature means Excel, else JSON or YAML. The
    body is read on the event loop (after the caller is known: a stranger's upload is never
    read), the import runs as one unit of work on a worker thread.
    """
    settings: Settings = request.app.state.settings
    await run_unit(request, _may_import)
    content, name = await _read_upload(request, settings.import_max_bytes)

    # A caller who names a language (Accept-Language) reads each problem in it, with its
    # sheet, row and column; others get the English of the CLI, as before.
    locale = i18n.parse_accept_language(request.headers.get("accept-language"))

    def work(session: Session, actor: identity.Actor) -> dict[str, Any]:
        identity.authorize(actor, "catalog.import")
        try:
            return catalog.import_bytes(
                session,
                content=content,
                source=f"api:{name}",
                max_bytes=settings.import_max_bytes,
                actor_id=actor.account_id,
                actor_role=str(actor.role),
                channel="api",
            )
        except Refused as exc:
            if locale is None:
                raise
            raise worded(exc, locale) from None

    return await run_unit(request, work)


def _may_import(session: Session, actor: identity.Actor) -> None:
    identity.authorize(actor, "catalog.import")


MEDIA = {
    "json": "application/json",
    "yaml": "application/yaml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/catalog/export")
def export_catalog(
    session: DbSession,
    actor: CurrentActor,
    format: Literal["json", "yaml", "xlsx"] = "json",
) -> Response:
    """The whole catalog as JSON, YAML or Excel (the exchange format)."""
    identity.authorize(actor, "catalog.export")
    if format == "xlsx":
        content = catalog.export_workbook(session)
    elif format == "yaml":
        content = catalog.dump_yaml(catalog.export_document(session))
    else:
        content = catalog.dump_json(catalog.export_document(session))
    catalog.record_export(
        session,
        fmt=format,
        channel="api",
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        token_id=actor.token_id,
    )
    return Response(
        content,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="catalog.{format}"'},
    )
