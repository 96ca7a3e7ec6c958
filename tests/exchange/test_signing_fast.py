"""The direct signing path is http_message_signatures, only faster: the same headers byte for
byte when signing, and the same verdict on every message, genuine or altered.

No database: these are pure functions of a key, a message and a clock.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from http_message_signatures import HTTPMessageSignaturesException
from starlette.datastructures import Headers

from tongban.exchange import remote, serving, signing
from tongban.exchange.providers import Query
from tongban.platform.config import Settings

WINDOW = datetime.timedelta(seconds=300)
URL = "http://127.0.0.1:8123/exchange/v1/query"


def _key(tmp_path: Path, name: str) -> signing.NodeKey:
    folder = tmp_path / name
    return signing.node_key(
        Settings(data_dir=folder, node_name=name, node_region="440300", database_url="sqlite://")
    )


def _request(purpose: str = "办理 测试/用途") -> httpx.Request:
    query = Query(
        resource="RS-YLBX-001",
        fields=("holder_name", "paid_months"),
        resident_id="11010519491231002X",
        case_number="440300-20261130-ABC12345",
        purpose=purpose,
        client="12511602MB8188247W",
        item="101110001000",
    )
    body = remote.request_body(query)
    return httpx.Request(
        "POST",
        URL,
        content=body,
        headers={
            "content-type": "application/json",
            "x-road-client": "gd.node/12511602MB8188247W",
            "x-road-service": "sc.node/RS-YLBX-001",
            "x-road-id": "4e4c2394e2a44fa2b0a6d664c3a8fae9",
            "x-road-issue": query.case_number,
            "x-road-purpose": "%E5%8A%9E%E7%90%86",
            "x-road-protocol-version": signing.PROTOCOL_VERSION,
        },
    )


def _response() -> serving.Served:
    return serving.Served(
        body=b'{"data": {"paid_months": 120}, "found": true}',
        headers={
            "content-type": "application/json",
            "x-road-id": "4e4c2394e2a44fa2b0a6d664c3a8fae9",
            "x-road-request-hash": "ab" * 32,
            "x-road-service": "sc.node/RS-YLBX-001",
        },
    )


def test_signing_writes_the_librarys_headers_byte_for_byte(tmp_path: Path) -> None:
    key = _key(tmp_path, "gd.node")
    now = datetime.datetime.now(datetime.UTC)
    fast, slow = _request(), _request()
    signing.sign(
        fast, key=key, body=fast.content, components=signing.REQUEST_COMPONENTS, created=now
    )
    signing.library_sign(
        slow, key=key, body=slow.content, components=signing.REQUEST_COMPONENTS, created=now
    )
    assert list(fast.headers.multi_items()) == list(slow.headers.multi_items())
    assert fast.headers["signature-input"].startswith('tb=("@method" "@target-uri"')

    served_fast, served_slow = _response(), _response()
    for served, how in ((served_fast, signing.sign), (served_slow, signing.library_sign)):
        how(served, key=key, body=served.body, components=signing.RESPONSE_COMPONENTS, created=now)
    assert served_fast.headers == served_slow.headers
    assert list(served_fast.headers) == list(served_slow.headers)


def test_a_message_outside_the_plain_form_is_signed_by_the_library(tmp_path: Path) -> None:
    key = _key(tmp_path, "gd.node")
    now = datetime.datetime.now(datetime.UTC)
    odd, slow = _request(), _request()
    for request in (odd, slow):  # a query string: the library normalises target URIs
        request.url = httpx.URL(URL + "?a=1")
    signing.sign(odd, key=key, body=odd.content, components=signing.REQUEST_COMPONENTS, created=now)
    signing.library_sign(
        slow, key=key, body=slow.content, components=signing.REQUEST_COMPONENTS, created=now
    )
    assert list(odd.headers.multi_items()) == list(slow.headers.multi_items())


def _as_received(request: httpx.Request) -> serving.IncomingRequest:
    """The request as the provider's starlette app hands it over."""
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.multi_items()]
    return serving.IncomingRequest(
        method=request.method, url=str(request.url), headers=Headers(raw=raw)
    )


Alteration = Callable[[list[tuple[str, str]]], list[tuple[str, str]]]


def _replace(name: str, value: str) -> Alteration:
    return lambda items: [(k, value if k == name else v) for k, v in items]


def _add(name: str, value: str) -> Alteration:
    return lambda items: [*items, (name, value)]


def _drop(name: str) -> Alteration:
    return lambda items: [(k, v) for k, v in items if k != name]


def _signature_input(change: Callable[[str], str]) -> Alteration:
    return lambda items: [(k, change(v) if k == "signature-input" else v) for k, v in items]


