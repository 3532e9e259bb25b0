/*
 * lifecycle_group.c
 *		The write-behind engine: what the events of a group keep in memory
 *		(the session id's instances, its calls row, its names' intervals), the
 *		writes they leave pending, and the flush at the end of the group.
 *
 * The events of a group share their id and hold its lock: no other
 * transaction writes the session id's rows meanwhile (except a calls row,
 * see cc_update_merge), so what the group read stays true until the group
 * itself writes.  Kept rows are used while cc_writes() says the table has
 * had no other write and no trigger of a lifecycle table could have written
 * one; kept intervals are the name's rows, full stop, until the flush.  A
 * new store (store generation) only moves what the kept rows point into.
 */
#include "lifecycle.h"

#include "utils/datum.h"
#include "utils/memutils.h"

/* ---------------------------------------------------------------------- */
/* Kept rows: the session id's instances and its calls row                */
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
bool
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

bool
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
void
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
CcRow *
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

/* Whether the session id's calls row is known to exist, without a lookup. */
bool
cc_call_known_to_exist(CcEventApply *apply)
{
	return kept_call_row(apply) != NULL;
}

/* ---------------------------------------------------------------------- */
/* Kept intervals                                                         */
/* ---------------------------------------------------------------------- */

/* More names than this in one group are written and forgotten first. */
#define CC_MAX_CACHED_NAMES 256

/* Whether the group keeps intervals of this session id (CcNameIntervals). */
bool
cc_keeps_intervals_of(const CcGroup *group, Datum app, Datum session)
{
	return group->nnames > 0 && cc_texts_equal(group->names_session, session) &&
		cc_texts_equal(group->names_app, app);
}

/* Whether the group keeps this name's intervals (of its session id). */
bool
cc_keeps_intervals_of_name(const CcGroup *group, Datum name)
{
	for (int i = 0; i < group->nnames; i++)
		if (cc_texts_equal(group->names[i].name, name))
			return true;
	return false;
}

/*
 * Points the kept intervals' rows at the store's participants table: a
 * relcache invalidation since they were kept may have made a new store.
 */
void
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
void
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
void
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
CcNameIntervals *
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

/* ---------------------------------------------------------------------- */
/* Counting rows, and pending writes: counts, a call's times, peaks       */
/* ---------------------------------------------------------------------- */

/*
 * Distinct participant names of the session id, or of one of its instances
 * when instance is not NULL.
 */
int32
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
void
cc_count_on_instance(CcEventApply *apply, Datum instance, int col)
{
	pending_write(apply->group, CC_SESSIONS, col, apply->app, apply->session, instance, true)->delta++;
}

void
cc_count_on_call(CcEventApply *apply)
{
	if (cc_call_known_to_exist(apply) || cc_fetch_call(apply))
		pending_write(apply->group, CC_CALLS, C_PCOUNT, apply->app, apply->session, (Datum) 0,
					  true)->delta++;
}

/* A call starts with its first instance, ends with its last (at the end of the group). */
void
cc_call_time(CcEventApply *apply, int col, Datum t)
{
	CcPendingWrite *pending = pending_write(apply->group, CC_CALLS, col, apply->app, apply->session,
											(Datum) 0, true);
	TimestampTz at = DatumGetTimestampTz(t);

	if (!pending->delta || (col == C_STARTED ? at < pending->at : at > pending->at))
		pending->at = at;
	pending->delta = 1;
}

/*
 * last_event_at of the session id's call (C_LAST): the latest time of its
 * events, merged at the end of the group.
 */
void
cc_touch_call(CcEventApply *apply, Datum t)
{
	if (cc_has_col(cc_rel(apply->store, CC_CALLS), C_LAST))
		cc_call_time(apply, C_LAST, t);
}

/*
 * last_event_at of an instance (S_LAST): the latest of its rows' times
 * (started_at, ended_at, its intervals' joined_at and left_at, its
 * recordings' started_at).  A time added to it merges by GREATEST at the end
 * of the group, unless the instance is to be recomputed from its rows.
 */
