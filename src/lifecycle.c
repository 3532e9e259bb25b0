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