def _flip_signature(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for k, v in items:
        if k == "signature":
            middle = v[6]
            v = v[:6] + ("A" if middle != "A" else "B") + v[7:]
        out.append((k, v))
    return out


ALTERATIONS: dict[str, Alteration] = {
    "as signed": lambda items: items,
    "purpose changed": _replace("x-road-purpose", "%E5%8F%A6"),
    "client changed": _replace("x-road-client", "other.node/12511602MB8188247W"),
    "message id changed": _replace("x-road-id", "0" * 32),
    "digest of another body": _replace("content-digest", signing.content_digest(b"{}")),
    "digest as sha-512": _replace(
        "content-digest",
        "sha-512=:" + "A" * 86 + "==:",
    ),
    "signature flipped": _flip_signature,
    "no signature": _drop("signature"),
    "no digest": _drop("content-digest"),
    "a second signature line": _add("signature", "tb=:" + "A" * 86 + "==:"),
    "a second client line": _add("x-road-client", "evil.node/X"),
    "tag changed": _signature_input(lambda v: v.replace("tongban-exchange", "other")),
    "created moved": _signature_input(lambda v: v.replace(";created=", ";created=1")),
    "created in the past": _signature_input(
        lambda v: v.replace(";created=", ";created=0").replace(";created=0", ";created=1000000")
    ),
    "keyid of another node": _signature_input(lambda v: v.replace("gd.node#k1", "sc.node#k1")),
    "a component left out": _signature_input(lambda v: v.replace(' "x-road-purpose"', "")),
    "components reordered": _signature_input(
        lambda v: v.replace('"@method" "@target-uri"', '"@target-uri" "@method"')
    ),
    # Blanks around a field value are not part of it (RFC 9110 OWS): still the signed value.
    "blank around a value": _replace("x-road-issue", " 440300-20261130-ABC12345 "),
}
GENUINE = {"as signed", "blank around a value"}


def _verdict(check: Callable[[], str]) -> str:
    try:
        return "ok:" + check()
    except HTTPMessageSignaturesException as exc:
        return "refused:" + type(exc).__name__


@pytest.mark.parametrize("name", sorted(ALTERATIONS))
def test_verification_gives_the_librarys_verdict(tmp_path: Path, name: str) -> None:
    key = _key(tmp_path, "gd.node")
    keys = {key.key_id: signing.public_key(key.public_b64)}
    request = _request()
    signing.sign(request, key=key, body=request.content, components=signing.REQUEST_COMPONENTS)
    received = _as_received(request)
    items = [(k, v) for k, v in received.headers.items()]
    altered = ALTERATIONS[name](items)
    message = serving.IncomingRequest(
        method="POST",
        url=received.url,
        headers=Headers(raw=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in altered]),
    )
    arguments = {
        "keys": keys,
        "body": request.content,
        "components": signing.REQUEST_COMPONENTS,
        "window": WINDOW,
    }
    fast = _verdict(lambda: signing.verify(message, **arguments))  # type: ignore[arg-type]
    slow = _verdict(lambda: signing.library_verify(message, **arguments))  # type: ignore[arg-type]
    assert fast == slow
    if name == "as signed":  # and it was the direct path that said so
        assert signing._fast_verify(message, **arguments) == key.key_id  # type: ignore[arg-type]
    assert fast.startswith("ok:") == (name in GENUINE)


def test_a_signed_response_verifies_on_the_direct_path(tmp_path: Path) -> None:
    key = _key(tmp_path, "sc.node")
    keys = {key.key_id: signing.public_key(key.public_b64)}
    served = _response()
    signing.sign(served, key=key, body=served.body, components=signing.RESPONSE_COMPONENTS)
    asked = httpx.Request("POST", URL)
    response = httpx.Response(200, headers=served.headers, content=served.body, request=asked)
    arguments = {
        "keys": keys,
        "body": served.body,
        "components": signing.RESPONSE_COMPONENTS,
        "window": WINDOW,
    }
    direct = signing._fast_verify(response, **arguments)  # type: ignore[arg-type]
    assert direct == key.key_id == signing.library_verify(response, **arguments)  # type: ignore[arg-type]
    tampered = httpx.Response(
        200, headers=served.headers, content=served.body + b" ", request=asked
    )
    arguments["body"] = tampered.content
    with pytest.raises(HTTPMessageSignaturesException):
        signing.verify(tampered, **arguments)  # type: ignore[arg-type]
    with pytest.raises(HTTPMessageSignaturesException):
        signing.library_verify(tampered, **arguments)  # type: ignore[arg-type]
