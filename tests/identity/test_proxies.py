"""Proxy authorisations (代办): scope, expiry, revocation, who may be an agent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tongban.events.models import Event
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, Forbidden, Invalid, NotFound

from .conftest import MakeAccount


def test_scoped_proxy_allows_listed_items_only(db: Session, make_account: MakeAccount) -> None:
    elder, son = make_account("citizen"), make_account("citizen")
    grant = identity.grant_accepted_proxy(
        db,
        principal_id=elder.id,
        agent_id=son.id,
        relation="child",
        scope=["511A0138000000", "511A0139000000"],
    )
    assert not grant.all_items
    found = identity.check_proxy(
        db, agent_id=son.id, principal_id=elder.id, item_code="511A0138000000"
    )
    assert found.id == grant.id
    with pytest.raises(Forbidden, match="does not cover item '999'"):
        identity.check_proxy(db, agent_id=son.id, principal_id=elder.id, item_code="999")
    # Direction matters: the elder holds no proxy for the son.
    with pytest.raises(Forbidden, match="no proxy authorisation"):
        identity.check_proxy(db, agent_id=elder.id, principal_id=son.id, item_code="999")


def test_expired_pending_and_revoked_say_so(db: Session, make_account: MakeAccount) -> None:
    elder, daughter = make_account("citizen"), make_account("citizen")
    now = utcnow()
    grant = identity.grant_accepted_proxy(
        db,
        principal_id=elder.id,
        agent_id=daughter.id,
        relation="child",
        scope="all",
        valid_from=now + timedelta(days=1),
        expires_at=now + timedelta(days=30),
    )
    check = identity.check_proxy
    with pytest.raises(Forbidden, match="valid only from"):
        check(db, agent_id=daughter.id, principal_id=elder.id, item_code="x", at=now)
    check(
        db, agent_id=daughter.id, principal_id=elder.id, item_code="x", at=now + timedelta(days=2)
    )
    with pytest.raises(Forbidden, match="expired on"):
        check(
            db,
            agent_id=daughter.id,
            principal_id=elder.id,
            item_code="x",
            at=now + timedelta(days=31),
        )
    identity.revoke_proxy(db, proxy_id=grant.id, principal_id=elder.id)
    with pytest.raises(Forbidden, match="revoked"):
        check(
            db,
            agent_id=daughter.id,
            principal_id=elder.id,
            item_code="x",
            at=now + timedelta(days=2),
        )
    actions = db.scalars(
        select(Event.action).where(
            Event.resource_type == "proxy", Event.resource_id == str(grant.id)
        )
    ).all()
    assert list(actions) == ["proxy.granted", "proxy.confirmed", "proxy.revoked"]


@pytest.mark.usefixtures("regions_loaded")
def test_agents_are_relatives_or_clerks(db: Session, make_account: MakeAccount) -> None:
    elder = make_account("citizen")
    clerk = make_account("clerk")
    grant = identity.grant_accepted_proxy(
        db, principal_id=elder.id, agent_id=clerk.id, relation="other", scope="all"
    )
    assert grant.relation == "clerk"
    official = make_account("official")
    with pytest.raises(Invalid) as caught:
        identity.grant_accepted_proxy(
            db, principal_id=elder.id, agent_id=official.id, relation="child"
        )
    assert caught.value.errors[0].field == "agent"
    with pytest.raises(Forbidden):
        identity.grant_accepted_proxy(
            db, principal_id=clerk.id, agent_id=elder.id, relation="child"
        )


def test_bad_grants_name_the_field(db: Session, make_account: MakeAccount) -> None:
    elder, son = make_account("citizen"), make_account("citizen")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"relation": "boss"}, "relation"),
        ({"relation": "child", "scope": []}, "scope"),
        ({"relation": "child", "expires_at": utcnow() - timedelta(days=1)}, "expires_at"),
        ({"relation": "child", "expires_at": utcnow() + timedelta(days=4000)}, "expires_at"),
    ]
    for kwargs, field in cases:
        with pytest.raises(Invalid) as caught:
            identity.grant_accepted_proxy(db, principal_id=elder.id, agent_id=son.id, **kwargs)
        assert caught.value.errors[0].field == field
    with pytest.raises(Invalid):
        identity.grant_accepted_proxy(
            db, principal_id=elder.id, agent_id=elder.id, relation="child"
        )


def test_deactivated_principal_voids_the_proxy(db: Session, make_account: MakeAccount) -> None:
    elder, son = make_account("citizen"), make_account("citizen")
    identity.grant_accepted_proxy(db, principal_id=elder.id, agent_id=son.id, relation="child")
    identity.deactivate_account(db, account_id=elder.id)
    with pytest.raises(Forbidden, match="no longer active"):
        identity.check_proxy(db, agent_id=son.id, principal_id=elder.id, item_code="x")


def test_a_grant_gives_nothing_until_the_agent_accepts(
    db: Session, make_account: MakeAccount
) -> None:
    elder, son, stranger = (make_account("citizen") for _ in range(3))
    grant = identity.grant_proxy(db, principal_id=elder.id, agent_id=son.id, relation="child")
    assert identity.proxy_status(grant) == "unconfirmed"
    with pytest.raises(Forbidden, match="not accepted"):
        identity.check_proxy(db, agent_id=son.id, principal_id=elder.id, item_code="x")
    assert identity.list_proxies(db, agent_id=son.id, include_inactive=False) == []
    # Nobody else answers for the agent.
    for someone in (elder, stranger):
        with pytest.raises(NotFound):
            identity.confirm_proxy(db, proxy_id=grant.id, agent_id=someone.id)
    identity.confirm_proxy(db, proxy_id=grant.id, agent_id=son.id)
    assert identity.check_proxy(db, agent_id=son.id, principal_id=elder.id, item_code="x")
    # The agent may give it up; it cannot be accepted again after.
    identity.decline_proxy(db, proxy_id=grant.id, agent_id=son.id)
    with pytest.raises(Forbidden, match="revoked"):
        identity.check_proxy(db, agent_id=son.id, principal_id=elder.id, item_code="x")
    with pytest.raises(Conflict):
        identity.confirm_proxy(db, proxy_id=grant.id, agent_id=son.id)
