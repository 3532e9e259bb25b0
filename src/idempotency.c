/*
 * idempotency.c
 *		The idempotency key of an event: its canonical text, its digest, and
 *		the probe that looks for it in the ledger (is the event a duplicate?).
 *
 * The key is a JSON array of strings: appId, webhook, trigger, then the
 * parts cc_shape_keys names for the event's shape (CometChat's documented
 * key, widened where it collides).  Every part is a JSON string literal, so
 * no value can imitate a separator, and every part is normalized first:
 * message ids lose leading zeros and times are whole seconds, so "52" and 52,
 * or "1696937627" and 1696937627, give one key.
 *
 * An event of unknown kind is keyed by a digest of its whole payload
 * (jsonb's text form is canonical: keys sorted, duplicates gone).
 *
 * The ledger stores sha256 of the key text: 32 bytes under a unique index.
 *
 * The probe must hold when several sessions insert the same payload at
 * once.  A lock on the key serializes them from the index probe until the row
 * is in the index; the probe uses a dirty snapshot and waits for an
 * in-progress inserter of the key to end, as a unique index would, then looks
 * again.  The lock is released when the next row comes through (its index
 * entry exists by then) or at transaction end, so a bulk load holds one key
 * lock, not one per row.
 */
#include "cometchat.h"
#include "compat.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/* Advisory lock tags of ours carry this in field4 (PostgreSQL uses 1 and 2). */
#define CC_LOCK_KEY		0xCC01

static LOCKTAG held_key_lock;
static bool holding_key_lock = false;

static void
append_part(StringInfo out, const char *str, int len)
{
	appendStringInfoChar(out, ',');
	cc_append_json_string(out, str, len);
}

static void
append_hex(StringInfo out, const uint8 *bytes, int n)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < n; i++)
	{
		appendStringInfoCharMacro(out, hex[bytes[i] >> 4]);
		appendStringInfoCharMacro(out, hex[bytes[i] & 0xF]);
	}
}

static void
sha256(const char *data, size_t len, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		const char *err = pg_cryptohash_error(ctx);

		pg_cryptohash_free(ctx);
		elog(ERROR, "could not compute SHA-256 digest: %s", err);
	}
	pg_cryptohash_free(ctx);
}

/* The canonical key of a valid event (cc_analyze found no problem). */
void
cc_key_text(CcEvent *ev, StringInfo out)
{
	const CcShapeKey *key = &cc_shape_keys[ev->spec->shape];

	appendStringInfoChar(out, '[');
	cc_append_json_string(out, ev->v[SLOT_APP].str, ev->v[SLOT_APP].len);
	append_part(out, ev->v[SLOT_WEBHOOK].str, ev->v[SLOT_WEBHOOK].len);
	append_part(out, ev->v[SLOT_TRIGGER].str, ev->v[SLOT_TRIGGER].len);

	for (int i = 0; i < key->nparts; i++)
	{
		const CcValue *v = &ev->v[key->parts[i]];

		Assert(v->present);
		if (cc_slot_is_time(key->parts[i]))
		{
			char		num[32];
			int			len = snprintf(num, sizeof(num), INT64_FORMAT, v->num);

			append_part(out, num, len);
		}
		else
			append_part(out, v->str, v->len);
	}

	if (ev->spec->shape == SHAPE_UNKNOWN)
	{
		StringInfoData body;
		uint8		digest[PG_SHA256_DIGEST_LENGTH];

		initStringInfo(&body);
		JsonbToCString(&body, &ev->payload->root, VARSIZE(ev->payload));
		sha256(body.data, body.len, digest);
		pfree(body.data);

		appendStringInfoString(out, ",\"sha256:");
		append_hex(out, digest, sizeof(digest));
		appendStringInfoChar(out, '"');
	}
	appendStringInfoChar(out, ']');
}

