/*
 * lifecycle_locks.c
 *		Serializing the writers of one id: which id an event is applied
 *		under, the lock of each id a batch writes, and the claims that stand
 *		for those locks in a bulk load.
 *
 * Why writers of one id are serialized.  An event's writes are merges, but
 * some read several rows of its id before they write: whether a session
 * instance or a calls row exists yet (else it is inserted), which instance
 * a participant or recording belongs to (and the adoption when a start or
 * end reveals a new one), the intervals an instance's peak is computed
 * from, the call of its conversation an outcome links to (and the relink
 * when a call_initiated arrives).  Two transactions doing that for one id
 * at once each read without the other's uncommitted rows: two sessions rows
 * for one instance, a lost count, a peak or a link computed from half the
 * rows.  So from the moment a transaction writes rows of a session id (or
 * of a conversation) until it ends, no other transaction writes rows of that
 * id; an event that needs two (call_initiated: its conversation and its
 * session id) holds both.  What is serialized is the id, not a row: the rows
 * may not exist yet, which is why a row lock cannot do it (the same reason
 * INSERT ... ON CONFLICT needs speculative insertion).
 *
 * Until 1.5 the ids were hashed to 1,024 buckets, a transaction-level
 * advisory lock each.  A lock per id would overflow the shared lock table
 * (max_locks_per_transaction x max_connections, 6,400 locks by default) in a
 * bulk load of hundreds of thousands of sessions; buckets kept a bulk load
 * to 1,024 locks, but it then held nearly all of them to its commit, and
 * every live webhook of any call waited for it: minutes for a history
 * import.
 *
 * Now: an id's lock is a transaction-level advisory lock of its own (a
 * 64-bit hash of app and id, the id lock; two ids sharing a hash only wait
 * for each other), and a transaction keeps at most max_locks_per_transaction
 * of them.  Past that it is a bulk load, and from its next batch on it
 * claims its ids instead: for each, it takes the id lock (waiting for a
 * writer that holds it), inserts a row (key) into cometchat.lifecycle_claims,
 * and releases the id lock at once.  A claim is an uncommitted row: it
 * takes no shared memory, however many there are, and stands for the lock
 * until the claimer's transaction ends, which deletes its claims just before
 * it commits (an abort takes them with it); so the table only ever holds
 * rows of transactions in progress, and dead ones for VACUUM.  A writer,
 * after taking an id lock it did not hold, looks the key up in the claims
 * (a dirty snapshot, which sees rows of transactions in progress, as the
 * unique check of a btree insert does): when a transaction in progress
 * claimed it, the writer releases the id locks it took for this batch,
 * waits for that transaction to end (its xid lock, held by every
 * transaction anyway: one lock table entry for all its claims) and starts
 * the batch's locks again.
 *
 * Why that is exact.  Writers of id k are W1 (took the id lock, or holds a
 * claim) and W2, later.  If W1 holds the id lock, W2 waits for it.  If W1
 * holds a claim, it inserted it while it held the id lock and released the
 * lock after: W2 takes the lock after that, so its lookup finds the claim
 * and it waits for W1's transaction.  Either way W2 goes on only after W1
 * ended, and reads W1's rows with the snapshot it takes after its locks
 * (store.c), as before.  A transaction never waits for its own claims (the
 * dirty snapshot shows them as its own, and a set in memory remembers them).
 * Each claim is its own until commit, so a claim made in a subtransaction
 * that aborts is gone with its rows, and forgotten here too.
 *
 * What it costs.  A transaction of fewer than max_locks_per_transaction ids
 * (a live webhook, a small batch) takes its id locks as it took its bucket
 * locks, plus an index lookup of each key in the claims table, which is
 * empty when no bulk load runs; a bulk load inserts and deletes a claim per
 * id.  The lock table holds at most max_locks_per_transaction id locks of
 * each transaction.  And a bulk load blocks exactly the live events of the
 * ids it wrote.  (PostgreSQL's predicate locks bound their memory the other
 * way, by promoting many fine locks to a coarse one, which is what the
 * buckets did: for locks that make others wait, coarse means waiting for
 * rows one never touches.)
 *
 * Order: a batch takes its id locks in key order, so batches that take
 * them together cannot deadlock; a writer that must wait for a claim first
 * lets go of what it took for the batch.  Locks held from earlier batches of
 * a transaction stay held, as they must, so two long transactions writing
 * the same ids in different orders can still deadlock (PostgreSQL detects it
 * and ends one), as with any locks.
 *
 * A ledger whose extension is not updated to 1.5 yet has no claims table:
 * its writers keep to the buckets (the update script waits for the writers
 * in progress, so no two schemes meet).
 */
