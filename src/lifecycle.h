/*
 * lifecycle.h
 *		What the lifecycle files share (lifecycle*.c; see lifecycle.c).
 */
#ifndef COMETCHAT_LIFECYCLE_H
#define COMETCHAT_LIFECYCLE_H

#include "cometchat.h"
#include "store.h"

#include "fmgr.h"
#include "utils/timestamp.h"

/*
 * Writes that wait for the end of a group of events (cc_lifecycle_apply_many):
 * counts to add to a sessions or calls row (a meeting's joins then write its
 * instance's and its call's counts once, not once per join), a call's start
 * and end (its session's earliest start, latest end: nothing reads them
 * before), and instances whose peak_participants is to be recomputed (col
 * S_PEAK).  A call's writes are made in one update.  Rows are named by their
 * keys, copied into the group's memory.  last_event_at (S_LAST, C_LAST) is
 * merged by GREATEST, or (an instance whose rows moved, or whose interval
 * lost a later left_at) recomputed from its rows at the flush.
 */
typedef struct CcPendingWrite
{
	CcRelId		rel;			/* CC_SESSIONS or CC_CALLS */
	int			col;			/* S_PCOUNT, S_RCOUNT, S_PEAK, S_LAST, C_PCOUNT,
								 * C_STARTED, C_ENDED or C_LAST */
	Datum		app;
	Datum		session;
	TimestampTz started;		/* sessions: the instance */
	int32		delta;			/* S_PEAK, S_LAST, C_STARTED, C_ENDED, C_LAST: 1 when
								 * wanted (S_PEAK: the peak, once cc_flush_group
								 * computed it; S_LAST: CC_LAST_RECOMPUTE) */
	TimestampTz at;				/* C_STARTED: the earliest; C_ENDED, S_LAST, C_LAST:
								 * the latest */
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

/*
 * One event being applied.  cc_flush_group uses one without an event, to
 * look up the rows its pending writes are on.
 */
typedef struct CcEventApply
{
	/* Unchanging while the event is applied */
	CcEvent    *ev;
	CcStore    *store;
	Datum		app;
	Datum		session;		/* (Datum) 0: the event has none */
	CcGroup    *group;

	/* The calls row of the session id, once looked up (see cc_fetch_call) */
	bool		call_known;
	bool		call_found;
	CcRow		call;
} CcEventApply;

/* delta of an S_LAST write: recompute it from the instance's rows. */
#define CC_LAST_RECOMPUTE 2

/* A scan key of the store: col = v. */
#define CC_KEY_EQ(col, v)	{(col), BTEqualStrategyNumber, (v)}

/* The timestamptz of unix seconds. */
static inline Datum
cc_time_datum(int64 secs)
{
	return TimestampTzGetDatum(cc_unix_to_timestamptz(secs));
}

/* The event's own time (the ledger's occurred_at); false when it has none. */
static inline bool
cc_event_time(const CcEvent *ev, Datum *t)
{
	CcSlot		slot = cc_shape_keys[ev->spec->shape].occurred_at;

	if (slot == SLOT_NONE || !ev->v[slot].present)
		return false;
	*t = cc_time_datum(ev->v[slot].num);
	return true;
}

/* Whether the table has the column (an optional one: a catalog before 1.5). */
static inline bool
cc_has_col(const CcRel *r, int col)
{
	return r->att[col] >= 0;
}

/* Whether two texts are the same bytes (ids and names: no collation). */
static inline bool
cc_texts_equal(Datum a, Datum b)
{
	text	   *ta = DatumGetTextPP(a);
	text	   *tb = DatumGetTextPP(b);

	return VARSIZE_ANY_EXHDR(ta) == VARSIZE_ANY_EXHDR(tb) &&
		memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), VARSIZE_ANY_EXHDR(ta)) == 0;
}

/* lifecycle_merge.c */
extern Datum cc_enum_column_value(CcRel *r, int col, const char *label);
extern int	cc_column_cmp(CcRel *r, int col, Datum a, Datum b);
extern bool cc_set_column(CcRow *row, int col, Datum v, bool isnull);
extern bool cc_merge_greatest(CcRow *row, int col, Datum v, bool isnull);
extern bool cc_merge_least(CcRow *row, int col, Datum v, bool isnull);
extern bool cc_merge_sourced(CcRow *row, int col, int src_col, Datum v, bool isnull,
							 Datum src, bool src_null);
extern void cc_row_set_text(CcRow *row, int col, const CcValue *v);

/* lifecycle_group.c */
extern bool cc_keeps_intervals_of(const CcGroup *group, Datum app, Datum session);
extern bool cc_keeps_intervals_of_name(const CcGroup *group, Datum name);
extern bool cc_instance_at(CcEventApply *apply, Datum t, Datum *started_at, bool *ended);
extern int32 cc_count_names(CcEventApply *apply, const Datum *instance);
extern bool cc_fetch_instance(CcEventApply *apply, Datum started_at, CcRow *row);
extern void cc_keep_call_row(CcEventApply *apply, CcRow *row);
extern CcRow *cc_fetch_call(CcEventApply *apply);
extern void cc_count_on_instance(CcEventApply *apply, Datum instance, int col);
extern bool cc_call_known_to_exist(CcEventApply *apply);
extern void cc_count_on_call(CcEventApply *apply);
extern void cc_call_time(CcEventApply *apply, int col, Datum t);
extern void cc_touch_call(CcEventApply *apply, Datum t);
extern void cc_touch_instance(CcEventApply *apply, Datum instance, Datum t);
extern void cc_recompute_last(CcEventApply *apply, Datum instance);
extern void cc_recount_instance(CcEventApply *apply, Datum instance);
extern void cc_recompute_peak(CcEventApply *apply, Datum instance);
extern void cc_flush_group(CcGroup *group, Oid namespace);
extern void cc_point_intervals(CcGroup *group, CcStore *store);
extern void cc_keep_interval(CcGroup *group, CcNameIntervals *intervals, CcRow *row,
							 CcRowState state);
extern void cc_flush_intervals(CcGroup *group, CcStore *store);
extern CcNameIntervals *cc_name_intervals(CcEventApply *apply, Datum name);

/* lifecycle_sessions.c */
extern void cc_apply_participant_event(CcEventApply *apply);
extern void cc_apply_recording(CcEventApply *apply);
extern void cc_apply_instance(CcEventApply *apply);

/* lifecycle_calls.c */
extern void cc_apply_call_initiated(CcEventApply *apply);
extern void cc_apply_outcome(CcEventApply *apply);
extern void cc_ensure_call(CcEventApply *apply);

#endif							/* COMETCHAT_LIFECYCLE_H */