bytea *
cc_key_digest(const char *key, int len)
{
	bytea	   *result = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	SET_VARSIZE(result, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	sha256(key, len, (uint8 *) VARDATA(result));
	return result;
}

/* ---------------------------------------------------------------------- */
/* The probe: is the key in the ledger?                                  */
/* ---------------------------------------------------------------------- */

/*
 * The key lock is a session-level lock: it belongs to no statement, so the
 * next statement's row can release it, and transaction (or subtransaction)
 * end releases whatever is left.
 */
void
cc_release_key_lock(void)
{
	if (holding_key_lock)
		LockRelease(&held_key_lock, ExclusiveLock, true);
	holding_key_lock = false;
}

static void
acquire_key_lock(bytea *digest)
{
	const uint32 *words = (const uint32 *) VARDATA(digest);

	Assert(!holding_key_lock);
	SET_LOCKTAG_ADVISORY(held_key_lock, MyDatabaseId, words[0], words[1], CC_LOCK_KEY);
	(void) LockAcquire(&held_key_lock, ExclusiveLock, true, false);
	holding_key_lock = true;
}

static void
key_lock_xact_callback(XactEvent event, void *arg)
{
	cc_release_key_lock();
}

static void
key_lock_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		cc_release_key_lock();
}

void
cc_idempotency_init(void)
{
	RegisterXactCallback(key_lock_xact_callback, NULL);
	RegisterSubXactCallback(key_lock_subxact_callback, NULL);
}

/*
 * The unique index the probe reads: on (idempotency_key) in catalogs before
 * 1.2, on (occurred_at, idempotency_key) NULLS NOT DISTINCT since.  An
 * event's time is one of its key's parts (NULL only for an unknown trigger,
 * whose key is the same), so both say the same: one row per key.  The second
 * keeps a load in time order at the index's right edge instead of spreading it
 * over the whole index.  *timed says which one it is.  InvalidOid when
 * there is none and missing_ok.
 */
Oid
cc_find_key_index(Relation rel, int key_att, int time_att, bool *timed, bool missing_ok)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			result = InvalidOid;

	foreach(lc, indexes)
	{
		Relation	irel = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index index = irel->rd_index;

		if (index->indisunique && index->indisvalid && irel->rd_indexprs == NIL &&
			RelationGetIndexPredicate(irel) == NIL && irel->rd_rel->relam == BTREE_AM_OID)
		{
			if (index->indnkeyatts == 1 && index->indkey.values[0] == key_att + 1)
			{
				result = RelationGetRelid(irel);
				*timed = false;
			}
			else if (index->indnkeyatts == 2 && index->indnullsnotdistinct && time_att >= 0 &&
					 index->indkey.values[0] == time_att + 1 &&
					 index->indkey.values[1] == key_att + 1)
			{
				result = RelationGetRelid(irel);
				*timed = true;
			}
		}
		index_close(irel, AccessShareLock);
		if (OidIsValid(result))
			break;
	}
	list_free(indexes);
	if (!OidIsValid(result) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" has no unique index on column \"idempotency_key\"",
						cc_relation_name(rel)),
				 errhint("Reinstall the extension: DROP EXTENSION cometchat_webhooks; CREATE EXTENSION cometchat_webhooks;")));
	return result;
}

/*
 * The version of the row an index entry points to that a dirty snapshot
 * sees, read through a small ring of buffers of its own instead of the
 * shared pool at large.  A COPY writes the ledger through a ring it reuses
 * once round; a plain read of a duplicate's original, on one of the ring's
 * pages, would raise the page's usage count, the COPY would then leave it
 * and take a fresh buffer from shared_buffers, and a load with retried
 * deliveries would sweep the whole pool (and fault in its memory) instead
 * of cycling through 16 MB.  The ledger is a heap table; under another
 * table access method the plain index fetch is used.
 */