#include "cometchat.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#define CC_LOCK_LIFECYCLE	0xCC02	/* the buckets of a 1.4 ledger */
#define CC_LOCK_ID			0xCC03	/* an id lock */
#define CC_LOCK_BUCKETS		1024

/* A claim this transaction holds: its key, its row and who inserted it. */
typedef struct CcClaim
{
	uint64		key;
	ItemPointerData tid;
	SubTransactionId subid;
} CcClaim;

/*
 * This transaction's claims, oldest first (subtransaction ids only grow
 * along the array: a committed subtransaction's pass to its parent), and the
 * set of their keys; in TopTransactionContext.
 */
static CcClaim *claims = NULL;
static int	nclaims = 0;
static int	claims_cap = 0;
static HTAB *claimed = NULL;
static Oid	claims_relid = InvalidOid;

/* Id locks taken and kept to the end of the transaction; once past the budget, it claims. */
static int	held_ids = 0;
static bool claiming = false;
static bool callbacks_registered = false;

static uint32
lock_bucket(const CcValue *app, const CcValue *id)
{
	uint32		h = hash_bytes((const unsigned char *) app->str, app->len);

	h = hash_combine(h, hash_bytes((const unsigned char *) id->str, id->len));
	return h % CC_LOCK_BUCKETS;
}

static uint64
id_key(const CcValue *app, const CcValue *id)
{
	uint64		h = hash_bytes_extended((const unsigned char *) app->str, app->len, 0);

	return hash_combine64(h, hash_bytes_extended((const unsigned char *) id->str, id->len, 0));
}

/*
 * The id an event is grouped by in a batch (batch.c), and its bucket, by
 * which a batch is sorted: the conversation of a call message
 * (call_initiated and the outcomes), the session id of every other event.
 */
uint32
cc_lifecycle_group(const CcEvent *ev, const CcValue **id)
{
	static const CcValue none = {0};

	*id = ev->v[SLOT_SESSION].present ? &ev->v[SLOT_SESSION] : &ev->v[SLOT_CONVERSATION];
	if (!(*id)->present)
	{
		*id = &none;
		return 0;
	}
	return lock_bucket(&ev->v[SLOT_APP], *id);
}

static int
key_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return (x > y) - (x < y);
}

static void
claims_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* The memory went with the transaction; its locks and claims too. */
			claims = NULL;
			claimed = NULL;
			nclaims = claims_cap = 0;
			claims_relid = InvalidOid;
			held_ids = 0;
			claiming = false;
			break;
		default:
			break;
	}
}

static void
claims_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	switch (event)
	{
		case SUBXACT_EVENT_ABORT_SUB:
			/*
			 * Its claims died with it.  (Its id locks were released too:
			 * held_ids may count more than are held, which only makes the
			 * transaction claim sooner.)
			 */
			while (nclaims > 0 && claims[nclaims - 1].subid >= mySubid)
			{
				nclaims--;
				(void) hash_search(claimed, &claims[nclaims].key, HASH_REMOVE, NULL);
			}
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			for (int i = nclaims - 1; i >= 0 && claims[i].subid >= mySubid; i--)
				claims[i].subid = parentSubid;
			break;
		default:
			break;
	}
}

/*
 * The claims table of the extension, opened, with its index; NULL when the
 * extension's schema has none (not updated to 1.5 yet).
 */
