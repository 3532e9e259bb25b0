/*
 * lifecycle.c
 *		Keeps cometchat.sessions, calls, call_outcomes, participants and
 *		recordings up to date as events are accepted, and replays the ledger
 *		through the same rules for cometchat.rebuild().
 *
 * Each lifecycle row is a function of the set of its events, whatever order
 * they arrive in.  Every write is a merge that is commutative and idempotent:
 * earliest start, latest end, the stronger source of a fact, set union of
 * join intervals; counts move only when a new member enters a set.  The few
 * facts that depend on other rows are recomputed from an index when those
 * rows change:
 *
 *  - instance: a participant or recording belongs to the session instance
 *    with the latest started_at at or before its own time, or to the first
 *    instance when it is earlier than all of them (clocks disagree by a
 *    second).  When a start or end event reveals a new instance, the rows in
 *    its time range move to it and the instances involved are recounted.
 *  - outcome: an outcome event belongs to the call of its conversation
 *    initiated last at or before it, within cometchat.outcome_window.  When a
 *    call_initiated arrives, the outcomes in its window that belonged to an
 *    older call (or to none) move to it; when it replaces the message a call
 *    row was taken from, that message's outcomes look for their call again.
 *  - peak_participants: recomputed from the instance's intervals when the
 *    instance has ended, and again if a late event changes an ended instance.
 *
 * Writers of one session id, and of one conversation, are serialized by a
 * transaction-level advisory lock on a hash bucket of (app_id, id); an event
 * that needs both takes them in bucket order, so single-event transactions
 * never deadlock.  Buckets keep a bulk load to at most CC_LOCK_BUCKETS locks.
 * Every table's rows are written under one id's lock, except a calls row:
 * its session id's events count on it and set its times, its
 * conversation's outcome events set its outcome.  Those writes go through
 * cc_update_merge, which merges again into the row's new version when the
 * other writer got there first.
 *
 * Lookups are index scans and writes single-row inserts and updates, made
 * directly (store.c): no SQL statement is planned or started per event.  A
 * merge that changes nothing writes nothing.
 */
#include "cometchat.h"

#include "store.h"

#include "access/nbtree.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"
#include "utils/numeric.h"


PG_FUNCTION_INFO_V1(cc_replay);

#define CC_LOCK_LIFECYCLE	0xCC02
#define CC_LOCK_BUCKETS		1024

/*
 * Writes that wait for the end of a group of events (cc_lifecycle_apply_many):
 * counts to add to a sessions or calls row (a meeting's joins then write its
 * instance's and its call's counts once, not once per join), a call's start
 * and end (its session's earliest start, latest end: nothing reads them
 * before), and instances whose peak_participants is to be recomputed (col
 * S_PEAK).  A call's writes are made in one update.  Rows are named by their
 * keys, copied into the group's memory.
 */
typedef struct CcPendingWrite
{
	CcRelId		rel;			/* CC_SESSIONS or CC_CALLS */
	int			col;			/* S_PCOUNT, S_RCOUNT, S_PEAK, C_PCOUNT, C_STARTED or
								 * C_ENDED */
	Datum		app;
	Datum		session;
	TimestampTz started;		/* sessions: the instance */
	int32		delta;			/* S_PEAK, C_STARTED, C_ENDED: 1 when wanted (S_PEAK:
								 * the peak, once cc_flush_group computed it) */
	TimestampTz at;				/* C_STARTED: the earliest; C_ENDED: the latest */
} CcPendingWrite;

/* What the events of a group share: their pending writes, and what they learnt. */
typedef struct CcGroup
{
	MemoryContext cxt;
	CcPendingWrite *writes;
	int			nwrites;
	int			writes_cap;
	/* The instances of one session id, while the group changes none (cc_instance_at). */
	MemoryContext instances_cxt;
	bool		instances_valid;
	Datum		instances_app;
	Datum		instances_session;
	TimestampTz *starts;		/* ascending */
	bool	   *ended;
	int			ninstances;
	/* The instances' rows as read then, while sessions has no other write (kept_rows_current). */
	CcRow	   *instance_rows;
	uint64		instance_rows_writes;
	/*
	 * A calls row as last read or written: its session id's row exists (rows
	 * are never deleted), and the copy is current while calls has no other
	 * write.
	 */
	CcRow		call_row;
	bool		has_call_row;
	uint64		call_row_writes;
	/* Join intervals of the session id's names, written at cc_flush_intervals. */
	struct CcNameIntervals *names;
	int			nnames;
	int			names_cap;
	Datum		names_app;
	Datum		names_session;
	uint64		names_store;	/* the store generation their rows point into */
} CcGroup;

/*
 * The participants rows of one name of the group's session id, read once
 * and changed in memory by the group's join and leave events: an interval
 * whose join and leave come in one group is inserted once, complete,
 * instead of inserted and then updated; a session's end event merges its
 * occupants into them, and a new instance adopts them, in memory too.  For
 * a name kept here, these rows are all its rows: what reads the table for
 * the session id reads them instead of the name's rows there (cc_count_names,
 * adopt_rows), and peak_of runs once they are written.  Written (and forgotten)
 * at the end of the group, when the group moves on to another session id,
 * and past CC_MAX_CACHED_NAMES names.  Rows in the group's memory; state
 * says what to write.
 */
typedef enum CcRowState
{
	ROW_CLEAN,
	ROW_CHANGED,				/* read from the table, then changed */
	ROW_NEW						/* not in the table yet */
} CcRowState;

typedef struct CcNameIntervals
{
	Datum		name;
	CcRow	   *rows;
	CcRowState *state;
	int			nrows;
	int			cap;
} CcNameIntervals;

/* More names than this in one group are written and forgotten first. */
#define CC_MAX_CACHED_NAMES 256

static void cc_flush_intervals(CcGroup *group, CcStore *store);
static void cc_point_intervals(CcGroup *group, CcStore *store);
static bool cc_texts_equal(Datum a, Datum b);
static void cc_row_copy(CcRow *dst, const CcRow *src);

/* Whether the group keeps intervals of this session id (CcNameIntervals). */
static bool
cc_keeps_intervals_of(const CcGroup *group, Datum app, Datum session)
{
	return group->nnames > 0 && cc_texts_equal(group->names_session, session) &&
		cc_texts_equal(group->names_app, app);
}

/* Whether the group keeps this name's intervals (of its session id). */
static bool
cc_keeps_intervals_of_name(const CcGroup *group, Datum name)
{
	for (int i = 0; i < group->nnames; i++)
		if (cc_texts_equal(group->names[i].name, name))
			return true;
	return false;
}

typedef struct CcEventApply
{
	CcEvent    *ev;
	CcStore    *store;
	Datum		app;
	Datum		session;
	/* The calls row of the session id, once looked up (see cc_fetch_call). */
	bool		call_known;
	bool		call_found;
	CcRow		call;
	CcGroup    *group;
} CcEventApply;

#define CC_KEY_EQ(col, v)	{(col), BTEqualStrategyNumber, (v)}

static Datum
cc_time_datum(int64 secs)
{
	return TimestampTzGetDatum(cc_unix_to_timestamptz(secs));
}

/* The window of cometchat.outcome_window, in timestamptz units. */
static int64
outcome_window(void)
{
	return (int64) cc_outcome_window * USECS_PER_SEC;
}

/* The value of an enum column with this label, looked up once per transaction. */
static Datum
cc_enum_column_value(CcRel *r, int col, const char *label)
{
	CcStore    *store = r->store;
	Oid			type = cc_col_type(r, col);
	Datum		value;

	for (int i = 0; i < store->nenums; i++)
		if (store->enums[i].type == type && strcmp(store->enums[i].label, label) == 0)
			return ObjectIdGetDatum(store->enums[i].value);
	value = DirectFunctionCall2(enum_in, CStringGetDatum(label), ObjectIdGetDatum(type));
	if (store->nenums < lengthof(store->enums) && strlen(label) < sizeof(store->enums[0].label))
	{
		store->enums[store->nenums].type = type;
		strcpy(store->enums[store->nenums].label, label);
		store->enums[store->nenums++].value = DatumGetObjectId(value);
	}
	return value;
}

static int32
text_length(Datum t)
{
	return DatumGetInt32(DirectFunctionCall1(textlen, t));
}

/* Compares two values of a column, in the order of its type (and collation). */
static int
cc_column_cmp(CcRel *r, int col, Datum a, Datum b)
{
	Oid			type = cc_col_type(r, col);

	switch (type)
	{
		case TIMESTAMPTZOID:
			return timestamp_cmp_internal(DatumGetTimestampTz(a), DatumGetTimestampTz(b));
		case TEXTOID:
			return DatumGetInt32(DirectFunctionCall2Coll(bttextcmp, cc_col_collation(r, col), a, b));
		case INTERVALOID:
			return DatumGetInt32(DirectFunctionCall2(interval_cmp, a, b));
		case DATEOID:
			return DatumGetDateADT(a) < DatumGetDateADT(b) ? -1 : DatumGetDateADT(a) > DatumGetDateADT(b);
		case BOOLOID:
			return (int) DatumGetBool(a) - (int) DatumGetBool(b);
		case INT4OID:
			return DatumGetInt32(a) < DatumGetInt32(b) ? -1 : DatumGetInt32(a) > DatumGetInt32(b);
		default:
			{
				TypeCacheEntry *tc = lookup_type_cache(type, 0);

				if (tc->typtype != TYPTYPE_ENUM)
					elog(ERROR, "cometchat_webhooks: unexpected type %u of a lifecycle column", type);
				return compare_values_of_enum(tc, DatumGetObjectId(a), DatumGetObjectId(b));
			}
	}
}

