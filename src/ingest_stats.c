/*
 * ingest_stats.c
 *		How many deliveries were accepted, duplicates or rejected, per
 *		database, app id and event kind: counters in shared memory, read by
 *		the view cometchat.ingest_stats.
 *
 * A duplicate leaves no row anywhere, so these counters are the only record
 * of how often CometChat retried; keeping them costs no write.
 *
 * A delivery is counted when its transaction commits (or is prepared): the
 * trigger adds it to this backend's pending counts, a subtransaction's
 * counts go with it when it is rolled back, and the commit adds them to the
 * shared table.  So the counters agree with the ledger and the quarantine
 * whatever a receiver's transaction does.
 *
 * As with pg_stat_statements, the table lives in shared memory and needs
 * the library in shared_preload_libraries: then every backend counts.
 * Without it nothing is counted and reading the view raises an error saying
 * so (numbers from one backend would be wrong, not partial).  The counters
 * are not durable: a restart or a crash of any backend (which restarts
 * shared memory) starts them again from zero, and each row says since when
 * it counts.
 *
 * The table holds cometchat.stats_max (app id, kind) pairs; past that, new
 * pairs are counted in the database's row whose app id and kind are NULL,
 * where payloads without a readable appId and trigger are counted too.
 */
#include "cometchat.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* App ids longer than this are counted by their first CC_STATS_APP_LEN - 1 bytes. */
#define CC_STATS_APP_LEN	128
#define CC_NO_KIND			(-1)

typedef struct CcStatsKey
{
	Oid			dbid;
	int16		kind;			/* CcKind, or CC_NO_KIND */
	bool		has_app;
	char		app[CC_STATS_APP_LEN];	/* zero-padded: compared as bytes */
} CcStatsKey;

typedef struct CcStatsEntry
{
	CcStatsKey	key;			/* hash key: first */
	slock_t		mutex;			/* protects the counts */
	int64		counts[CC_NUM_STATUSES];
	TimestampTz since;
} CcStatsEntry;

typedef struct CcStatsShared
{
	LWLock	   *lock;			/* shared to count, exclusive to add or remove entries */
} CcStatsShared;

static CcStatsShared *stats_shared = NULL;
static HTAB *stats_hash = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* This backend's counts, waiting for the end of their transaction. */
typedef struct CcPendingCount
{
	SubTransactionId subxid;
	CcStatsKey	key;
	int64		counts[CC_NUM_STATUSES];
} CcPendingCount;

static CcPendingCount *pending = NULL;
static int	npending = 0;
static int	pending_cap = 0;

static Size
stats_memsize(void)
{
	return add_size(MAXALIGN(sizeof(CcStatsShared)),
					hash_estimate_size(cc_stats_max, sizeof(CcStatsEntry)));
}

static void
stats_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(stats_memsize());
	RequestNamedLWLockTranche("cometchat_webhooks", 1);
}

static void
stats_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stats_shared = ShmemInitStruct("cometchat_webhooks ingest stats", sizeof(CcStatsShared), &found);
	if (!found)
		stats_shared->lock = &(GetNamedLWLockTranche("cometchat_webhooks"))->lock;
	info.keysize = sizeof(CcStatsKey);
	info.entrysize = sizeof(CcStatsEntry);
	stats_hash = ShmemInitHash("cometchat_webhooks ingest stats hash", cc_stats_max, cc_stats_max,
							   &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

/* ---------------------------------------------------------------------- */
/* Counting                                                                */
/* ---------------------------------------------------------------------- */

static void
make_key(CcStatsKey *key, const CcEvent *ev)
{
	memset(key, 0, sizeof(CcStatsKey));
	key->dbid = MyDatabaseId;
	key->kind = ev && ev->spec ? (int16) ev->spec->kind : CC_NO_KIND;
	if (ev && ev->v[SLOT_APP].present && ev->v[SLOT_APP].str)
	{
		key->has_app = true;
		memcpy(key->app, ev->v[SLOT_APP].str, Min(ev->v[SLOT_APP].len, CC_STATS_APP_LEN - 1));
	}
}

/*
 * Counts one delivery of this event (NULL: nothing could be read of it) for
 * the end of the transaction.
 */
void
cc_stats_count(const CcEvent *ev, CcStatus status)
{
	CcStatsKey	key;
	SubTransactionId subxid = GetCurrentSubTransactionId();

	if (stats_hash == NULL)
		return;
	make_key(&key, ev);
	/* The latest pending count first: a load counts the same pair again and again. */
	for (int i = npending - 1; i >= 0; i--)
		if (pending[i].subxid == subxid && memcmp(&pending[i].key, &key, sizeof(key)) == 0)
		{
			pending[i].counts[status]++;
			return;
		}
	if (npending == pending_cap)
	{
		pending_cap = pending_cap ? pending_cap * 2 : 16;
		pending = pending ?
			repalloc(pending, sizeof(CcPendingCount) * pending_cap) :
			MemoryContextAlloc(TopMemoryContext, sizeof(CcPendingCount) * pending_cap);
	}
	memset(&pending[npending], 0, sizeof(CcPendingCount));
	pending[npending].subxid = subxid;
	pending[npending].key = key;
	pending[npending].counts[status] = 1;
	npending++;
}

/*
 * Adds the pending counts to the shared table.  Runs after the commit, so
 * it may not fail: an entry that finds no room goes to the overflow row,
 * which is made (or found) first, while there is room.
 */
static void
flush_pending(void)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < npending; i++)
	{
		CcStatsKey *key = &pending[i].key;
		CcStatsEntry *entry;
		bool		found;

		LWLockAcquire(stats_shared->lock, LW_SHARED);
		entry = hash_search(stats_hash, key, HASH_FIND, NULL);
		if (entry == NULL)
		{
			LWLockRelease(stats_shared->lock);
			LWLockAcquire(stats_shared->lock, LW_EXCLUSIVE);
			entry = hash_search(stats_hash, key, HASH_ENTER_NULL, &found);
			if (entry == NULL)
			{
				CcStatsKey	overflow;

				make_key(&overflow, NULL);
				entry = hash_search(stats_hash, &overflow, HASH_ENTER_NULL, &found);
			}
			if (entry != NULL && !found)
			{
				SpinLockInit(&entry->mutex);
				memset(entry->counts, 0, sizeof(entry->counts));
				entry->since = now;
			}
		}
		if (entry != NULL)
		{
			SpinLockAcquire(&entry->mutex);
			for (int s = 0; s < CC_NUM_STATUSES; s++)
				entry->counts[s] += pending[i].counts[s];
			SpinLockRelease(&entry->mutex);
		}
		LWLockRelease(stats_shared->lock);
	}
	npending = 0;
}