static Relation
open_claims(Relation *index)
{
	Relation	rel;
	List	   *indexes;

	if (!OidIsValid(claims_relid))
	{
		Oid			namespace = get_namespace_oid("cometchat", true);

		if (!OidIsValid(namespace))
			return NULL;
		claims_relid = get_relname_relid("lifecycle_claims", namespace);
		if (!OidIsValid(claims_relid))
			return NULL;
	}
	rel = table_open(claims_relid, RowExclusiveLock);
	indexes = RelationGetIndexList(rel);
	if (list_length(indexes) != 1)
		elog(ERROR, "table \"cometchat.lifecycle_claims\" must have exactly one index");
	*index = index_open(linitial_oid(indexes), RowExclusiveLock);
	list_free(indexes);
	return rel;
}

/*
 * Who else claims key: the xid of a transaction in progress, or
 * InvalidTransactionId; *mine when this transaction claims it (the set
 * knows its claims: this is only a safeguard).
 */
static TransactionId
claimer_of(Relation rel, Relation index, uint64 key, bool *mine)
{
	SnapshotData dirty;
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;
	TransactionId claimer = InvalidTransactionId;

	*mine = false;
	InitDirtySnapshot(dirty);
	ScanKeyInit(&skey, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum((int64) key));
	scan = systable_beginscan(rel, RelationGetRelid(index), true, &dirty, 1, &skey);
	while ((tup = systable_getnext(scan)) != NULL)
	{
		if (TransactionIdIsValid(dirty.xmin))
		{
			claimer = dirty.xmin;
			break;
		}
		if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data)))
			*mine = true;
		/* else a committed claim whose deletion was missed: it claims nothing */
	}
	systable_endscan(scan);
	return claimer;
}

static void
add_claim(Relation rel, Relation index, IndexInfo *info, uint64 key)
{
	Datum		value = Int64GetDatum((int64) key);
	bool		isnull = false;
	HeapTuple	tup = heap_form_tuple(RelationGetDescr(rel), &value, &isnull);

	simple_heap_insert(rel, tup);
	(void) index_insert(index, &value, &isnull, &tup->t_self, rel, UNIQUE_CHECK_NO, false, info);

	if (nclaims == claims_cap)
	{
		int			cap = claims_cap ? claims_cap * 2 : 1024;

		claims = claims ? repalloc_huge(claims, sizeof(CcClaim) * cap)
			: MemoryContextAlloc(TopTransactionContext, sizeof(CcClaim) * cap);
		claims_cap = cap;
	}
	claims[nclaims].key = key;
	claims[nclaims].tid = tup->t_self;
	claims[nclaims].subid = GetCurrentSubTransactionId();
	nclaims++;
	(void) hash_search(claimed, &key, HASH_ENTER, NULL);
	heap_freetuple(tup);
}

static void
set_id_tag(LOCKTAG *tag, uint64 key)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (key >> 32), (uint32) key, CC_LOCK_ID);
}

typedef uint64 (*CcIdHash) (const CcValue *app, const CcValue *id);

/*
 * The hashes of the ids these events write under (a session id; a
 * conversation, and for call_initiated its session id too), sorted and
 * distinct; returns how many.
 */
static int
event_keys(CcEvent **evs, int n, CcIdHash hash, uint64 *keys)
{
	int			nk = 0;
	int			distinct = 0;

	for (int i = 0; i < n; i++)
	{
		const CcEvent *ev = evs[i];
		const CcValue *ids[2] = {&ev->v[SLOT_SESSION], NULL};

		if (ev->spec->kind == CC_UNKNOWN)
			continue;
		if (ev->spec->shape == SHAPE_MESSAGE)
		{
			ids[0] = &ev->v[SLOT_CONVERSATION];
			if (ev->spec->kind == CC_CALL_INITIATED)
				ids[1] = &ev->v[SLOT_SESSION];
		}
		for (int j = 0; j < 2; j++)
			if (ids[j] && ids[j]->present)
				keys[nk++] = hash(&ev->v[SLOT_APP], ids[j]);
	}
	qsort(keys, nk, sizeof(uint64), key_cmp);
	for (int i = 0; i < nk; i++)
		if (i == 0 || keys[i] != keys[distinct - 1])
			keys[distinct++] = keys[i];
	return distinct;
}

static uint64
bucket_of(const CcValue *app, const CcValue *id)
{
	return lock_bucket(app, id);
}