/* Sets a column; true when that changed the row. */
static bool
cc_set_column(CcRow *row, int col, Datum v, bool isnull)
{
	bool		was_null = CC_ISNULL(row, col);

	if (was_null && isnull)
		return false;
	if (!was_null && !isnull && cc_column_cmp(row->r, col, CC_GET(row, col), v) == 0)
		return false;
	CC_SET(row, col, v, isnull);
	return true;
}

/* col = GREATEST(col, v) (sign 1) or LEAST(col, v) (-1): NULLs are ignored, as in SQL. */
static bool
merge_extreme(CcRow *row, int col, Datum v, bool isnull, int sign)
{
	if (isnull)
		return false;
	if (!CC_ISNULL(row, col) && sign * cc_column_cmp(row->r, col, v, CC_GET(row, col)) <= 0)
		return false;
	CC_SET(row, col, v, false);
	return true;
}

/* col = GREATEST(col, v); true when that changed the row. */
static bool
cc_merge_greatest(CcRow *row, int col, Datum v, bool isnull)
{
	return merge_extreme(row, col, v, isnull, 1);
}

/* col = LEAST(col, v); true when that changed the row. */
static bool
cc_merge_least(CcRow *row, int col, Datum v, bool isnull)
{
	return merge_extreme(row, col, v, isnull, -1);
}

/*
 * A fact from a stronger source wins; equal sources merge by GREATEST.  The
 * row keeps the strongest source that reported the fact.
 */
static bool
cc_merge_sourced(CcRow *row, int col, int src_col, Datum v, bool isnull, Datum src, bool src_null)
{
	bool		changed = false;

	int			c;

	if (src_null)
		return false;
	c = CC_ISNULL(row, src_col) ? 1 : cc_column_cmp(row->r, src_col, src, CC_GET(row, src_col));
	if (c > 0)
		changed = cc_set_column(row, col, v, isnull);
	else if (c == 0)
		changed = cc_merge_greatest(row, col, v, isnull);
	return cc_merge_greatest(row, src_col, src, false) || changed;
}

static bool
cc_texts_equal(Datum a, Datum b)
{
	text	   *ta = DatumGetTextPP(a);
	text	   *tb = DatumGetTextPP(b);

	return VARSIZE_ANY_EXHDR(ta) == VARSIZE_ANY_EXHDR(tb) &&
		memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), VARSIZE_ANY_EXHDR(ta)) == 0;
}

static uint32
lock_bucket(const CcValue *app, const CcValue *id)
{
	uint32		h = hash_bytes((const unsigned char *) app->str, app->len);

	h = hash_combine(h, hash_bytes((const unsigned char *) id->str, id->len));
	return h % CC_LOCK_BUCKETS;
}

/*
 * The id an event is grouped by in a batch (batch.c), and its lock bucket:
 * the conversation of a call message (call_initiated and the outcomes), the
 * session id of every other event.
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
bucket_cmp(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return (x > y) - (x < y);
}

/*
 * Takes the locks of every id these events write under (a session id; a
 * conversation, and for call_initiated its session id too), in bucket
 * order, which is what keeps concurrent writers from deadlocking: the
 * events of a batch are applied in another order, and two batches that took
 * their locks as they went could wait for each other.
 */
void
cc_lifecycle_lock_all(CcEvent **evs, int n)
{
	uint32	   *buckets = palloc(sizeof(uint32) * 2 * n);
	int			nb = 0;

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
				buckets[nb++] = lock_bucket(&ev->v[SLOT_APP], ids[j]);
	}
	qsort(buckets, nb, sizeof(uint32), bucket_cmp);
	for (int i = 0; i < nb; i++)
	{
		LOCKTAG		tag;

		if (i > 0 && buckets[i] == buckets[i - 1])
			continue;
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, buckets[i], 0, CC_LOCK_LIFECYCLE);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
	}
	pfree(buckets);
}

/* ---------------------------------------------------------------------- */
/* Session instances: lookups and counts                                   */
/* ---------------------------------------------------------------------- */

/*
 * Reads the instances of the session id (their starts and whether they have
 * ended) for the rest of the group: only the group's own start and end
 * events change them (cc_apply_instance forgets them), as it holds the session
 * id's lock.
 */
