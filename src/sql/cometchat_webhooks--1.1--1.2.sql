-- cometchat_webhooks 1.1 -> 1.2: the ledger's unique index on the idempotency
-- key leads with the event's time.
\echo Use "ALTER EXTENSION cometchat_webhooks UPDATE TO '1.2'" to load this file. \quit

-- occurred_at is one of the key's parts (NULL only for an unknown trigger,
-- and then for every delivery of it), so (occurred_at, idempotency_key) is
-- unique exactly when idempotency_key is: the rows already stored satisfy the
-- new constraint.  Leading with the time keeps a load's probes and inserts at
-- the index's recent edge instead of spread over it (a random SHA-256 order).
-- The constraint keeps its name; the index is rebuilt, under an ACCESS
-- EXCLUSIVE lock on cometchat.events for the time it takes.
ALTER TABLE cometchat.events
    DROP CONSTRAINT events_idempotency_key_key,
    ADD CONSTRAINT events_idempotency_key_key UNIQUE NULLS NOT DISTINCT (occurred_at, idempotency_key);
