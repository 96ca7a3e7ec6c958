"""The attack simulation at a small scale, as CI runs it: a real node (uvicorn on loopback,
SQLite, the guard's detector thread as `serve` runs it), normal users and attacks over HTTP,
and the issue's targets: ≥ 95 % of attacks detected, ≤ 1 % of normal sessions alerted or
refused, each alert within 5 s of the request that completed the attack."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

from tongban.catalog.importing import SEED_PATH
from tongban.guard.simulate import PROXY_ITEM, SimulationConfig, run_simulation


def _offer_the_enrolment(node: str) -> None:
    """The operator imports the one seed item the proxies file (as `tongban demo` has it)."""
    seed = yaml.safe_load(SEED_PATH.read_text(encoding="utf-8"))
    code = PROXY_ITEM.split("-")[1]
    item = next(i for i in seed["items"] if i["code"] == code)
    item["implementations"] = [m for m in item["implementations"] if m["code"] == PROXY_ITEM]
    http = httpx.Client(base_url=node)
    r = http.post("/api/v1/auth/token", json={"username": "admin", "password": "tongban-demo"})
    token = r.json()["access_token"]
    r = http.post(
        "/api/v1/catalog/import",
        headers={"Authorization": f"Bearer {token}"},
        content=json.dumps({"version": 1, "items": [item]}, ensure_ascii=False).encode(),
    )
    assert r.status_code == 200, r.text


def test_the_simulation_meets_the_targets_at_a_small_scale(node: str) -> None:
    _offer_the_enrolment(node)
    result = run_simulation(
        SimulationConfig(url=node, seed=7, users=6, attacks=1, timeout=20, budget=240)
    )
    summary = result.summary()
    # Brute force, spraying, probing; a proxy for many principals; and the insiders: outside
    # the jurisdiction, a fetch without a case, a bulk export, a token moving at night (no
    # case to reveal on this node).
    assert summary["attacks"] == 8, summary
    assert set(summary["by_kind"]) == {
        "login.bruteforce",
        "login.spray",
        "access.out_of_jurisdiction",
        "proxy.many_principals",
        "exchange.fetch_without_case",
        "export.bulk",
        "token.new_place_odd_hour",
    }, summary
    # Families filed for one relative each, and none of them was alerted.
    assert summary["family_proxy_filings"] >= 1, summary
    assert result.detection_rate() >= 0.95, summary
    assert result.false_positive_rate() <= 0.01, summary
    assert result.latencies() and max(result.latencies()) <= 5.0, summary
    # Brute force and spraying are not only seen but stopped.
    stopped = {kind: v["stopped"] for kind, v in summary["by_kind"].items()}
    assert stopped["login.bruteforce"] == 1 and stopped["login.spray"] == 1, summary
    assert stopped["token.new_place_odd_hour"] == 1, summary
    assert result.meets_targets()
    # The rules the run set (the token rule's night, the steward's export bar) are put back.
    http = httpx.Client(base_url=node)
    r = http.post("/api/v1/auth/token", json={"username": "admin", "password": "tongban-demo"})
    rules = http.get(
        "/api/v1/guard/rules", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    ).json()
    by_kind = {rule["kind"]: rule for rule in rules}
    assert "night" not in by_kind["token.new_place_odd_hour"]["overrides"]
    assert "steward" not in by_kind["export.bulk"]["overrides"]["role"]


def test_the_simulation_refuses_a_node_elsewhere() -> None:
    with pytest.raises(ValueError, match="this machine"):
        run_simulation(SimulationConfig(url="http://192.0.2.1:8000"))


def test_without_insiders_only_the_outside_attacks_run(node: str) -> None:
    result = run_simulation(
        SimulationConfig(
            url=node,
            seed=8,
            users=2,
            attacks=1,
            timeout=20,
            budget=120,
            insiders=False,
            proxies=False,
        )
    )
    assert {a.kind for a in result.attacks} == {
        "login.bruteforce",
        "login.spray",
        "access.out_of_jurisdiction",
    }
    assert result.detection_rate() == 1.0, result.summary()