static void
load_instances(CcEventApply *apply)
{
	CcGroup    *group = apply->group;
	CcKey		keys[2] = {CC_KEY_EQ(S_APP, apply->app), CC_KEY_EQ(S_SESSION, apply->session)};
	CcScan		scan;
	int			cap = 4;
	MemoryContext old;

	/* In memory of their own, which the next load empties. */
	if (group->instances_cxt)
		MemoryContextReset(group->instances_cxt);
	else
		group->instances_cxt = AllocSetContextCreate(group->cxt, "cometchat lifecycle instances",
												 ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(group->instances_cxt);
	group->starts = palloc(sizeof(TimestampTz) * cap);
	group->ended = palloc(sizeof(bool) * cap);
	group->instance_rows = palloc(sizeof(CcRow) * cap);
	group->ninstances = 0;
	group->instances_app = datumCopy(apply->app, false, -1);
	group->instances_session = datumCopy(apply->session, false, -1);

	cc_scan_begin(&scan, cc_rel(apply->store, CC_SESSIONS), 2, keys, S_STARTED, ForwardScanDirection);
	while (cc_scan_next(&scan))
	{
		CcRow	   *row;

		if (group->ninstances == cap)
		{
			cap *= 2;
			group->starts = repalloc(group->starts, sizeof(TimestampTz) * cap);
			group->ended = repalloc(group->ended, sizeof(bool) * cap);
			group->instance_rows = repalloc(group->instance_rows, sizeof(CcRow) * cap);
		}
		row = &group->instance_rows[group->ninstances];
		cc_row_from_scan(row, &scan);
		group->starts[group->ninstances] = DatumGetTimestampTz(CC_GET(row, S_STARTED));
		group->ended[group->ninstances++] = !CC_ISNULL(row, S_ENDED);
	}
	cc_scan_end(&scan);
	MemoryContextSwitchTo(old);
	group->instance_rows_writes = cc_writes(CC_SESSIONS);
	group->instances_valid = true;
}

/*
 * Whether copies of a table's rows taken when cc_writes() was at writes are
 * what the table holds now.  Other transactions do not write a session
 * id's rows while the group holds its lock, except a calls row, which an
 * outcome may update: its writes follow the row's update chain
 * (cc_update_merge).
 */
static bool
kept_rows_current(CcEventApply *apply, CcRelId id, uint64 writes)
{
	return !apply->store->lifecycle_triggers && cc_writes(id) == writes;
}

/* A copy of a kept row, in the current memory, on the store's table. */
static void
copy_kept(CcRow *dst, CcRow *kept, CcRel *r)
{
	kept->r = r;				/* the store may have been reopened since */
	cc_row_init(dst, r);
	cc_row_copy(dst, kept);
}

/*
 * The instance a time belongs to: the latest started_at at or before it;
 * failing that, the first.
 */
static bool
cc_instance_at(CcEventApply *apply, Datum t, Datum *started_at, bool *ended)
{
	CcGroup    *group = apply->group;
	TimestampTz at = DatumGetTimestampTz(t);
	int			lo = 0;
	int			hi;

	if (!group->instances_valid || !cc_texts_equal(group->instances_session, apply->session) ||
		!cc_texts_equal(group->instances_app, apply->app))
		load_instances(apply);
	if (group->ninstances == 0)
		return false;
	/* The first start after t; the one before it, if any, is the instance. */
	hi = group->ninstances;
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (group->starts[mid] <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0)
		lo--;
	*started_at = TimestampTzGetDatum(group->starts[lo]);
	*ended = group->ended[lo];
	return true;
}

/* The nearest instance before (dir backward) or after (forward) t. */
static bool
neighbouring_instance(CcEventApply *apply, Datum t, ScanDirection dir, Datum *started_at)
{
	CcRel	   *sessions = cc_rel(apply->store, CC_SESSIONS);
	CcKey		keys[3] = {CC_KEY_EQ(S_APP, apply->app), CC_KEY_EQ(S_SESSION, apply->session),
		{S_STARTED, ScanDirectionIsBackward(dir) ? BTLessStrategyNumber : BTGreaterStrategyNumber, t}};
	CcScan		scan;
	bool		found;
	bool		isnull;

	cc_scan_begin(&scan, sessions, 3, keys, S_STARTED, dir);
	found = cc_scan_next(&scan);
	if (found)
		*started_at = cc_scan_get(&scan, S_STARTED, &isnull);
	cc_scan_end(&scan);
	return found;
}

/*
 * Distinct participant names of the session id, or of one of its instances
 * when instance is not NULL.
 */
static int32
cc_count_names(CcEventApply *apply, const Datum *instance)
{
	CcRel	   *participants = cc_rel(apply->store, CC_PARTICIPANTS);
	CcKey		keys[2] = {CC_KEY_EQ(P_APP, apply->app), CC_KEY_EQ(P_SESSION, apply->session)};
	CcGroup    *group = apply->group;
	bool		kept = cc_keeps_intervals_of(group, apply->app, apply->session);
	CcScan		scan;
	int32		n = 0;
	Datum		last = (Datum) 0;
	bool		have_last = false;

	/* The names the group keeps, from its rows. */
	for (int i = 0; kept && i < group->nnames; i++)
		for (int j = 0; j < group->names[i].nrows; j++)
		{
			CcRow	   *row = &group->names[i].rows[j];

			if (!instance ||
				(!CC_ISNULL(row, P_INSTANCE) &&
				 DatumGetTimestampTz(CC_GET(row, P_INSTANCE)) == DatumGetTimestampTz(*instance)))
			{
				n++;
				break;
			}
		}

	/* The others from the table, in name order, so equal names are adjacent. */
	cc_scan_begin(&scan, participants, 2, keys, P_NAME, ForwardScanDirection);
	while (cc_scan_next(&scan))
	{
		bool		isnull;
		Datum		name;

		if (instance)
		{
			Datum		inst = cc_scan_get(&scan, P_INSTANCE, &isnull);

			if (isnull || DatumGetTimestampTz(inst) != DatumGetTimestampTz(*instance))
				continue;
		}
		name = cc_scan_get(&scan, P_NAME, &isnull);
		if ((have_last && cc_texts_equal(last, name)) ||
			(kept && cc_keeps_intervals_of_name(group, name)))
			continue;
		if (have_last)
			pfree(DatumGetPointer(last));
		last = datumCopy(name, false, -1);
		have_last = true;
		n++;
	}
	cc_scan_end(&scan);
	return n;
}

static int32
count_recordings(CcEventApply *apply, Datum instance)
{
	CcRel	   *recordings = cc_rel(apply->store, CC_RECORDINGS);
	CcKey		keys[2] = {CC_KEY_EQ(R_APP, apply->app), CC_KEY_EQ(R_SESSION, apply->session)};
	CcScan		scan;
	int32		n = 0;

	cc_scan_begin(&scan, recordings, 2, keys, -1, ForwardScanDirection);
	while (cc_scan_next(&scan))
	{
		bool		isnull;
		Datum		inst = cc_scan_get(&scan, R_INSTANCE, &isnull);

		if (!isnull && DatumGetTimestampTz(inst) == DatumGetTimestampTz(instance))
			n++;
	}
	cc_scan_end(&scan);
	return n;
}

static bool
cc_fetch_instance(CcEventApply *apply, Datum started_at, CcRow *row)
{
	CcKey		keys[3] = {CC_KEY_EQ(S_APP, apply->app), CC_KEY_EQ(S_SESSION, apply->session),
	CC_KEY_EQ(S_STARTED, started_at)};
	CcGroup    *group = apply->group;
	CcRel	   *sessions = cc_rel(apply->store, CC_SESSIONS);

	/* The instances the group read, when nothing wrote sessions since: all there are. */
	if (group->instances_valid &&
		kept_rows_current(apply, CC_SESSIONS, group->instance_rows_writes) &&
		cc_texts_equal(group->instances_session, apply->session) &&
		cc_texts_equal(group->instances_app, apply->app))
	{
		for (int i = 0; i < group->ninstances; i++)
			if (group->starts[i] == DatumGetTimestampTz(started_at))
			{
				copy_kept(row, &group->instance_rows[i], sessions);
				return true;
			}
		return false;
	}
	return cc_fetch(row, sessions, 3, keys, -1, ForwardScanDirection);
}

/* The group's copy of a calls row, when it is the session id's. */
static CcRow *
kept_call_row(CcEventApply *apply)
{
	CcGroup    *group = apply->group;

	if (!group->has_call_row)
		return NULL;
	group->call_row.r = cc_rel(apply->store, CC_CALLS);	/* the store may have been reopened since */
	if (!cc_texts_equal(CC_GET(&group->call_row, C_SESSION), apply->session) ||
		!cc_texts_equal(CC_GET(&group->call_row, C_APP), apply->app))
		return NULL;
	return &group->call_row;
}

/* Keeps a copy of the session id's calls row, just read or written through row. */
static void
cc_keep_call_row(CcEventApply *apply, CcRow *row)
{
	CcGroup    *group = apply->group;
	MemoryContext old = MemoryContextSwitchTo(group->cxt);

	if (!group->has_call_row)
		cc_row_init(&group->call_row, row->r);
	group->call_row.r = row->r;
	cc_row_copy(&group->call_row, row);
	group->has_call_row = true;
	group->call_row_writes = cc_writes(CC_CALLS);
	MemoryContextSwitchTo(old);
}

/*
 * The calls row of the session id, or NULL.  Looked up once per event: the
 * row returned is the one every later write of the event goes through (so
 * its TID stays current); a write through another copy forgets it.
 */
static CcRow *
cc_fetch_call(CcEventApply *apply)
{
	CcKey		keys[2] = {CC_KEY_EQ(C_APP, apply->app), CC_KEY_EQ(C_SESSION, apply->session)};

	if (!apply->call_known)
	{
		CcGroup    *group = apply->group;
		CcRel	   *calls = cc_rel(apply->store, CC_CALLS);
		CcRow	   *kept = kept_call_row(apply);

		if (kept && kept_rows_current(apply, CC_CALLS, group->call_row_writes))
		{
			copy_kept(&apply->call, kept, calls);
			apply->call_found = true;
		}
		else if ((apply->call_found = cc_fetch(&apply->call, calls, 2, keys, -1, ForwardScanDirection)))
			cc_keep_call_row(apply, &apply->call);
		apply->call_known = true;
	}
	return apply->call_found ? &apply->call : NULL;
}

/* Whether the pending write is on this row (sessions: of this instance). */
static bool
write_is_on_row(const CcPendingWrite *pending, CcRelId rel, Datum app, Datum session,
				TimestampTz started)
{
	return pending->rel == rel && (rel != CC_SESSIONS || pending->started == started) &&
		cc_texts_equal(pending->session, session) && cc_texts_equal(pending->app, app);
}

/* The pending write of this row's column; made if need be, when create. */
static CcPendingWrite *
pending_write(CcGroup *group, CcRelId rel, int col, Datum app, Datum session, Datum started,
			  bool create)
{
	CcPendingWrite *w;
	MemoryContext old;

	for (int i = 0; i < group->nwrites; i++)
	{
		w = &group->writes[i];
		if (w->col == col && write_is_on_row(w, rel, app, session, DatumGetTimestampTz(started)))
			return w;
	}
	if (!create)
		return NULL;
	old = MemoryContextSwitchTo(group->cxt);
	if (group->nwrites == group->writes_cap)
	{
		group->writes_cap = group->writes_cap ? group->writes_cap * 2 : 8;
		group->writes = group->writes ?
			repalloc(group->writes, sizeof(CcPendingWrite) * group->writes_cap) :
			palloc(sizeof(CcPendingWrite) * group->writes_cap);
	}
	w = &group->writes[group->nwrites++];
	w->rel = rel;
	w->col = col;
	w->app = datumCopy(app, false, -1);
	w->session = datumCopy(session, false, -1);
	w->started = rel == CC_SESSIONS ? DatumGetTimestampTz(started) : 0;
	w->delta = 0;
	MemoryContextSwitchTo(old);
	return w;
}

/*
 * Adds one to a count column of an instance (S_PCOUNT, S_RCOUNT), or to the
 * participant_count of the session id's call when there is one: at the end
 * of the group (cc_flush_group).  Whatever writes the row meanwhile writes
 * the count it read; the additions go to the latest version.
 */
static void
cc_count_on_instance(CcEventApply *apply, Datum instance, int col)
{
	pending_write(apply->group, CC_SESSIONS, col, apply->app, apply->session, instance, true)->delta++;
}

/* Whether the session id's calls row is known to exist, without a lookup. */
static bool
cc_call_known_to_exist(CcEventApply *apply)
{
	return kept_call_row(apply) != NULL;
}

static void
cc_count_on_call(CcEventApply *apply)
{
	if (cc_call_known_to_exist(apply) || cc_fetch_call(apply))
		pending_write(apply->group, CC_CALLS, C_PCOUNT, apply->app, apply->session, (Datum) 0,
					  true)->delta++;
}

/* A call starts with its first instance, ends with its last (at the end of the group). */
static void
cc_call_time(CcEventApply *apply, int col, Datum t)
{
	CcPendingWrite *pending = pending_write(apply->group, CC_CALLS, col, apply->app, apply->session,
											(Datum) 0, true);
	TimestampTz at = DatumGetTimestampTz(t);

	if (!pending->delta || (col == C_STARTED ? at < pending->at : at > pending->at))
		pending->at = at;
	pending->delta = 1;
}

static void
cc_recount_instance(CcEventApply *apply, Datum instance)
{
	static const int cols[] = {S_PCOUNT, S_RCOUNT};
	CcRow		row;

	/* Counted from the rows, which include what the pending additions count. */
	for (int i = 0; i < lengthof(cols); i++)
	{
		CcPendingWrite *pending = pending_write(apply->group, CC_SESSIONS, cols[i], apply->app,
												apply->session, instance, false);

		if (pending)
			pending->delta = 0;
	}
	if (!cc_fetch_instance(apply, instance, &row))
		return;
	if (cc_set_column(&row, S_PCOUNT, Int32GetDatum(cc_count_names(apply, &instance)), false) |
		cc_set_column(&row, S_RCOUNT, Int32GetDatum(count_recordings(apply, instance)), false))
		cc_update(apply->store, &row);
}

typedef struct CcEdge
{
	TimestampTz t;
	int			d;
} CcEdge;

static int
edge_cmp(const void *a, const void *b)
{
	const CcEdge *x = a;
	const CcEdge *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->d - y->d;
}

/*
 * peak_participants of an ended instance: the most join intervals open at
 * once.  Intervals are [joined_at, left_at); one still open ends with the
 * session, and a leave sorts before a join at the same instant.
 */
static int32
peak_of(CcEventApply *apply, Datum instance, TimestampTz ended)
{
	CcRel	   *participants = cc_rel(apply->store, CC_PARTICIPANTS);
	CcKey		keys[2] = {CC_KEY_EQ(P_APP, apply->app), CC_KEY_EQ(P_SESSION, apply->session)};
	CcScan		scan;
	CcEdge	   *edges;
	int			n = 0;
	int			cap = 64;
	int32		open = 0;
	int32		peak = 0;

	/* From the table: cc_flush_group wrote the group's intervals first. */
	Assert(apply->group->nnames == 0);
	edges = palloc(sizeof(CcEdge) * cap);
	cc_scan_begin(&scan, participants, 2, keys, -1, ForwardScanDirection);
	while (cc_scan_next(&scan))
	{
		bool		isnull;
		Datum		inst = cc_scan_get(&scan, P_INSTANCE, &isnull);
		Datum		left;

		if (isnull || DatumGetTimestampTz(inst) != DatumGetTimestampTz(instance))
			continue;
		if (n + 2 > cap)
		{
			cap *= 2;
			edges = repalloc(edges, sizeof(CcEdge) * cap);
		}
		edges[n].t = DatumGetTimestampTz(cc_scan_get(&scan, P_JOINED, &isnull));
		edges[n++].d = 1;
		left = cc_scan_get(&scan, P_LEFT, &isnull);
		edges[n].t = isnull ? ended : DatumGetTimestampTz(left);
		edges[n++].d = -1;
	}
	cc_scan_end(&scan);

	qsort(edges, n, sizeof(CcEdge), edge_cmp);
	for (int i = 0; i < n; i++)
	{
		open += edges[i].d;
		if (open > peak)
			peak = open;
	}
	pfree(edges);
	return peak;
}

/* The instance's peak is recomputed at the end of the group (cc_flush_group). */
static void
cc_recompute_peak(CcEventApply *apply, Datum instance)
{
	pending_write(apply->group, CC_SESSIONS, S_PEAK, apply->app, apply->session, instance,
				  true)->delta = 1;
}

static bool
merge_add(CcRow *row, void *arg)
{
	CcPendingWrite *w = arg;

	CC_SET(row, w->col, Int32GetDatum(DatumGetInt32(CC_GET(row, w->col)) + w->delta), false);
	return true;
}

/* A row's pending writes, all of them (arg: a NULL-terminated array). */
static bool
merge_writes(CcRow *row, void *arg)
{
	bool		changed = false;

	for (CcPendingWrite **pending = arg; *pending; pending++)
	{
		Datum		at = TimestampTzGetDatum((*pending)->at);

		if ((*pending)->rel == CC_SESSIONS && (*pending)->col == S_PEAK)
			changed |= cc_set_column(row, S_PEAK, Int32GetDatum((*pending)->delta), false);
		else if ((*pending)->rel == CC_SESSIONS || (*pending)->col == C_PCOUNT)
			changed |= merge_add(row, *pending);
		else if ((*pending)->col == C_STARTED)
			changed |= cc_merge_least(row, C_STARTED, at, false);
		else
			changed |= cc_merge_greatest(row, C_ENDED, at, false);
	}
	return changed;
}

/*
 * The group's pending writes, after its intervals: one update per row, made
 * on the row's latest version (a calls row may have been written by another
 * conversation's outcome meanwhile), with its counts added, its call's start
 * and end merged, and its instance's peak computed from the intervals as
 * they now are.
 */
static void
cc_flush_group(CcGroup *group, Oid namespace)
{
	CcEventApply apply = {NULL};

	if (group->nwrites == 0 && group->nnames == 0)
		return;
	apply.group = group;
	apply.store = cc_store_begin(namespace);
	/* The intervals first: peaks are computed from them. */
	cc_flush_intervals(group, apply.store);
	for (int i = 0; i < group->nwrites; i++)
	{
		CcPendingWrite *pending = &group->writes[i];
		CcPendingWrite **row_writes;	/* this and the row's later writes, in one update */
		int			nrow_writes = 0;
		CcRow		row;
		bool		found;

		if (pending->delta == 0)
			continue;
		row_writes = palloc(sizeof(CcPendingWrite *) * (group->nwrites - i + 1));
		for (int j = i; j < group->nwrites; j++)
		{
			CcPendingWrite *other = &group->writes[j];

			if (other->delta != 0 &&
				write_is_on_row(other, pending->rel, pending->app, pending->session, pending->started))
				row_writes[nrow_writes++] = other;
		}
		row_writes[nrow_writes] = NULL;
		apply.app = pending->app;
		apply.session = pending->session;
		if (pending->rel == CC_SESSIONS)
			found = cc_fetch_instance(&apply, TimestampTzGetDatum(pending->started), &row);
		else
		{
			CcRow	   *call = cc_fetch_call(&apply);

			found = call != NULL;
			if (found)
				row = *call;
			apply.call_known = false;
		}
		if (!found)
		{
			bool		only_peaks = true;

			for (int j = 0; j < nrow_writes; j++)
				only_peaks &= row_writes[j]->rel == CC_SESSIONS && row_writes[j]->col == S_PEAK;
			if (!only_peaks)
				elog(ERROR, "cometchat_webhooks: a %s row to write on is gone",
					 pending->rel == CC_SESSIONS ? "sessions" : "calls");
			nrow_writes = 0;
		}
		/* A peak wanted: computed from the intervals as they now are, once the instance has ended. */
		for (int j = 0; j < nrow_writes; j++)
			if (row_writes[j]->col == S_PEAK && row_writes[j]->rel == CC_SESSIONS)
			{
				if (CC_ISNULL(&row, S_ENDED))
					row_writes[j--] = row_writes[--nrow_writes];
				else
					row_writes[j]->delta = peak_of(&apply, TimestampTzGetDatum(pending->started),
											 DatumGetTimestampTz(CC_GET(&row, S_ENDED)));
			}
		row_writes[nrow_writes] = NULL;
		if (nrow_writes > 0)
			cc_update_merge(apply.store, &row, merge_writes, row_writes);
		for (int j = i; j < group->nwrites; j++)
			if (write_is_on_row(&group->writes[j], pending->rel, pending->app, pending->session,
								pending->started))
				group->writes[j].delta = 0;
		pfree(row_writes);
	}
	cc_store_end(apply.store);
	group->nwrites = 0;
}

/* ---------------------------------------------------------------------- */
/* Participants and recordings                                             */
/* ---------------------------------------------------------------------- */

typedef struct CcInterval
{
	const char *name;
	int			name_len;
	int64		joined_at;
	bool		has_left;
	int64		left_at;
	const char *source;			/* cometchat.fact_source of this event */
	bool		has_audio;
	bool		audio_only;
} CcInterval;

static void
cc_row_set_text(CcRow *row, int col, const CcValue *v)
{
	if (v->present)
		CC_SET(row, col, PointerGetDatum(cc_value_text(v)), false);
}

/* Copies src's values into dst (both rows of one table), in dst's memory. */
static void
cc_row_copy(CcRow *dst, const CcRow *src)
{
	TupleDesc	desc = RelationGetDescr(src->r->rel);
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(dst->values));

	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		if (!att->attbyval && !dst->nulls[a])
			pfree(DatumGetPointer(dst->values[a]));
		dst->nulls[a] = src->nulls[a];
		dst->values[a] = src->nulls[a] ? (Datum) 0 :
			datumCopy(src->values[a], att->attbyval, att->attlen);
	}
	dst->tid = src->tid;
	MemoryContextSwitchTo(old);
}

