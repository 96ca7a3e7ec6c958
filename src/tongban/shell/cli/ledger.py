"""`tongban ledger` (verify logs and receipts, the node's key), `worker` and `witness`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tongban.platform.db import upgrade_database
from tongban.shell.cli.common import load_settings, opened

if TYPE_CHECKING:
    from tongban.ledger.explain import ReceiptReport
    from tongban.ledger.service import Verifier

group = typer.Typer(
    help="The tamper-evident ledger: verify logs and receipts.", no_args_is_help=True
)


def _verifier(key: str, option: str = "--key") -> Verifier:
    from tongban.ledger import service as ledger

    try:
        return ledger.Verifier.parse(key)
    except ledger.NoteError as exc:
        typer.secho(f"error: bad {option}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc


@group.command("verify")
def ledger_verify(
    url: Annotated[str, typer.Option(help="Base URL of the node, e.g. https://node.example.")],
    key: Annotated[str, typer.Option(help="The log's verifier key (GET /api/v1/ledger/key).")],
    state: Annotated[
        Path | None, typer.Option(help="Where this verifier remembers the last checkpoint.")
    ] = None,
    witness_key: Annotated[
        list[str] | None,
        typer.Option(
            "--witness-key",
            help="Verifier key of a witness whose cosignature counts (repeat; a node's is its "
            "GET /api/v1/ledger/key witness_key).",
        ),
    ] = None,
    min_cosignatures: Annotated[
        int,
        typer.Option(
            "--min-cosignatures",
            min=0,
            max=99,
            help="Fail unless at least N distinct known witnesses validly cosigned the checkpoint.",
        ),
    ] = 0,
) -> None:
    """Fetch the checkpoint, check its signature, its witnesses' cosignatures and its
    consistency with the last one seen (exit 0 verified, 1 failed, 2 bad key)."""
    from tongban.ledger import service as ledger

    verifier = _verifier(key)
    witnesses = [_verifier(k, "--witness-key") for k in witness_key or []]
    if min_cosignatures and not witnesses:
        typer.secho("error: --min-cosignatures needs --witness-key", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2)
    state_path = state or Path.home() / ".tongban" / "ledger-verifier.json"
    try:
        result = ledger.verify_log(
            url,
            verifier,
            state_path=state_path,
            witnesses=witnesses,
            min_cosignatures=min_cosignatures,
        )
    except ledger.VerifyError as exc:
        typer.secho(f"FAILED: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    cp = result.checkpoint
    if result.previous is None:
        typer.echo(f"OK: {cp.origin} size {cp.size} signed; first checkpoint seen, remembered")
    else:
        typer.echo(
            f"OK: {cp.origin} size {cp.size} signed and consistent with size "
            f"{result.previous.size} seen before"
        )
    if witnesses:
        names = ", ".join(w.name for w in result.cosigned_by) or "none"
        typer.echo(
            f"OK: {len(result.cosigned_by)} valid cosignature(s) by known witnesses ({names}); "
            f"{min_cosignatures} required"
        )


@group.command("verify-receipt")
def ledger_verify_receipt(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Receipt file.")],
    key: Annotated[str, typer.Option(help="The log's verifier key.")],
    lang: Annotated[
        str, typer.Option(help="Language of the step list: zh_CN (中文) or en.")
    ] = "zh_CN",
) -> None:
    """Verify a receipt offline: entry, inclusion proof and checkpoint signature; then list the
    checks in plain words, as the receipt page does (exit 0 verified, 1 failed, 2 bad key)."""
    from tongban.ledger import service as ledger

    verifier = _verifier(key)
    gettext = _gettext(lang)
    colon = ": " if gettext("Verified") == "Verified" else "："  # Chinese takes a full-width one
    try:
        text = file.read_text(encoding="utf-8")
        result = ledger.verify_receipt(text, verifier)
    except (ledger.ReceiptError, UnicodeDecodeError) as exc:
        typer.secho(f"FAILED: {exc}", fg=typer.colors.RED, err=True)
        code = exc.code if isinstance(exc, ledger.ReceiptError) else "not_receipt"
        report = _report(text if isinstance(exc, ledger.ReceiptError) else "", verifier, code)
        _explain(report, gettext, colon)
        raise typer.Exit(code=1) from exc
    e = result.entry
    typer.echo(
        f"OK: event {e.get('uid')} ({e.get('action')} on {e.get('resource_type')} "
        f"{e.get('resource_id')}, {e.get('occurred_at')}) is entry {result.index} of "
        f"{result.checkpoint.origin} at size {result.checkpoint.size}"
    )
    _check_opening(text, e)
    _explain(_report(text, verifier, None), gettext, colon)


def _check_opening(text: str, entry: dict[str, Any]) -> None:
    """A data subject's own receipt (the tracker, docs/tracker.md) carries the opening of the
    entry's commitment: check it against the entry and name whom the entry is about."""
    import json

    from tongban.ledger import service as ledger

    try:
        doc = json.loads(text)
    except ValueError:
        return
    opening = doc.get("opening") if isinstance(doc, dict) else None
    if not isinstance(opening, dict):
        return
    committed = opening.get("committed")
    try:
        ledger.verify_disclosure(entry, salt=opening.get("salt"), committed=committed)  # type: ignore[arg-type]
    except ledger.ReceiptError as exc:
        typer.secho(f"FAILED: the opening does not match the entry: {exc}", fg=typer.colors.RED)
        raise typer.Exit(code=1) from exc
    personal = committed.get("personal") if isinstance(committed, dict) else None
    subject = personal.get("subject") if isinstance(personal, dict) else None
    shown = json.dumps(subject, ensure_ascii=False, sort_keys=True) if subject else "(none)"
    typer.echo(f"OPENED: the entry's commitment opens to data subject {shown}")


