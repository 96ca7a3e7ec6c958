"""Events: the append-only record of every state change (feeds ledger, notifications, insight)."""