/*
 * Points the kept intervals' rows at the store's participants table: a
 * relcache invalidation since they were kept may have made a new store.
 */
static void
cc_point_intervals(CcGroup *group, CcStore *store)
{
	CcRel	   *participants;

	if (group->nnames == 0 || group->names_store == store->generation)
		return;
	participants = cc_rel(store, CC_PARTICIPANTS);
	for (int i = 0; i < group->nnames; i++)
		for (int j = 0; j < group->names[i].nrows; j++)
			group->names[i].rows[j].r = participants;
	group->names_store = store->generation;
}

/* Adds a copy of row to the name's intervals, in the group's memory. */
static void
cc_keep_interval(CcGroup *group, CcNameIntervals *intervals, CcRow *row, CcRowState state)
{
	MemoryContext old = MemoryContextSwitchTo(group->cxt);

	if (intervals->nrows == intervals->cap)
	{
		intervals->cap = intervals->cap ? intervals->cap * 2 : 2;
		intervals->rows = intervals->rows ?
			repalloc(intervals->rows, sizeof(CcRow) * intervals->cap) :
			palloc(sizeof(CcRow) * intervals->cap);
		intervals->state = intervals->state ?
			repalloc(intervals->state, sizeof(CcRowState) * intervals->cap) :
			palloc(sizeof(CcRowState) * intervals->cap);
	}
	cc_row_init(&intervals->rows[intervals->nrows], row->r);
	cc_row_copy(&intervals->rows[intervals->nrows], row);
	intervals->state[intervals->nrows++] = state;
	MemoryContextSwitchTo(old);
}

/*
 * Writes what the group's join and leave events changed in the participants
 * table, and forgets the intervals.
 */
static void
cc_flush_intervals(CcGroup *group, CcStore *store)
{
	cc_point_intervals(group, store);
	for (int i = 0; i < group->nnames; i++)
	{
		CcNameIntervals *intervals = &group->names[i];

		for (int j = 0; j < intervals->nrows; j++)
		{
			if (intervals->state[j] == ROW_NEW)
				cc_insert(store, &intervals->rows[j]);
			else if (intervals->state[j] == ROW_CHANGED)
				cc_update(store, &intervals->rows[j]);
		}
	}
	/* The rows stay in the group's memory until it ends; only what they take is small. */
	group->nnames = 0;
}