def _gettext(lang: str) -> Callable[[str], str]:
    from tongban.platform.web import i18n

    locale = i18n.FROM_BCP47.get(lang.replace("_", "-"), lang)
    if locale not in i18n.LOCALES:
        locale = "zh_CN" if lang.lower().startswith("zh") else "en"
    return i18n.translations(locale).gettext


def _report(text: str, verifier: Verifier, failure: str | None) -> ReceiptReport:
    """The receipt page's report for the verdict already given (ledger.explain.check makes
    the same verify_receipt call); a file that could not be read fails at the first step."""
    from tongban.ledger import explain

    if not text:
        return explain.ReceiptReport(text="").fail(failure or "not_receipt", "")
    report = explain.check(text, verifier)
    # Offline there is no node's ledger to compare the checkpoint with.
    if report.steps.get("consistency") == "passed":
        report.steps["consistency"] = "unchecked"
    return report


def _explain(report: ReceiptReport, gettext: Callable[[str], str], colon: str) -> None:
    """The checks in plain words, one a line, and what a failure means (ledger.words)."""
    from tongban.ledger import words

    typer.echo("")
    if report.failure in words.FAILURES:
        title, meaning = words.FAILURES[report.failure]
        typer.echo(f"{gettext('Verification failed')}{colon}{gettext(title)}")
        typer.echo(gettext(meaning))
    elif report.verified:
        typer.echo(gettext("Verified"))
    typer.echo(f"{gettext('What was checked')}{colon.strip()}")
    marks = {"passed": "√", "failed": "×", "unchecked": "-"}
    for n, (step, state) in enumerate(report.steps.items(), start=1):
        said = gettext(words.STEPS[step])
        typer.echo(f"  {n}. [{marks[state]}] {said}{colon}{gettext(words.STEP_STATES[state])}")
    if report.steps.get("consistency") == "unchecked" and report.verified:
        typer.echo(
            gettext(
                "Offline, the checkpoint is not compared with the node's ledger today: the "
                "receipt page on the node does that."
            )
        )


@group.command("key")
def ledger_key() -> None:
    """Print this node's verifier key (creating the key on first use)."""
    from tongban.ledger import service as ledger

    typer.echo(ledger.public_key(load_settings()))


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Integrate what is pending, then exit.")
    ] = False,
) -> None:
    """Run background work: the ledger integrator (sequences events, signs checkpoints)."""
    from tongban.ledger import service as ledger

    logging.basicConfig(level=logging.INFO)
    settings = load_settings()
    with opened(settings) as database:
        loop = ledger.integrator_loop(settings, database)
        if once:
            typer.echo(f"integrated {loop.run_once(full_scan=True)} events")
            return
        typer.echo(f"ledger integrator running (key {ledger.public_key(settings)}); Ctrl-C stops")
        with contextlib.suppress(KeyboardInterrupt):
            loop.run()


def witness(
    log_key: Annotated[
        list[str] | None,
        typer.Option(
            "--log-key",
            help="Verifier key of a log to witness (repeat; TONGBAN_LEDGER_WITNESS_LOGS too).",
        ),
    ] = None,
    host: str = "127.0.0.1",
    port: int = 8100,
) -> None:
    """Serve a C2SP tlog-witness (POST /add-checkpoint) for the given logs. (Every node also
    witnesses its directory's nodes at POST /api/v1/ledger/witness/add-checkpoint.)"""
    import uvicorn

    from tongban.ledger import service as ledger
    from tongban.ledger.witness import create_witness_app

    settings = load_settings()
    logs = [_verifier(k, "--log-key") for k in [*(log_key or []), *settings.ledger_witness_logs]]
    if not logs:
        typer.secho("error: give --log-key (or TONGBAN_LEDGER_WITNESS_LOGS)", err=True)
        raise typer.Exit(code=2)
    upgrade_database(settings.resolved_database_url())
    with opened(settings) as database:
        cosigner = ledger.witness_signer(settings)
        typer.echo(f"witness key: {cosigner.verifier.vkey()}")
        app = create_witness_app(database, logs=logs, cosigner=cosigner)
        uvicorn.run(app, host=host, port=port)