/* A 1.4 ledger: the buckets of the ids, in bucket order. */
static void
lock_buckets(CcEvent **evs, int n, uint64 *buckets)
{
	int			nb = event_keys(evs, n, bucket_of, buckets);

	for (int i = 0; i < nb; i++)
	{
		LOCKTAG		tag;

		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) buckets[i], 0, CC_LOCK_LIFECYCLE);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
	}
}

/*
 * Serializes this transaction's writes of every id these events write under
 * with other transactions' (see the header): takes their id locks in key
 * order, or claims them in a bulk load; what is held lasts to the end of
 * the transaction.  The events of a batch are applied in another order than
 * that, which is why all are taken first: two batches that took their
 * locks as they went could wait for each other.
 */
void
cc_lifecycle_lock_all(CcEvent **evs, int n)
{
	uint64	   *keys = palloc(sizeof(uint64) * 2 * n);
	bool	   *kept = palloc0(sizeof(bool) * 2 * n);
	int			nk = event_keys(evs, n, id_key, keys);
	Relation	rel;
	Relation	index = NULL;
	IndexInfo  *info = NULL;

	if (nk == 0 || (rel = open_claims(&index)) == NULL)
	{
		if (nk > 0)
			lock_buckets(evs, n, keys);
		pfree(keys);
		pfree(kept);
		return;
	}
	if (!callbacks_registered)
	{
		RegisterXactCallback(claims_xact_callback, NULL);
		RegisterSubXactCallback(claims_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (claimed == NULL)
	{
		HASHCTL		ctl = {0};

		ctl.keysize = ctl.entrysize = sizeof(uint64);
		ctl.hcxt = TopTransactionContext;
		claimed = hash_create("cometchat lifecycle claims", 1024, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	if (!claiming && held_ids + nk > max_locks_per_xact)
		claiming = true;

restart:
	for (int i = 0; i < nk; i++)
	{
		LOCKTAG		tag;
		TransactionId claimer;
		bool		mine;

		CHECK_FOR_INTERRUPTS();
		if (hash_search(claimed, &keys[i], HASH_FIND, NULL) != NULL)
			continue;
		set_id_tag(&tag, keys[i]);
		/* Held since an earlier batch, nobody can have claimed it since. */
		if (LockAcquire(&tag, ExclusiveLock, false, false) != LOCKACQUIRE_OK)
			continue;
		claimer = claimer_of(rel, index, keys[i], &mine);
		if (TransactionIdIsValid(claimer))
		{
			/* Wait holding nothing the claimer may come to want, then again. */
			LockRelease(&tag, ExclusiveLock, false);
			for (int j = 0; j < i; j++)
				if (kept[j])
				{
					set_id_tag(&tag, keys[j]);
					LockRelease(&tag, ExclusiveLock, false);
					kept[j] = false;
					held_ids--;
				}
			XactLockTableWait(claimer, rel, NULL, XLTW_None);
			goto restart;
		}
		if (mine)
			LockRelease(&tag, ExclusiveLock, false);
		else if (claiming)
		{
			if (info == NULL)
				info = BuildIndexInfo(index);
			add_claim(rel, index, info, keys[i]);
			LockRelease(&tag, ExclusiveLock, false);
		}
		else
		{
			kept[i] = true;
			held_ids++;
		}
	}
	/* Locked to the end of the transaction: no TRUNCATE can take claims away. */
	index_close(index, NoLock);
	table_close(rel, NoLock);
	pfree(keys);
	pfree(kept);
}

/*
 * Just before commit (or prepare), when no event is left to apply: deletes
 * this transaction's claims, which stay in force until it ends (a dirty
 * snapshot shows the rows of a transaction in progress, deleted or not),
 * so that the table keeps no row of an ended transaction.
 */
void
cc_lifecycle_release_claims(void)
{
	Relation	rel;

	if (nclaims == 0)
		return;
	/* The claims of the last batch were inserted by the current command. */
	CommandCounterIncrement();
	/* (Gone if the extension was dropped since: the claims went with it.) */
	rel = try_table_open(claims_relid, RowExclusiveLock);
	if (rel != NULL)
	{
		for (int i = 0; i < nclaims; i++)
			simple_heap_delete(rel, &claims[i].tid);
		table_close(rel, NoLock);
	}
	nclaims = 0;
}