/* The name's intervals in the session id, read from the table on first use in the group. */
static CcNameIntervals *
cc_name_intervals(CcEventApply *apply, Datum name)
{
	CcGroup    *group = apply->group;
	CcRel	   *participants = cc_rel(apply->store, CC_PARTICIPANTS);
	CcKey		keys[3] = {CC_KEY_EQ(P_APP, apply->app), CC_KEY_EQ(P_SESSION, apply->session),
	CC_KEY_EQ(P_NAME, name)};
	CcNameIntervals *intervals;
	CcScan		scan;
	MemoryContext old;

	if (group->nnames > 0 &&
		(!cc_texts_equal(group->names_app, apply->app) ||
		 !cc_texts_equal(group->names_session, apply->session)))
		cc_flush_intervals(group, apply->store);
	for (int i = 0; i < group->nnames; i++)
		if (cc_texts_equal(group->names[i].name, name))
			return &group->names[i];
	if (group->nnames == CC_MAX_CACHED_NAMES)
		cc_flush_intervals(group, apply->store);

	old = MemoryContextSwitchTo(group->cxt);
	if (group->nnames == 0)
	{
		group->names_app = datumCopy(apply->app, false, -1);
		group->names_session = datumCopy(apply->session, false, -1);
		group->names_store = apply->store->generation;
	}
	if (group->nnames == group->names_cap)
	{
		group->names_cap = group->names_cap ? group->names_cap * 2 : 8;
		group->names = group->names ? repalloc(group->names, sizeof(CcNameIntervals) * group->names_cap)
			: palloc(sizeof(CcNameIntervals) * group->names_cap);
	}
	intervals = &group->names[group->nnames++];
	memset(intervals, 0, sizeof(*intervals));
	intervals->name = datumCopy(name, false, -1);
	MemoryContextSwitchTo(old);

	cc_scan_begin(&scan, participants, 3, keys, -1, ForwardScanDirection);
	while (cc_scan_next(&scan))
	{
		CcRow		row;

		cc_row_from_scan(&row, &scan);
		cc_keep_interval(group, intervals, &row, ROW_CLEAN);
	}
	cc_scan_end(&scan);
	return intervals;
}

/* Merges what an event tells of an interval (mine) into its row. */
static bool
merge_interval(CcRow *row, CcRow *mine)
{
	static const int greatest[] = {P_PLATFORM, P_SDK, P_SDK_VERSION};
	bool		changed;

	changed = cc_merge_sourced(row, P_LEFT, P_LEFT_FROM, CC_GET(mine, P_LEFT), CC_ISNULL(mine, P_LEFT),
							CC_GET(mine, P_LEFT_FROM), CC_ISNULL(mine, P_LEFT_FROM));
	changed |= cc_merge_sourced(row, P_AUDIO, P_AUDIO_FROM, CC_GET(mine, P_AUDIO),
								CC_ISNULL(mine, P_AUDIO), CC_GET(mine, P_AUDIO_FROM),
								CC_ISNULL(mine, P_AUDIO_FROM));
	for (int i = 0; i < lengthof(greatest); i++)
		changed |= cc_merge_greatest(row, greatest[i], CC_GET(mine, greatest[i]),
									 CC_ISNULL(mine, greatest[i]));
	return changed;
}

/*
 * One join interval: find its instance, merge the interval, and when the
 * interval is new and its name is new to the instance (to the session id),
 * count it there (on the call).
 */
static void
apply_interval(CcEventApply *apply, const CcInterval *iv, bool defer_peak)
{
	CcEvent    *ev = apply->ev;
	CcRel	   *participants = cc_rel(apply->store, CC_PARTICIPANTS);
	Datum		name = PointerGetDatum(cstring_to_text_with_len(iv->name, iv->name_len));
	Datum		joined = cc_time_datum(iv->joined_at);
	Datum		source = cc_enum_column_value(participants, P_LEFT_FROM, iv->source);
	Datum		instance = (Datum) 0;
	bool		ended = false;
	bool		has_instance = cc_instance_at(apply, joined, &instance, &ended);
	CcNameIntervals *intervals = cc_name_intervals(apply, name);
	CcRow		mine;			/* the interval as this event tells it */
	int			found = -1;
	bool		new_in_instance = true;
	bool		new_in_session = true;

	cc_row_init(&mine, participants);
	CC_SET(&mine, P_APP, apply->app, false);
	CC_SET(&mine, P_SESSION, apply->session, false);
	CC_SET(&mine, P_INSTANCE, instance, !has_instance);
	CC_SET(&mine, P_NAME, name, false);
	CC_SET(&mine, P_JOINED, joined, false);
	if (iv->has_left)
	{
		CC_SET(&mine, P_LEFT, cc_time_datum(iv->left_at), false);
		CC_SET(&mine, P_LEFT_FROM, source, false);
	}
	if (iv->has_audio)
	{
		CC_SET(&mine, P_AUDIO, BoolGetDatum(iv->audio_only), false);
		CC_SET(&mine, P_AUDIO_FROM, source, false);
	}
	if (ev->spec->shape == SHAPE_JOIN)
	{
		cc_row_set_text(&mine, P_PLATFORM, &ev->v[SLOT_PLATFORM]);
		cc_row_set_text(&mine, P_SDK, &ev->v[SLOT_SDK]);
		cc_row_set_text(&mine, P_SDK_VERSION, &ev->v[SLOT_SDK_VERSION]);
	}

	/* The name's intervals: this one, if known, and whether there are others. */
	for (int i = 0; i < intervals->nrows; i++)
	{
		CcRow	   *other = &intervals->rows[i];

		if (DatumGetTimestampTz(CC_GET(other, P_JOINED)) == DatumGetTimestampTz(joined))
		{
			found = i;
			continue;
		}
		new_in_session = false;
		if (has_instance && !CC_ISNULL(other, P_INSTANCE) &&
			DatumGetTimestampTz(CC_GET(other, P_INSTANCE)) == DatumGetTimestampTz(instance))
			new_in_instance = false;
	}

	if (found >= 0)
	{
		CcRow		row;

		/* Merged in the event's memory, kept in the group's. */
		cc_row_init(&row, participants);
		cc_row_copy(&row, &intervals->rows[found]);
		if (merge_interval(&row, &mine))
		{
			cc_row_copy(&intervals->rows[found], &row);
			if (intervals->state[found] == ROW_CLEAN)
				intervals->state[found] = ROW_CHANGED;
		}
	}
	else
	{
		cc_keep_interval(apply->group, intervals, &mine, ROW_NEW);

		/* A name new to the instance (to the session id) counts there (on the call). */
		if (has_instance && new_in_instance)
			cc_count_on_instance(apply, instance, S_PCOUNT);
		if (new_in_session)
			cc_count_on_call(apply);
	}

	if (has_instance && ended && !defer_peak)
		cc_recompute_peak(apply, instance);
}

static void
cc_apply_participant_event(CcEventApply *apply)
{
	CcEvent    *ev = apply->ev;
	CcInterval	iv = {0};

	iv.name = ev->v[SLOT_NAME].str;
	iv.name_len = ev->v[SLOT_NAME].len;
	iv.joined_at = ev->v[SLOT_JOINED_AT].num;
	iv.has_left = ev->v[SLOT_LEFT_AT].present;
	iv.left_at = ev->v[SLOT_LEFT_AT].num;
	iv.source = ev->spec->shape == SHAPE_JOIN ? "join_event" : "leave_event";
	/* The client's own setting says more than the occupant summary. */
	if (ev->v[SLOT_AUDIO_ONLY].present)
	{
		iv.has_audio = true;
		iv.audio_only = ev->v[SLOT_AUDIO_ONLY].flag;
	}
	else if (ev->v[SLOT_AUDIO_CALL].present)
	{
		iv.has_audio = true;
		iv.audio_only = ev->v[SLOT_AUDIO_CALL].flag;
	}
	apply_interval(apply, &iv, false);
}

static void
cc_apply_recording(CcEventApply *apply)
{
	CcEvent    *ev = apply->ev;
	CcRel	   *recordings = cc_rel(apply->store, CC_RECORDINGS);
	Datum		started = cc_time_datum(ev->v[SLOT_RECORDING_START].num);
	Datum		instance = (Datum) 0;
	bool		ended;
	bool		has_instance = cc_instance_at(apply, started, &instance, &ended);
	Datum		duration = (Datum) 0;
	bool		no_duration = !ev->v[SLOT_RECORDING_DURATION].present;
	Datum		url = PointerGetDatum(cc_value_text(&ev->v[SLOT_RECORDING_URL]));
	bool		no_date = !ev->v[SLOT_RECORDING_DATE].present;
	Datum		date = DateADTGetDatum((DateADT) ev->v[SLOT_RECORDING_DATE].num);
	CcKey		keys[3] = {CC_KEY_EQ(R_APP, apply->app), CC_KEY_EQ(R_SESSION, apply->session),
	CC_KEY_EQ(R_STARTED, started)};
	CcRow		mine;			/* the recording as this event tells it */
	CcRow		row;

	/* make_interval(secs => duration::float8) */
	if (!no_duration)
	{
		Datum		secs = DirectFunctionCall1(float8in,
											   CStringGetDatum(cc_value_cstring(&ev->v[SLOT_RECORDING_DURATION])));

		duration = DirectFunctionCall7(make_interval, Int32GetDatum(0), Int32GetDatum(0),
									   Int32GetDatum(0), Int32GetDatum(0), Int32GetDatum(0),
									   Int32GetDatum(0), secs);
	}

	cc_row_init(&mine, recordings);
	CC_SET(&mine, R_APP, apply->app, false);
	CC_SET(&mine, R_SESSION, apply->session, false);
	CC_SET(&mine, R_INSTANCE, instance, !has_instance);
	CC_SET(&mine, R_STARTED, started, false);
	CC_SET(&mine, R_DURATION, duration, no_duration);
	CC_SET(&mine, R_URL, url, false);
	CC_SET(&mine, R_DATE, date, no_date);

	if (cc_fetch(&row, recordings, 3, keys, -1, ForwardScanDirection))
	{
		/* The same recording again: each fact merges by GREATEST. */
		static const int facts[] = {R_DURATION, R_URL, R_DATE};
		bool		changed = false;

		for (int i = 0; i < lengthof(facts); i++)
			changed |= cc_merge_greatest(&row, facts[i], CC_GET(&mine, facts[i]),
										 CC_ISNULL(&mine, facts[i]));
		if (changed)
			cc_update(apply->store, &row);
		return;
	}
	cc_insert(apply->store, &mine);
	if (has_instance)
		cc_count_on_instance(apply, instance, S_RCOUNT);
}

