"""identity security: claimed and bound resident IDs, token scopes, login throttles

- accounts: `resident_id_hash` (unique) now marks a *bound* number, set when the identity is
  verified, with when and how (`identity_verified_at`, `identity_verification`). Numbers given
  by an operator (`account.created` events: CLI, administrators, demo data) are taken as bound
  (`operator`); numbers typed at self-registration lose their hash and stay claims (masked and
  encrypted) until verified: nothing was proved about them.
  The accounts table is never rebuilt: on SQLite a rebuild drops it, and with foreign keys on
  that deletes every session, token and proxy authorisation by cascade.
- api_tokens: `scopes` (space-separated); existing tokens get every scope their owner's role
  could use at this revision (never account management, which no scope gives).
- login_throttles: the failed-login counters (identity/throttle.py).

Revision ID: 0010_identity_security
Revises: 0009_cases_filer_index
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_identity_security"
down_revision = "0009_cases_filer_index"
branch_labels = None
depends_on = None

# The token scopes each role could use at this revision (identity/policy.py then).
_ROLE_SCOPES = {
    "citizen": "file read",
    "clerk": "file read",
    "official": "handle read",
    "steward": "read",
    "admin": "configure handle read",
}

_accounts = sa.table(
    "accounts",
    sa.column("id", sa.BigInteger()),
    sa.column("role", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("resident_id_hash", sa.String()),
    sa.column("identity_verified_at", sa.DateTime(timezone=True)),
    sa.column("identity_verification", sa.String()),
)
_events = sa.table(
    "events",
    sa.column("action", sa.String()),
    sa.column("resource_type", sa.String()),
    sa.column("resource_id", sa.String()),
)
_tokens = sa.table(
    "api_tokens", sa.column("account_id", sa.BigInteger()), sa.column("scopes", sa.String())
)


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(48), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        _ts("last_failure_at"),
        _ts("last_success_at"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )

    # Plain ADD COLUMN (no rebuild of accounts, see above).
    op.add_column("accounts", _ts("identity_verified_at"))
    op.add_column("accounts", sa.Column("identity_verification", sa.String(16), nullable=True))
    created_by_an_operator = sa.cast(_accounts.c.id, sa.String(20)).in_(
        sa.select(_events.c.resource_id).where(
            _events.c.action == "account.created", _events.c.resource_type == "account"
        )
    )
    has_number = _accounts.c.resident_id_hash.is_not(None)
    op.execute(
        _accounts.update()
        .where(has_number, created_by_an_operator)
        .values(identity_verified_at=_accounts.c.created_at, identity_verification="operator")
    )
    op.execute(
        _accounts.update()
        .where(has_number, sa.not_(created_by_an_operator))
        .values(resident_id_hash=None)
    )

    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("scopes", sa.String(100), nullable=True))
    for role, scopes in _ROLE_SCOPES.items():
        owners = sa.select(_accounts.c.id).where(_accounts.c.role == role)
        op.execute(_tokens.update().where(_tokens.c.account_id.in_(owners)).values(scopes=scopes))
    op.execute(_tokens.update().where(_tokens.c.scopes.is_(None)).values(scopes="read"))
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.alter_column("scopes", existing_type=sa.String(100), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("scopes")

    # Claims stay masked and encrypted, without a hash: the old code finds nobody by them.
    # Plain DROP COLUMN (SQLite 3.35+), no rebuild of accounts.
    op.execute("ALTER TABLE accounts DROP COLUMN identity_verification")
    op.execute("ALTER TABLE accounts DROP COLUMN identity_verified_at")

    op.drop_table("login_throttles")
