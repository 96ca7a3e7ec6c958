"""`tongban ledger verify-receipt` lists the checks in plain words, in Chinese or English, as
the receipt page does (ledger/words.py; issue #14); its exit codes stay 0, 1 and 2."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tongban.events import service as events
from tongban.ledger import service as ledger
from tongban.platform.config import Settings
from tongban.shell.cli import app as cli


def _receipt(db: Session, settings: Settings, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    uids = [
        events.record(
            db, action="case.accept", resource_type="case", resource_id=str(i), channel="online"
        ).uid
        for i in range(5)
    ]
    ledger.integrate_pending(db, settings=settings)
    receipt = ledger.receipt_for_event(db, event_uid=uids[2])
    path = tmp_path / "step.json"
    path.write_text(json.dumps(receipt))
    return path, receipt


def test_a_good_receipt_lists_its_checks_in_chinese_and_english(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    path, _ = _receipt(db, settings, tmp_path)
    key = ledger.public_key(settings)
    runner = CliRunner()
    res = runner.invoke(cli, ["ledger", "verify-receipt", str(path), "--key", key])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("OK: event ")  # the machine-readable line stays first
    assert "\n已核验\n" in res.output and "核验了哪些内容：" in res.output, res.output
    assert "  1. [√] 凭据可以读取：通过" in res.output
    assert "  6. [-] 检查点与本节点当前账本一致：未检查" in res.output  # not offline
    assert "离线" in res.output
    assert "The receipt can be read" not in res.output
    res = runner.invoke(cli, ["ledger", "verify-receipt", str(path), "--key", key, "--lang", "en"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "Verified" in lines and "What was checked:" in lines
    assert "  1. [√] The receipt can be read: Passed" in lines
    assert "  3. [√] The step is in the signed ledger (inclusion proof): Passed" in lines
    assert "  6. [-] The checkpoint agrees with this node's ledger today: Not checked" in lines
    assert "compared with the node's ledger today" in res.output


def test_a_forged_receipt_names_the_failed_step(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    path, receipt = _receipt(db, settings, tmp_path)
    key = ledger.public_key(settings)
    forged = tmp_path / "forged.tlog-proof"
    forged.write_text(receipt["proof"].replace("index 2", "index 3"))
    runner = CliRunner()
    res = runner.invoke(
        cli, ["ledger", "verify-receipt", str(forged), "--key", key, "--lang", "en"]
    )
    assert res.exit_code == 1 and "FAILED" in res.output
    assert "Verification failed: The inclusion proof does not match" in res.output
    assert "  1. [√] The receipt can be read: Passed" in res.output
    assert "  3. [×] The step is in the signed ledger (inclusion proof): Failed" in res.output
    assert "  4. [-] The step shown is the step proven: Not checked" in res.output
    res = runner.invoke(cli, ["ledger", "verify-receipt", str(forged), "--key", key])
    assert res.exit_code == 1 and "核验未通过：" in res.output, res.output
    # Not a receipt at all (a PDF by mistake): the first step fails, in words.
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(b"%PDF-1.7\n\xff\xfe binary")
    res = runner.invoke(cli, ["ledger", "verify-receipt", str(pdf), "--key", key, "--lang", "en"])
    assert res.exit_code == 1 and "  1. [×] The receipt can be read: Failed" in res.output
    # A bad key is still exit 2, before any check.
    res = runner.invoke(cli, ["ledger", "verify-receipt", str(path), "--key", "nonsense"])
    assert res.exit_code == 2