/* ---------------------------------------------------------------------- */
/* Session instances                                                       */
/* ---------------------------------------------------------------------- */

typedef struct CcAdoption
{
	int			time_col;
	int			inst_col;
	TimestampTz from;			/* the new instance's start */
	bool		first;			/* it is the first instance */
	bool		has_next;
	TimestampTz next;			/* the next instance's start */
	const CcGroup *kept;		/* the rows of names it keeps are moved there */
} CcAdoption;

/* Whether a row at t, of instance inst, is in the new instance's range and not in it yet. */
static bool
adoption_covers(const CcAdoption *adoption, TimestampTz t, Datum inst, bool inst_null)
{
	if (!(t >= adoption->from || adoption->first) || (adoption->has_next && t >= adoption->next))
		return false;
	return inst_null || DatumGetTimestampTz(inst) != adoption->from;
}

static bool
scan_row_adoptable(CcScan *scan, void *arg)
{
	CcAdoption *adoption = arg;
	bool		isnull;
	TimestampTz t = DatumGetTimestampTz(cc_scan_get(scan, adoption->time_col, &isnull));
	Datum		inst = cc_scan_get(scan, adoption->inst_col, &isnull);

	if (!adoption_covers(adoption, t, inst, isnull))
		return false;
	return !adoption->kept ||
		!cc_keeps_intervals_of_name(adoption->kept, cc_scan_get(scan, P_NAME, &isnull));
}

/*
 * The participants (recordings) of the session id in the time range of the
 * instance starting at started, up to the next instance's start (all before
 * it too, for a first instance), move to that instance.  Returns how many
 * moved.
 */
static int
adopt_rows(CcEventApply *apply, CcRelId id, Datum started, bool first, bool has_next, Datum next)
{
	bool		is_participants = id == CC_PARTICIPANTS;
	CcAdoption	adoption = {is_participants ? P_JOINED : R_STARTED,
		is_participants ? P_INSTANCE : R_INSTANCE,
		DatumGetTimestampTz(started), first, has_next,
	has_next ? DatumGetTimestampTz(next) : 0, NULL};
	CcKey		keys[2] = {CC_KEY_EQ(is_participants ? P_APP : R_APP, apply->app),
	CC_KEY_EQ(is_participants ? P_SESSION : R_SESSION, apply->session)};
	CcGroup    *group = apply->group;
	CcRow	   *rows;
	int			n;
	int			moved = 0;

	/* The intervals the group keeps move in memory (an instance is a timestamp: by value). */
	if (is_participants && cc_keeps_intervals_of(group, apply->app, apply->session))
	{
		adoption.kept = group;
		for (int i = 0; i < group->nnames; i++)
			for (int j = 0; j < group->names[i].nrows; j++)
			{
				CcRow	   *row = &group->names[i].rows[j];

				if (!adoption_covers(&adoption, DatumGetTimestampTz(CC_GET(row, P_JOINED)),
							CC_GET(row, P_INSTANCE), CC_ISNULL(row, P_INSTANCE)))
					continue;
				CC_SET(row, P_INSTANCE, started, false);
				if (group->names[i].state[j] == ROW_CLEAN)
					group->names[i].state[j] = ROW_CHANGED;
				moved++;
			}
	}
	n = cc_fetch_all(&rows, cc_rel(apply->store, id), 2, keys, -1, scan_row_adoptable, &adoption);
	for (int i = 0; i < n; i++)
	{
		CC_SET(&rows[i], adoption.inst_col, started, false);
		cc_update(apply->store, &rows[i]);
	}
	return moved + n;
}

/*
 * A start or end event: creates or widens its instance.  A new instance
 * takes the participants and recordings in its time range from the instance
 * before it (or from none), and both are recounted.
 */
static void
cc_apply_instance(CcEventApply *apply)
{
	CcEvent    *ev = apply->ev;
	CcRel	   *sessions = cc_rel(apply->store, CC_SESSIONS);
	bool		is_end = ev->spec->shape == SHAPE_END;
	Datum		started = cc_time_datum(ev->v[SLOT_CREATED_AT].num);
	Datum		ended_at = is_end ? cc_time_datum(ev->v[SLOT_DESTROYED_AT].num) : (Datum) 0;
	Datum		mode = cc_enum_column_value(sessions, S_MODE,
											ev->spec->flow == FLOW_RINGING ? "call" : "meet");
	CcRow		row;
	bool		is_new = !cc_fetch_instance(apply, started, &row);
	bool		end_changed = false;

	/* Its instance, or its end, is about to change. */
	apply->group->instances_valid = false;

	if (is_new)
	{
		cc_row_init(&row, sessions);
		CC_SET(&row, S_APP, apply->app, false);
		CC_SET(&row, S_SESSION, apply->session, false);
		CC_SET(&row, S_STARTED, started, false);
		CC_SET(&row, S_MODE, mode, false);
		CC_SET(&row, S_ENDED, ended_at, !is_end);
		CC_SET(&row, S_PCOUNT, Int32GetDatum(0), false);
		CC_SET(&row, S_RCOUNT, Int32GetDatum(0), false);
		cc_insert(apply->store, &row);
	}
	else
	{
		bool		changed = cc_merge_least(&row, S_MODE, mode, false);

		end_changed = cc_merge_greatest(&row, S_ENDED, ended_at, !is_end);
		if (changed || end_changed)
			cc_update(apply->store, &row);
	}

	if (ev->spec->flow == FLOW_RINGING && (cc_call_known_to_exist(apply) || cc_fetch_call(apply)))
	{
		cc_call_time(apply, C_STARTED, started);
		if (is_end)
			cc_call_time(apply, C_ENDED, ended_at);
	}

	if (is_new)
	{
		Datum		prev = (Datum) 0;
		Datum		next = (Datum) 0;
		bool		has_prev = neighbouring_instance(apply, started, BackwardScanDirection, &prev);
		bool		has_next = neighbouring_instance(apply, started, ForwardScanDirection, &next);
		int			moved;

		moved = adopt_rows(apply, CC_PARTICIPANTS, started, !has_prev, has_next, next);
		moved += adopt_rows(apply, CC_RECORDINGS, started, !has_prev, has_next, next);
		if (moved > 0)
		{
			/* Rows came from the instance before, or, for a new first instance, the one after. */
			cc_recount_instance(apply, started);
			if (has_prev)
			{
				cc_recount_instance(apply, prev);
				cc_recompute_peak(apply, prev);
			}
			else if (has_next)
			{
				cc_recount_instance(apply, next);
				cc_recompute_peak(apply, next);
			}
		}
	}

	if (is_end)
	{
		for (int i = 0; i < ev->noccupants; i++)
		{
			const CcOccupant *occ = &ev->occupants[i];
			CcInterval	iv = {occ->name, occ->name_len, occ->joined_at, occ->has_left,
			occ->left_at, "end_event", occ->has_audio, occ->audio_call};

			apply_interval(apply, &iv, true);
		}
	}
	/* Only an ended instance has a peak: a start event cannot end one. */
	if (is_end && (is_new || end_changed || ev->noccupants > 0))
		cc_recompute_peak(apply, started);
}

/* ---------------------------------------------------------------------- */
/* Ringing calls and their outcomes                                        */
/* ---------------------------------------------------------------------- */

/*
 * Several call_initiated messages may name one call (one session id).  The
 * row takes its facts from one of them, by a total order: the shortest
 * message id, then the smallest, then the earliest sentAt, then the rest.
 * As a SQL row comparison: a NULL met before the first difference decides
 * nothing (false).
 */
static const int call_order[] = {C_CALL, C_INITIATED, C_CONVERSATION, C_CALLER, C_RECEIVER,
C_RECEIVER_TYPE, C_MEDIA};

static bool
call_precedes(CcRow *a, CcRow *b)
{
	int32		la;
	int32		lb;

	if (CC_ISNULL(a, C_CALL) || CC_ISNULL(b, C_CALL))
		return false;
	la = text_length(CC_GET(a, C_CALL));
	lb = text_length(CC_GET(b, C_CALL));
	if (la != lb)
		return la < lb;
	for (int i = 0; i < lengthof(call_order); i++)
	{
		int			col = call_order[i];
		int			c;

		if (CC_ISNULL(a, col) || CC_ISNULL(b, col))
			return false;
		c = cc_column_cmp(a->r, col, CC_GET(a, col), CC_GET(b, col));
		if (c != 0)
			return c < 0;
	}
	return false;
}