static bool
fetch_dirty(IndexScanDesc scan, Relation rel, Snapshot dirty,
			ItemPointer found_tid, int id_att, int64 *id)
{
	static BufferAccessStrategy strategy = NULL;
	ItemPointer tid;

	if (rel->rd_rel->relam != HEAP_TABLE_AM_OID)
	{
		TupleTableSlot *slot = table_slot_create(rel, NULL);
		bool		found = index_getnext_slot(scan, ForwardScanDirection, slot);

		if (found)
		{
			bool		isnull;

			*found_tid = slot->tts_tid;
			*id = DatumGetInt64(slot_getattr(slot, id_att + 1, &isnull));
		}
		ExecDropSingleTupleTableSlot(slot);
		return found;
	}
	if (strategy == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		strategy = GetAccessStrategy(BAS_BULKREAD);
		MemoryContextSwitchTo(old);
	}
	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		ItemPointerData at = *tid;
		HeapTupleData tuple;
		bool		all_dead = false;
		bool		visible;
		Buffer		buf;

		buf = ReadBufferExtended(rel, MAIN_FORKNUM, ItemPointerGetBlockNumber(&at),
								 RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		visible = heap_hot_search_buffer(&at, rel, buf, dirty, &tuple, &all_dead, true);
		if (visible)
		{
			bool		isnull;

			*found_tid = at;
			*id = DatumGetInt64(heap_getattr(&tuple, id_att + 1, RelationGetDescr(rel), &isnull));
		}
		UnlockReleaseBuffer(buf);
		if (visible)
			return true;
		/* As index_getnext_slot: an entry whose chain is dead to all is marked so. */
		if (!scan->xactStartedInRecovery)
			scan->kill_prior_tuple = all_dead;
	}
	return false;
}

/*
 * Takes the key lock and looks for the key in the ledger.  Sees rows of
 * in-progress transactions (a dirty snapshot); for one, it lets go of the key
 * lock (holding it while asleep could close a deadlock cycle with that very
 * transaction), waits for the transaction to end, and starts again: a row
 * whose inserter rolled back does not count.  Returns with the lock held.
 */
bool
cc_key_exists(Relation rel, Oid indexoid, bool timed, Datum occurred, bool no_time,
			  bytea *digest, int id_att, int64 *existing_id)
{
	for (;;)
	{
		SnapshotData dirty;
		Relation	irel;
		IndexScanDesc scan;
		ScanKeyData skey[2];
		int			nkeys = 0;
		TransactionId xwait = InvalidTransactionId;
		ItemPointerData ctid;
		int64		id;
		bool		found = false;

		acquire_key_lock(digest);
		InitDirtySnapshot(dirty);
		irel = index_open(indexoid, RowExclusiveLock);
		if (timed && no_time)
			ScanKeyEntryInitialize(&skey[nkeys++], SK_ISNULL | SK_SEARCHNULL, 1,
								   InvalidStrategy, InvalidOid, InvalidOid,
								   InvalidOid, (Datum) 0);
		else if (timed)
			ScanKeyInit(&skey[nkeys++], 1, BTEqualStrategyNumber, F_TIMESTAMPTZ_EQ, occurred);
		ScanKeyInit(&skey[nkeys], nkeys + 1, BTEqualStrategyNumber, F_BYTEAEQ, PointerGetDatum(digest));
		nkeys++;
		scan = cc_index_beginscan(rel, irel, &dirty, nkeys);
		index_rescan(scan, skey, nkeys, NULL, 0);
		if (fetch_dirty(scan, rel, &dirty, &ctid, id_att, &id))
		{
			xwait = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
			if (!TransactionIdIsValid(xwait))
			{
				found = true;
				*existing_id = id;
			}
		}
		index_endscan(scan);
		index_close(irel, NoLock);

		if (!TransactionIdIsValid(xwait))
			return found;
		cc_release_key_lock();
		XactLockTableWait(xwait, rel, &ctid, XLTW_InsertIndex);
	}
}