void
cc_touch_instance(CcEventApply *apply, Datum instance, Datum t)
{
	CcPendingWrite *pending;
	TimestampTz at = DatumGetTimestampTz(t);

	if (!cc_has_col(cc_rel(apply->store, CC_SESSIONS), S_LAST))
		return;
	pending = pending_write(apply->group, CC_SESSIONS, S_LAST, apply->app, apply->session,
							instance, true);
	if (pending->delta == CC_LAST_RECOMPUTE)
		return;
	if (!pending->delta || at > pending->at)
		pending->at = at;
	pending->delta = 1;
}

/*
 * The instance lost rows, or a row's later time: its last_event_at is
 * recomputed from its rows at the end of the group (last_of).
 */
void
cc_recompute_last(CcEventApply *apply, Datum instance)
{
	if (cc_has_col(cc_rel(apply->store, CC_SESSIONS), S_LAST))
		pending_write(apply->group, CC_SESSIONS, S_LAST, apply->app, apply->session, instance,
					  true)->delta = CC_LAST_RECOMPUTE;
}

/* Rows move between instances: the counts and last_event_at follow them. */
void
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
	cc_recompute_last(apply, instance);
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

/*
 * last_event_at of an instance, from its row and the rows that belong to it
 * (see cc_touch_instance).
 */
static TimestampTz
last_of(CcEventApply *apply, CcRow *instance_row)
{
	Datum		instance = CC_GET(instance_row, S_STARTED);
	TimestampTz last = DatumGetTimestampTz(instance);
	static const CcRelId rels[] = {CC_PARTICIPANTS, CC_RECORDINGS};

	/* From the tables: cc_flush_group wrote the group's intervals first. */
	Assert(apply->group->nnames == 0);
	if (!CC_ISNULL(instance_row, S_ENDED))
		last = Max(last, DatumGetTimestampTz(CC_GET(instance_row, S_ENDED)));
	for (int i = 0; i < lengthof(rels); i++)
	{
		bool		is_participants = rels[i] == CC_PARTICIPANTS;
		CcKey		keys[2] = {CC_KEY_EQ(is_participants ? P_APP : R_APP, apply->app),
		CC_KEY_EQ(is_participants ? P_SESSION : R_SESSION, apply->session)};
		int			times[2] = {is_participants ? P_JOINED : R_STARTED, P_LEFT};
		CcScan		scan;

		cc_scan_begin(&scan, cc_rel(apply->store, rels[i]), 2, keys, -1, ForwardScanDirection);
		while (cc_scan_next(&scan))
		{
			bool		isnull;
			Datum		inst = cc_scan_get(&scan, is_participants ? P_INSTANCE : R_INSTANCE, &isnull);

			if (isnull || DatumGetTimestampTz(inst) != DatumGetTimestampTz(instance))
				continue;
			for (int j = 0; j < (is_participants ? 2 : 1); j++)
			{
				Datum		t = cc_scan_get(&scan, times[j], &isnull);

				if (!isnull)
					last = Max(last, DatumGetTimestampTz(t));
			}
		}
		cc_scan_end(&scan);
	}
	return last;
}

/* The instance's peak is recomputed at the end of the group (cc_flush_group). */
void
cc_recompute_peak(CcEventApply *apply, Datum instance)
{
	pending_write(apply->group, CC_SESSIONS, S_PEAK, apply->app, apply->session, instance,
				  true)->delta = 1;
}

/* ---------------------------------------------------------------------- */
/* The flush at the end of the group                                      */
/* ---------------------------------------------------------------------- */

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
		else if ((*pending)->rel == CC_SESSIONS && (*pending)->col == S_LAST)
			changed |= (*pending)->delta == CC_LAST_RECOMPUTE ?
				cc_set_column(row, S_LAST, at, false) :
				cc_merge_greatest(row, S_LAST, at, false);
		else if ((*pending)->rel == CC_SESSIONS || (*pending)->col == C_PCOUNT)
			changed |= merge_add(row, *pending);
		else if ((*pending)->col == C_STARTED)
			changed |= cc_merge_least(row, C_STARTED, at, false);
		else					/* C_ENDED, C_LAST */
			changed |= cc_merge_greatest(row, (*pending)->col, at, false);
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
void
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
				elog(ERROR, "a row of table \"%s\" to write on is gone",
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
			else if (row_writes[j]->col == S_LAST && row_writes[j]->rel == CC_SESSIONS &&
					 row_writes[j]->delta == CC_LAST_RECOMPUTE)
				row_writes[j]->at = last_of(&apply, &row);
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