/*
 * The call an outcome sent at t in this conversation belongs to: the one
 * initiated last at or before t, within the outcome window; among calls
 * initiated in the same second, the longest, then greatest, message id.
 */
static bool
outcome_target(CcEventApply *apply, Datum conversation, Datum t, Datum *call_id)
{
	CcRel	   *calls = cc_rel(apply->store, CC_CALLS);
	CcKey		keys[4] = {CC_KEY_EQ(C_CONVERSATION, conversation), CC_KEY_EQ(C_APP, apply->app),
		{C_INITIATED, BTLessEqualStrategyNumber, t},
	{C_INITIATED, BTGreaterEqualStrategyNumber,
	TimestampTzGetDatum(DatumGetTimestampTz(t) - outcome_window())}};
	CcScan		scan;
	bool		found = false;
	TimestampTz best_at = 0;

	cc_scan_begin(&scan, calls, 4, keys, C_INITIATED, BackwardScanDirection);
	while (cc_scan_next(&scan))
	{
		bool		isnull;
		Datum		id = cc_scan_get(&scan, C_CALL, &isnull);
		TimestampTz at;

		if (isnull)
			continue;
		at = DatumGetTimestampTz(cc_scan_get(&scan, C_INITIATED, &isnull));
		if (found && at != best_at)
			break;
		if (found)
		{
			int32		l = text_length(id);
			int32		lbest = text_length(*call_id);

			if (l < lbest || (l == lbest && cc_column_cmp(calls, C_CALL, id, *call_id) <= 0))
				continue;
			pfree(DatumGetPointer(*call_id));
		}
		*call_id = datumCopy(id, false, -1);
		best_at = at;
		found = true;
	}
	cc_scan_end(&scan);
	return found;
}

/* The outcome rows linked to a call. */
static int
linked_outcomes(CcEventApply *apply, Datum call_id, CcRow **rows)
{
	CcKey		keys[2] = {CC_KEY_EQ(O_LINKED, call_id), CC_KEY_EQ(O_APP, apply->app)};

	return cc_fetch_all(rows, cc_rel(apply->store, CC_OUTCOMES), 2, keys, -1, NULL, NULL);
}

/* The rows of calls with this message id (linked to a session or not). */
static int
calls_by_id(CcEventApply *apply, Datum call_id, CcRow **rows)
{
	CcKey		keys[2] = {CC_KEY_EQ(C_CALL, call_id), CC_KEY_EQ(C_APP, apply->app)};

	return cc_fetch_all(rows, cc_rel(apply->store, CC_CALLS), 2, keys, -1, NULL, NULL);
}

/* The call's outcome is this outcome row (NULL: none). */
static bool
merge_outcome(CcRow *call, void *arg)
{
	CcRow	   *outcome = arg;

	return cc_set_column(call, C_OUTCOME, outcome ? CC_GET(outcome, O_OUTCOME) : (Datum) 0,
						 outcome == NULL) |
		cc_set_column(call, C_OUTCOME_AT, outcome ? CC_GET(outcome, O_SENT) : (Datum) 0,
					  outcome == NULL);
}

/* A call's outcome: the earliest outcome linked to it (by sent_at, then outcome). */
static void
recompute_call_outcome(CcEventApply *apply, Datum call_id)
{
	CcRow	   *outcomes;
	CcRow	   *calls;
	int			n = linked_outcomes(apply, call_id, &outcomes);
	int			ncalls = calls_by_id(apply, call_id, &calls);
	CcRow	   *first = NULL;

	for (int i = 0; i < n; i++)
	{
		CcRow	   *outcome = &outcomes[i];
		int			c;

		if (first == NULL)
		{
			first = outcome;
			continue;
		}
		c = cc_column_cmp(outcome->r, O_SENT, CC_GET(outcome, O_SENT), CC_GET(first, O_SENT));
		if (c < 0 ||
			(c == 0 && cc_column_cmp(outcome->r, O_OUTCOME, CC_GET(outcome, O_OUTCOME),
									 CC_GET(first, O_OUTCOME)) < 0))
			first = outcome;
	}
	for (int i = 0; i < ncalls; i++)
	{
		cc_update_merge(apply->store, &calls[i], merge_outcome, first);
		apply->call_known = false;
	}
}

/*
 * The outcomes linked to a message that no call row is taken from any more
 * look for their call again.
 */
static void
retarget_outcomes(CcEventApply *apply, Datum old_call_id)
{
	CcRow	   *rows;
	int			n = linked_outcomes(apply, old_call_id, &rows);

	for (int i = 0; i < n; i++)
	{
		CC_SET(&rows[i], O_LINKED, (Datum) 0, true);
		cc_update(apply->store, &rows[i]);
	}
	for (int i = 0; i < n; i++)
	{
		Datum		call_id;

		if (!outcome_target(apply, CC_GET(&rows[i], O_CONVERSATION), CC_GET(&rows[i], O_SENT), &call_id))
			continue;
		CC_SET(&rows[i], O_LINKED, call_id, false);
		cc_update(apply->store, &rows[i]);
		recompute_call_outcome(apply, call_id);
	}
	recompute_call_outcome(apply, old_call_id);
}

/*
 * The latest initiated_at of the calls with this message id; false when
 * there is none, or when one is NULL (ORDER BY initiated_at DESC puts NULLs
 * first).
 */
static bool
call_initiated_at(CcEventApply *apply, Datum call_id, TimestampTz *at)
{
	CcRow	   *calls;
	int			n = calls_by_id(apply, call_id, &calls);

	for (int i = 0; i < n; i++)
	{
		TimestampTz t;

		if (CC_ISNULL(&calls[i], C_INITIATED))
			return false;
		t = DatumGetTimestampTz(CC_GET(&calls[i], C_INITIATED));
		if (i == 0 || t > *at)
			*at = t;
	}
	return n > 0;
}

/* (a_at, length(a), a) < (b_at, length(b), b) */
static bool
link_precedes(CcRel *outcomes, TimestampTz a_at, Datum a, TimestampTz b_at, Datum b)
{
	int32		la = text_length(a);
	int32		lb = text_length(b);

	if (a_at != b_at)
		return a_at < b_at;
	if (la != lb)
		return la < lb;
	return cc_column_cmp(outcomes, O_LINKED, a, b) < 0;
}

typedef struct CcRelink
{
	CcEventApply *apply;
	TimestampTz initiated;
	Datum		call_id;
} CcRelink;

/* An outcome linked to no call, or to a call that this one follows. */
static bool
relinkable(CcScan *scan, void *arg)
{
	CcRelink   *relink = arg;
	bool		isnull;
	Datum		old = cc_scan_get(scan, O_LINKED, &isnull);
	TimestampTz old_at = 0;

	return isnull ||
		(call_initiated_at(relink->apply, old, &old_at) &&
		 link_precedes(scan->r, old_at, old, relink->initiated, relink->call_id));
}

/*
 * The outcomes in the window of a call that now wins them move to it: those
 * linked to no call, or to a call that precedes it.  Their old calls and this
 * one take their outcome again.
 */
static void
relink_outcomes(CcEventApply *apply, Datum conversation, Datum initiated, Datum call_id)
{
	TimestampTz t = DatumGetTimestampTz(initiated);
	CcKey		keys[4] = {CC_KEY_EQ(O_CONVERSATION, conversation), CC_KEY_EQ(O_APP, apply->app),
		{O_SENT, BTGreaterEqualStrategyNumber, initiated},
	{O_SENT, BTLessEqualStrategyNumber, TimestampTzGetDatum(t + outcome_window())}};
	CcRelink	l = {apply, t, call_id};
	CcRow	   *moved;
	int			n = cc_fetch_all(&moved, cc_rel(apply->store, CC_OUTCOMES), 4, keys, O_SENT,
								 relinkable, &l);

	/* Each old call takes its outcome again once this one moved away. */
	for (int i = 0; i < n; i++)
	{
		bool		had_call = !CC_ISNULL(&moved[i], O_LINKED);
		Datum		old = CC_GET(&moved[i], O_LINKED);

		CC_SET(&moved[i], O_LINKED, call_id, false);
		cc_update(apply->store, &moved[i]);
		if (had_call)
			recompute_call_outcome(apply, old);
	}
	if (n > 0)
		recompute_call_outcome(apply, call_id);
}

/*
 * The row's facts are this message's, when it precedes the one they were
 * taken from.  (Only call_initiated events change them, under the locks of
 * the call's ids; an update met concurrently changed counts, times or the
 * outcome.)
 */
static bool
merge_call_facts(CcRow *row, void *arg)
{
	static const int facts[] = {C_CALL, C_CONVERSATION, C_CALLER, C_RECEIVER,
	C_RECEIVER_TYPE, C_MEDIA, C_INITIATED};
	CcRow	   *mine = arg;

	if (!CC_ISNULL(row, C_CALL) && !call_precedes(mine, row))
		return false;
	for (int i = 0; i < lengthof(facts); i++)
		CC_SET(row, facts[i], CC_GET(mine, facts[i]), CC_ISNULL(mine, facts[i]));
	return true;
}

