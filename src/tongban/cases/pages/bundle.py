"""One thing, filed once (一件事一次办): a bundle's guide and its one-page application.

A bundle's components are implementations of several departments. The guide lists them and
the papers they need, each paper once. The application asks a field that several components
share once (共同信息), each component's own fields under its item's name, one file per
distinct paper, and files the bundle: a parent case with one sub-case per component
(cases/intake.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import UploadFile as FormFile
from starlette.responses import Response

from tongban.cases import intake
from tongban.cases.pages.common import (
    MATERIAL_MISSING,
    _check_fields,
    _form_fields,
    _store_upload,
)
from tongban.cases.schemas import CaseCreate, MaterialRef
from tongban.catalog import service as catalog
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.db import uow
from tongban.platform.errors import Forbidden, Invalid
from tongban.platform.web.deps import AppSettings, DbSession, PostedForm
from tongban.platform.web.rendering import N_, FormState, Ui

router = APIRouter()

LIMIT_UNITS: dict[str, str] = {
    "working_days": N_("working days"),
    "natural_days": N_("calendar days"),
}
FILES_AGAIN = N_(
    "Please choose your files again: they are not kept when the application has a mistake."
)


@dataclass
class Paper:
    """One paper of the bundle, asked once however many components need it."""

    name: str
    required: str
    source: str
    condition: str | None
    needed_by: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """A bundle, its components' implementations, their fields (shared and own) and papers."""

    bundle: catalog.BundleRead
    parts: list[catalog.ImplementationRead]
    shared: list[dict[str, Any]]
    own: list[tuple[catalog.ImplementationRead, list[dict[str, Any]]]]
    papers: list[Paper]

    @property
    def fields(self) -> list[dict[str, Any]]:
        """Every field once: the shared ones, then each component's own."""
        return [*self.shared, *(spec for _impl, specs in self.own for spec in specs)]

    @property
    def to_bring(self) -> list[Paper]:
        """The papers the applicant provides (the others come from government records)."""
        return [p for p in self.papers if p.source != "government"]


def _plan(session: DbSession, code: str) -> Plan:
    bundle = catalog.get_bundle(session, code=code)
    parts = [
        catalog.get_implementation(session, code=c.implementation_code) for c in bundle.components
    ]
    counts = Counter(
        name for impl in parts for name in {str(f.get("name")) for f in _form_fields(impl)}
    )
    shared: dict[str, dict[str, Any]] = {}
    own: list[tuple[catalog.ImplementationRead, list[dict[str, Any]]]] = []
    for impl in parts:
        mine: list[dict[str, Any]] = []
        for spec in _form_fields(impl):
            name = str(spec.get("name"))
            if counts[name] > 1:
                if name in shared:
                    # Required when any component requires it.
                    shared[name]["required"] = bool(shared[name].get("required")) or bool(
                        spec.get("required")
                    )
                else:
                    shared[name] = spec
            elif all(str(s.get("name")) != name for s in mine):
                mine.append(spec)
        own.append((impl, mine))
    papers: dict[str, Paper] = {}
    for impl in parts:
        for m in impl.materials:
            paper = papers.get(m.name)
            if paper is None:
                paper = papers[m.name] = Paper(m.name, m.required, m.source, m.condition)
            elif m.required == "yes":
                paper.required = "yes"
            if m.source != "government":
                paper.source = m.source  # someone must bring it, once
            paper.needed_by.append(impl.item_name)
    return Plan(bundle, parts, list(shared.values()), own, list(papers.values()))


@router.get("/bundles/{code}")
def bundle_guide(code: str, ui: PageUi, session: DbSession) -> Response:
    """The guide of a bundle: what it covers, what to bring (each paper once), how long."""
    plan = _plan(session, code)
    return ui.render(
        "cases/bundle.html",
        title=plan.bundle.name,
        plan=plan,
        bundle=plan.bundle,
        limit_units=LIMIT_UNITS,
    )


def _require_citizen(ui: Ui) -> identity.Actor:
    actor = ui.require_actor()
    identity.authorize(actor, "case.submit")
    if actor.role != identity.Role.CITIZEN:
        raise Forbidden("A bundle is applied for by the citizen; at a counter, file each item.")
    return actor


def _apply_page(
    ui: Ui, plan: Plan, form: FormState, status_code: int = 200, files_again: bool = False
) -> Response:
    return ui.render(
        "cases/bundle_apply.html",
        title=ui.gettext("Apply: %(name)s") % {"name": plan.bundle.name},
        plan=plan,
        bundle=plan.bundle,
        form=form,
        files_again=files_again,
        status_code=status_code,
    )


@router.get("/bundles/{code}/apply")
def bundle_apply(code: str, ui: PageUi, session: DbSession) -> Response:
    """One form for the whole bundle: shared details once, each item's own, the papers once."""
    _require_citizen(ui)
    plan = _plan(session, code)
    return _apply_page(ui, plan, ui.restored_form() or FormState())


@router.post("/bundles/{code}/apply")
def bundle_apply_submit(
    code: str, ui: PageUi, session: DbSession, posted: PostedForm, settings: AppSettings
) -> Response:
    """File the bundle (a parent case and one sub-case per item), then open the case."""
    actor = _require_citizen(ui)
    plan = _plan(session, code)
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    form = FormState.of(values.items())
    typed = _check_fields(
        ui,
        SimpleNamespace(form_fields=plan.fields),
        {k[5:]: v for k, v in values.items() if k.startswith("form.")},
        form,
    )
    chosen: list[tuple[int, Paper, FormFile]] = []
    for index, paper in enumerate(plan.to_bring):
        upload = posted.get(f"file{index}")
        if isinstance(upload, FormFile) and upload.filename:
            chosen.append((index, paper, upload))
        elif paper.required == "yes":
            form.add(
                f"file{index}",
                ui.gettext("%(label)s: %(message)s")
                % {"label": paper.name, "message": ui.gettext(MATERIAL_MISSING)},
            )
    if form.has_errors:
        return _apply_page(ui, plan, form, 422, files_again=bool(chosen))
    try:
        # The uploads and the case are kept together, or not at all.
        with uow.attempt(session):
            refs: list[MaterialRef] = []
            for index, paper, upload in chosen:
                sha = _store_upload(ui, session, settings, upload, form, f"file{index}")
                if sha:
                    refs.append(MaterialRef(name=paper.name, sha256=sha))
            if form.has_errors:
                raise Invalid("A file was refused.")
            data = CaseCreate(bundle=code, form=typed, materials=refs)
            case, _created = intake.submit(session, actor=actor, data=data, settings=settings)
    except Invalid as exc:
        if not form.has_errors:
            ui.form_errors(form, exc)
        return _apply_page(ui, plan, form, 422, files_again=True)
    return ui.redirect(f"/cases/{case.number}", notice="submitted")