static void
stats_xact_callback(XactEvent event, void *arg)
{
	if (npending == 0)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			flush_pending();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			npending = 0;
			break;
		default:
			break;
	}
}

/* A subtransaction's counts go to its parent, or with it. */
static void
stats_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			kept = 0;

	if (event != SUBXACT_EVENT_COMMIT_SUB && event != SUBXACT_EVENT_ABORT_SUB)
		return;
	for (int i = 0; i < npending; i++)
	{
		if (pending[i].subxid == mySubid)
		{
			if (event == SUBXACT_EVENT_ABORT_SUB)
				continue;
			pending[i].subxid = parentSubid;
		}
		pending[kept++] = pending[i];
	}
	npending = kept;
}

/* ---------------------------------------------------------------------- */
/* Reading and resetting                                                   */
/* ---------------------------------------------------------------------- */

static void
require_shared(void)
{
	if (stats_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cometchat.ingest_stats needs cometchat_webhooks in shared_preload_libraries"),
				 errdetail("The counters live in shared memory, which a library gets only when the server loads it at start; nothing has been counted."),
				 errhint("Add cometchat_webhooks to shared_preload_libraries in postgresql.conf, then restart the server.")));
}

PG_FUNCTION_INFO_V1(cc_ingest_stats);
Datum
cc_ingest_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	CcStatsEntry *entry;

	require_shared();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(stats_shared->lock, LW_SHARED);
	hash_seq_init(&seq, stats_hash);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[6];
		bool		nulls[6] = {0};
		int64		counts[CC_NUM_STATUSES];

		if (entry->key.dbid != MyDatabaseId)
			continue;
		SpinLockAcquire(&entry->mutex);
		memcpy(counts, entry->counts, sizeof(counts));
		SpinLockRelease(&entry->mutex);
		if (entry->key.has_app)
			values[0] = CStringGetTextDatum(entry->key.app);
		else
			nulls[0] = true;
		if (entry->key.kind != CC_NO_KIND)
			values[1] = CStringGetTextDatum(cc_kind_name((CcKind) entry->key.kind));
		else
			nulls[1] = true;
		for (int s = 0; s < CC_NUM_STATUSES; s++)
			values[2 + s] = Int64GetDatum(counts[s]);
		values[5] = TimestampTzGetDatum(entry->since);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(stats_shared->lock);
	return (Datum) 0;
}

/* Forgets this database's counters; returns how many rows it removed. */
PG_FUNCTION_INFO_V1(cc_reset_ingest_stats);
Datum
cc_reset_ingest_stats(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS seq;
	CcStatsEntry *entry;
	int64		removed = 0;

	require_shared();
	LWLockAcquire(stats_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, stats_hash);
	while ((entry = hash_seq_search(&seq)) != NULL)
		if (entry->key.dbid == MyDatabaseId)
		{
			hash_search(stats_hash, &entry->key, HASH_REMOVE, NULL);
			removed++;
		}
	LWLockRelease(stats_shared->lock);
	PG_RETURN_INT64(removed);
}

void
cc_stats_init(void)
{
	/* Shared memory only when loaded at server start. */
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = stats_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = stats_shmem_startup;
	RegisterXactCallback(stats_xact_callback, NULL);
	RegisterSubXactCallback(stats_subxact_callback, NULL);
}
