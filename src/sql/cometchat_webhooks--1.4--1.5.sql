-- cometchat_webhooks 1.4 -> 1.5
\echo Use "ALTER EXTENSION cometchat_webhooks UPDATE TO '1.5'" to load this file. \quit

------------------------------------------------------------------------
-- Bulk loads claim their ids instead of holding 1,024 lock buckets
------------------------------------------------------------------------
-- Writers in progress take the buckets, later ones the id locks and claims
-- (lifecycle_locks.c): wait for those in progress, and hold new ones off
-- until this commits, so that the two schemes never run side by side.
LOCK TABLE cometchat.events IN SHARE MODE;

-- The ids a bulk load writes, each claimed by a row of its transaction
-- while it is in progress (lifecycle_locks.c): it stands for the id's
-- advisory lock, which a lock per id of a bulk load would overflow the
-- shared lock table with.  Deleted before commit, so it only ever holds rows
-- of transactions in progress; unlogged, since no claim outlives a crash.
CREATE UNLOGGED TABLE cometchat.lifecycle_claims (
    key bigint NOT NULL
);
CREATE INDEX lifecycle_claims_key ON cometchat.lifecycle_claims (key);
COMMENT ON TABLE cometchat.lifecycle_claims IS 'Internal: the lifecycle ids a bulk load in progress writes, one uncommitted row each (see README, Backfills); empty when none runs';
COMMENT ON COLUMN cometchat.lifecycle_claims.key IS 'a 64-bit hash of the app and the session id or conversation';