static void
cc_apply_call_initiated(CcEventApply *apply)
{
	CcEvent    *ev = apply->ev;
	CcRel	   *calls = cc_rel(apply->store, CC_CALLS);
	bool		linked = ev->v[SLOT_SESSION].present;
	Datum		call_id = PointerGetDatum(cc_value_text(&ev->v[SLOT_CALL_ID]));
	Datum		initiated = cc_time_datum(ev->v[SLOT_SENT_AT].num);
	Datum		conversation = PointerGetDatum(cc_value_text(&ev->v[SLOT_CONVERSATION]));
	CcRow		mine;
	CcRow		row;
	bool		found;
	bool		had_winner = false;
	Datum		old_call_id = (Datum) 0;
	TimestampTz old_initiated = 0;

	cc_row_init(&mine, calls);
	CC_SET(&mine, C_APP, apply->app, false);
	CC_SET(&mine, C_SESSION, apply->session, !linked);
	CC_SET(&mine, C_CALL, call_id, false);
	CC_SET(&mine, C_CONVERSATION, conversation, false);
	cc_row_set_text(&mine, C_CALLER, &ev->v[SLOT_SENDER]);
	cc_row_set_text(&mine, C_RECEIVER, &ev->v[SLOT_RECEIVER]);
	cc_row_set_text(&mine, C_RECEIVER_TYPE, &ev->v[SLOT_RECEIVER_TYPE]);
	cc_row_set_text(&mine, C_MEDIA, &ev->v[SLOT_MEDIA]);
	CC_SET(&mine, C_INITIATED, initiated, false);
	CC_SET(&mine, C_PCOUNT, Int32GetDatum(0), false);

	/* The row of this call, and the message it was taken from until now. */
	if (linked)
	{
		CcRow	   *call = cc_fetch_call(apply);

		found = call != NULL;
		if (found)
			row = *call;
		apply->call_known = false; /* written through row from here on */
	}
	else
	{
		CcKey		keys[2] = {CC_KEY_EQ(C_CALL, call_id), CC_KEY_EQ(C_APP, apply->app)};
		CcScan		scan;

		found = false;
		cc_scan_begin(&scan, calls, 2, keys, -1, ForwardScanDirection);
		while (!found && cc_scan_next(&scan))
		{
			bool		isnull;

			(void) cc_scan_get(&scan, C_SESSION, &isnull);
			if (isnull)
			{
				cc_row_from_scan(&row, &scan);
				found = true;
			}
		}
		cc_scan_end(&scan);
	}

	if (!found)
	{
		if (linked)
			CC_SET(&mine, C_PCOUNT, Int32GetDatum(cc_count_names(apply, NULL)), false);
		cc_insert(apply->store, &mine);
	}
	else
	{
		if (!CC_ISNULL(&row, C_CALL))
		{
			had_winner = true;
			old_call_id = CC_GET(&row, C_CALL);
			old_initiated = DatumGetTimestampTz(CC_GET(&row, C_INITIATED));
		}
		if (CC_ISNULL(&row, C_CALL) || call_precedes(&mine, &row))
			cc_update_merge(apply->store, &row, merge_call_facts, &mine);
		else
			return;				/* the row is taken from another message */
	}

	/* This message is the one the row is taken from: it takes the outcomes. */
	if (had_winner &&
		(!cc_texts_equal(old_call_id, call_id) || old_initiated != DatumGetTimestampTz(initiated)))
		retarget_outcomes(apply, old_call_id);
	relink_outcomes(apply, conversation, initiated, call_id);
}

static void
cc_apply_outcome(CcEventApply *apply)
{
	CcEvent    *ev = apply->ev;
	CcRel	   *outcomes = cc_rel(apply->store, CC_OUTCOMES);
	Datum		outcome_id = PointerGetDatum(cc_value_text(&ev->v[SLOT_CALL_ID]));
	Datum		conversation = PointerGetDatum(cc_value_text(&ev->v[SLOT_CONVERSATION]));
	Datum		sent = cc_time_datum(ev->v[SLOT_SENT_AT].num);
	CcKey		keys[2] = {CC_KEY_EQ(O_ID, outcome_id), CC_KEY_EQ(O_APP, apply->app)};
	CcRow		row;
	Datum		call_id = (Datum) 0;
	bool		linked;

	if (cc_fetch(&row, outcomes, 2, keys, -1, ForwardScanDirection))
		return;					/* the same outcome message, seen before */
	cc_row_init(&row, outcomes);
	CC_SET(&row, O_APP, apply->app, false);
	CC_SET(&row, O_ID, outcome_id, false);
	CC_SET(&row, O_CONVERSATION, conversation, false);
	/* checked: busy, cancelled, rejected or unanswered */
	CC_SET(&row, O_OUTCOME,
		   cc_enum_column_value(outcomes, O_OUTCOME, cc_value_cstring(&ev->v[SLOT_ACTION])), false);
	CC_SET(&row, O_SENT, sent, false);
	/* Linked to its call, unless its call_initiated has not arrived (yet). */
	linked = outcome_target(apply, conversation, sent, &call_id);
	CC_SET(&row, O_LINKED, call_id, !linked);
	cc_insert(apply->store, &row);
	if (linked)
		recompute_call_outcome(apply, call_id);
}

/* Every ringing session event belongs to a call, even before call_initiated. */
static void
cc_ensure_call(CcEventApply *apply)
{
	CcRow	   *row = &apply->call;

	if (cc_call_known_to_exist(apply))
		return;
	if (!cc_fetch_call(apply))
	{
		cc_row_init(row, cc_rel(apply->store, CC_CALLS));
		CC_SET(row, C_APP, apply->app, false);
		CC_SET(row, C_SESSION, apply->session, false);
		CC_SET(row, C_PCOUNT, Int32GetDatum(cc_count_names(apply, NULL)), false);
		cc_insert(apply->store, row);
		apply->call_found = true;
		cc_keep_call_row(apply, row);
	}
}

/* ---------------------------------------------------------------------- */

/* One event, its count additions and peaks left to the group. */
static void
apply_event(CcEvent *ev, Oid namespace, CcGroup *group)
{
	CcEventApply apply = {ev};
	CcKind		kind = ev->spec->kind;

	if (kind == CC_UNKNOWN)
		return;
	apply.group = group;

	apply.app = PointerGetDatum(cc_value_text(&ev->v[SLOT_APP]));
	if (ev->v[SLOT_SESSION].present)
		apply.session = PointerGetDatum(cc_value_text(&ev->v[SLOT_SESSION]));

	apply.store = cc_store_begin(namespace);
	cc_point_intervals(group, apply.store);
	if (ev->spec->shape != SHAPE_MESSAGE && ev->spec->flow == FLOW_RINGING)
		cc_ensure_call(&apply);

	switch (ev->spec->shape)
	{
		case SHAPE_MESSAGE:
			if (kind == CC_CALL_INITIATED)
				cc_apply_call_initiated(&apply);
			else
				cc_apply_outcome(&apply);
			break;
		case SHAPE_START:
		case SHAPE_END:
			cc_apply_instance(&apply);
			break;
		case SHAPE_JOIN:
		case SHAPE_LEAVE:
			cc_apply_participant_event(&apply);
			break;
		case SHAPE_RECORDING:
			cc_apply_recording(&apply);
			break;
		default:
			break;
	}

	/*
	 * A trigger on a lifecycle table may write participants rows, or read
	 * them: then none are kept from one event to the next.
	 */
	if (apply.store->lifecycle_triggers)
		cc_flush_intervals(group, apply.store);
	cc_store_end(apply.store);
}

/*
 * Applies accepted events to the lifecycle tables of the given schema (the
 * ledger's); the caller holds their locks (cc_lifecycle_lock_all).  Events
 * given together share their id (cc_lifecycle_group), so what they add to
 * one row's counts, and the peaks they change, are written once, after the
 * last of them.
 */
void
cc_lifecycle_apply_many(CcEvent **evs, int n, Oid namespace)
{
	MemoryContext group_cxt = AllocSetContextCreate(CurrentMemoryContext, "cometchat lifecycle group",
												ALLOCSET_SMALL_SIZES);
	MemoryContext per_event = AllocSetContextCreate(group_cxt, "cometchat lifecycle event",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	CcGroup		group = {group_cxt};

	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(per_event);
		apply_event(evs[i], namespace, &group);
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_event);
	}
	old = MemoryContextSwitchTo(per_event);
	cc_flush_group(&group, namespace);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(group_cxt);
}

void
cc_lifecycle_apply(CcEvent *ev, Oid namespace)
{
	cc_lifecycle_lock_all(&ev, 1);
	cc_lifecycle_apply_many(&ev, 1, namespace);
}

/*
 * Replays the whole ledger, in id order, through cc_lifecycle_apply.  Called
 * by cometchat.rebuild() after it emptied the lifecycle tables.
 */
Datum
cc_replay(PG_FUNCTION_ARGS)
{
	Oid			namespace = get_func_namespace(fcinfo->flinfo->fn_oid);
	MemoryContext per_event = AllocSetContextCreate(CurrentMemoryContext,
													"cometchat replay",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	Portal		portal;
	int64		replayed = 0;

	cc_citus_guard(NULL);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT payload FROM cometchat.events ORDER BY id",
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPITupleTable *batch;
		uint64		n;

		SPI_cursor_fetch(portal, true, 1000);
		batch = SPI_tuptable;
		n = SPI_processed;
		if (n == 0)
			break;
		for (uint64 i = 0; i < n; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(batch->vals[i], batch->tupdesc, 1, &isnull);
			CcEvent		ev;

			CHECK_FOR_INTERRUPTS();
			old = MemoryContextSwitchTo(per_event);
			cc_analyze(DatumGetJsonbP(d), &ev);
			if (ev.nproblems == 0)
			{
				cc_lifecycle_apply(&ev, namespace);
				replayed++;
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(per_event);
		}
		SPI_freetuptable(batch);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(per_event);
	PG_RETURN_INT64(replayed);
}
