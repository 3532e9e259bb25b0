/*
 * lifecycle.c
 *		Keeps cometchat.sessions, calls, call_outcomes, participants and
 *		recordings up to date as events are accepted: each event goes to the
 *		rules of its kind, a group of events at a time.
 *
 * Wording.  The lifecycle code (lifecycle*.c) uses these words in these
 * senses only:
 *
 *	session id		CometChat's sessionId: a call or a meeting room, which may
 *					be started and ended more than once.
 *	instance		one run of a session id, from its start: one sessions row,
 *					(app_id, session_id, started_at).  Participants and
 *					recordings name theirs by its start (session_started_at).
 *	interval		one participants row: one name's stay, joined_at to left_at.
 *	adopt			when an event reveals a new instance, it adopts the
 *					participants and recordings in its time range: they move to
 *					it from the instance before it (for a new first instance,
 *					from the one after it), or from none.
 *	message id		the id of a call message: call_initiated or an outcome
 *					(busy, cancelled, rejected, unanswered).  A calls row is
 *					taken from one call_initiated message: the one that
 *					precedes the others of its call (call_precedes).
 *	link			an outcome row's linked_call_id: the message id of the call
 *					it belongs to, within the outcome window
 *					(cometchat.outcome_window).  Relink: outcomes move to a call
 *					that now wins them.  Retarget: the outcomes of a message no
 *					calls row is taken from any more look for their call again.
 *	merge			how every write combines the row's values with an event's:
 *					commutative and idempotent, so that the order and repetition
 *					of events change nothing (lifecycle_merge.c).  "mine" is a
 *					row as one event tells it, before it is merged.
 *	fact source		which kind of event told a fact (end, leave or join event):
 *					the stronger source wins (cometchat.fact_source).
 *	peak			peak_participants of an ended instance: the most intervals
 *					open at once.
 *	id lock			the advisory lock an id's rows are written under, by a
 *					64-bit hash of (app_id, id) (lifecycle_locks.c).
 *	claim			what stands for the id locks of a bulk load: a row of its
 *					own, uncommitted, in cometchat.lifecycle_claims.
 *	group			the events of a batch that share their id (the session id;
 *					for a call message without one, its conversation), applied
 *					one after the other with one CcGroup (lifecycle_group.c);
 *					rebuild()'s replay forms its groups as a bulk load does.
 *	kept rows		copies of rows the group read or wrote (the session id's
 *					instances, its calls row), used instead of a lookup while
 *					the table has had no other write (cc_writes).
 *	kept intervals	a name's intervals, read once by the group and changed in
 *					memory by its events (CcNameIntervals).
 *	pending write	a change the group makes once, for all its events: a count
 *					to add, a call's start or end, a peak to recompute
 *					(CcPendingWrite).
 *	flush			writing the kept intervals and the pending writes to the
 *					tables, at the end of the group; the kept intervals also
 *					when the group moves to another session id, and after each
 *					event when a lifecycle table has triggers.
 *	store			the transaction's open lifecycle tables, with their
 *					indexes and slots (store.c).
 *	store generation	which store a row was read through: a relcache
 *					invalidation makes a new store, and kept rows are pointed at
 *					it (CcStore.generation).
 *	event apply		one event being applied: the event, the store, its app and
 *					session id, and its group (CcEventApply).
 *
 * Each lifecycle row is a function of the set of its events, whatever order
 * they arrive in.  Every write is a merge: earliest start, latest end, the
 * stronger source of a fact, set union of intervals; counts move only when a
 * new member enters a set.  The few facts that depend on other rows are
 * recomputed from an index when those rows change:
 *
 *  - instance: a participant or recording belongs to the session instance
 *    with the latest started_at at or before its own time, or to the first
 *    instance when it is earlier than all of them (clocks disagree by a
 *    second).  When a start or end event reveals a new instance, it adopts
 *    the rows in its time range and the instances involved are recounted.
 *  - outcome: an outcome event belongs to the call of its conversation
 *    initiated last at or before it, within the outcome window.  When a
 *    call_initiated arrives, the outcomes in its window that belonged to an
 *    older call (or to none) are relinked to it; when it replaces the message
 *    a call row was taken from, that message's outcomes are retargeted.
 *  - peak_participants: recomputed from the instance's intervals when the
 *    instance has ended, and again if a late event changes an ended instance.
 *  - last_event_at of an instance: the latest of its started_at, ended_at,
 *    its intervals' joined_at and left_at and its recordings' started_at;
 *    merged by GREATEST, and recomputed from those rows when rows move to a
 *    new instance or an interval's left_at moves earlier (a stronger
 *    source).  A calls row's is the latest time of its call_initiated
 *    messages and its session's events, a plain GREATEST; outcome events do
 *    not move it (a relink would move it back).
 *
 * Writers of one session id, and of one conversation, are serialized by its
 * id lock, or a bulk load's claim of it (lifecycle_locks.c).  Every table's
 * rows are written under one id's lock, except a calls row: its session id's
 * events count on it and set its times, its conversation's outcome events
 * set its outcome.  Those writes go through cc_update_merge, which merges
 * again into the row's new version when the other writer got there first.
 *
 * Lookups are index scans and writes single-row inserts and updates, made
 * directly (store.c): no SQL statement is planned or started per event.  A
 * merge that changes nothing writes nothing.
 *
 * Where the rules are:
 *	lifecycle.c				an event to its rules; a group of events
 *	lifecycle_locks.c		the id locks and claims
 *	lifecycle_merge.c		the merge rules of one column
 *	lifecycle_group.c		the write-behind engine: kept rows, kept intervals,
 *							pending writes, the flush
 *	lifecycle_sessions.c	instances, participants, recordings
 *	lifecycle_calls.c		ringing calls and their outcomes
 *	lifecycle_replay.c		the replay behind cometchat.rebuild()
 */
#include "lifecycle.h"

#include "miscadmin.h"
#include "utils/memutils.h"

/* One event, its count additions and peaks left to the group. */
static void
apply_event(CcEvent *ev, Oid namespace, CcGroup *group)
{
	CcEventApply apply = {ev};
	CcKind		kind = ev->spec->kind;

	if (kind == CC_UNKNOWN)
		return;
	apply.group = group;
	cc_notify_event_time(cc_unix_to_timestamptz(ev->v[cc_shape_keys[ev->spec->shape].occurred_at].num));

	apply.app = PointerGetDatum(cc_value_text(&ev->v[SLOT_APP]));
	if (ev->v[SLOT_SESSION].present)
		apply.session = PointerGetDatum(cc_value_text(&ev->v[SLOT_SESSION]));

	apply.store = cc_store_begin(namespace);
	cc_point_intervals(group, apply.store);
	if (ev->spec->shape != SHAPE_MESSAGE && ev->spec->flow == FLOW_RINGING)
	{
		Datum		t;

		cc_ensure_call(&apply);
		if (cc_event_time(ev, &t))
			cc_touch_call(&apply, t);
	}

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
