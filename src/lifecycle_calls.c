/*
 * lifecycle_calls.c
 *		Ringing calls and their outcomes: the rules of call_initiated and of
 *		the outcome events (busy, cancelled, rejected, unanswered).
 */
#include "lifecycle.h"

#include "utils/builtins.h"
#include "utils/datum.h"

/* ---------------------------------------------------------------------- */
/* Which message a calls row is taken from                                */
/* ---------------------------------------------------------------------- */

static int32
text_length(Datum t)
{
	return DatumGetInt32(DirectFunctionCall1(textlen, t));
}

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

/* ---------------------------------------------------------------------- */
/* Outcomes: linking each to its call                                     */
/* ---------------------------------------------------------------------- */

/* The window of cometchat.outcome_window, in timestamptz units. */
static int64
outcome_window(void)
{
	return (int64) cc_outcome_window * USECS_PER_SEC;
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

/* The call an outcome may be relinked to (relink_outcomes). */
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

/* ---------------------------------------------------------------------- */
/* The events: call_initiated, outcomes, and the call of a ringing session */
/* ---------------------------------------------------------------------- */

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

/*
 * A call_initiated message merged into its row: its facts when it precedes
 * the message they were taken from, and its sentAt into last_event_at.
 */
static bool
merge_call_message(CcRow *row, void *arg)
{
	CcRow	   *mine = arg;
	bool		changed = merge_call_facts(row, mine);

	if (cc_has_col(row->r, C_LAST))
		changed |= cc_merge_greatest(row, C_LAST, CC_GET(mine, C_LAST), CC_ISNULL(mine, C_LAST));
	return changed;
}

void
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
	if (cc_has_col(calls, C_LAST))
		CC_SET(&mine, C_LAST, initiated, false);

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
		bool		wins = CC_ISNULL(&row, C_CALL) || call_precedes(&mine, &row);

		if (!CC_ISNULL(&row, C_CALL))
		{
			had_winner = true;
			old_call_id = CC_GET(&row, C_CALL);
			old_initiated = DatumGetTimestampTz(CC_GET(&row, C_INITIATED));
		}
		cc_update_merge(apply->store, &row, merge_call_message, &mine);
		if (!wins)
			return;				/* the row is taken from another message */
	}

	/* This message is the one the row is taken from: it takes the outcomes. */
	if (had_winner &&
		(!cc_texts_equal(old_call_id, call_id) || old_initiated != DatumGetTimestampTz(initiated)))
		retarget_outcomes(apply, old_call_id);
	relink_outcomes(apply, conversation, initiated, call_id);
}

/*
 * Several distinct outcome events may carry one message id (a payload that
 * reuses one, or another trigger or sentAt for it): the row is taken from
 * the one that precedes the others, by a total order on what the row keeps
 * of it: the earliest sent_at, then the first outcome (in the order of
 * cometchat.call_status), then the smallest conversation_id.  Events equal
 * in all three make the same row.  The rule reads the events alone, so the
 * row, and its call's outcome, is the same whatever order they arrive in,
 * one statement each, in one bulk load or in a replay.
 */
static const int outcome_order[] = {O_SENT, O_OUTCOME, O_CONVERSATION};

static bool
outcome_precedes(CcRow *a, CcRow *b)
{
	for (int i = 0; i < lengthof(outcome_order); i++)
	{
		int			col = outcome_order[i];
		int			c = cc_column_cmp(a->r, col, CC_GET(a, col), CC_GET(b, col));

		if (c != 0)
			return c < 0;
	}
	return false;
}

/*
 * An outcome row taken from another event now: its values are mine, it is
 * linked again from them, and the calls it left and joined take their
 * outcome again.
 */
static void
replace_outcome(CcEventApply *apply, CcRow *row, CcRow *mine)
{
	bool		was_linked = !CC_ISNULL(row, O_LINKED);
	Datum		old_call_id = CC_GET(row, O_LINKED);
	Datum		call_id = (Datum) 0;
	bool		linked;

	for (int i = 0; i < lengthof(outcome_order); i++)
		CC_SET(row, outcome_order[i], CC_GET(mine, outcome_order[i]), false);
	linked = outcome_target(apply, CC_GET(row, O_CONVERSATION), CC_GET(row, O_SENT), &call_id);
	CC_SET(row, O_LINKED, call_id, !linked);
	cc_update(apply->store, row);
	if (was_linked && !(linked && cc_texts_equal(old_call_id, call_id)))
		recompute_call_outcome(apply, old_call_id);
	if (linked)
		recompute_call_outcome(apply, call_id);
}

void
cc_apply_outcome(CcEventApply *apply)
{
	CcEvent    *ev = apply->ev;
	CcRel	   *outcomes = cc_rel(apply->store, CC_OUTCOMES);
	Datum		outcome_id = PointerGetDatum(cc_value_text(&ev->v[SLOT_CALL_ID]));
	Datum		conversation = PointerGetDatum(cc_value_text(&ev->v[SLOT_CONVERSATION]));
	Datum		sent = cc_time_datum(ev->v[SLOT_SENT_AT].num);
	CcKey		keys[2] = {CC_KEY_EQ(O_ID, outcome_id), CC_KEY_EQ(O_APP, apply->app)};
	CcRow		mine;
	CcRow		row;
	Datum		call_id = (Datum) 0;
	bool		linked;

	cc_row_init(&mine, outcomes);
	CC_SET(&mine, O_APP, apply->app, false);
	CC_SET(&mine, O_ID, outcome_id, false);
	CC_SET(&mine, O_CONVERSATION, conversation, false);
	/* checked: busy, cancelled, rejected or unanswered */
	CC_SET(&mine, O_OUTCOME,
		   cc_enum_column_value(outcomes, O_OUTCOME, cc_value_cstring(&ev->v[SLOT_ACTION])), false);
	CC_SET(&mine, O_SENT, sent, false);

	if (cc_fetch(&row, outcomes, 2, keys, -1, ForwardScanDirection))
	{
		/* This message id, seen before: the row stays unless mine precedes it. */
		if (outcome_precedes(&mine, &row))
			replace_outcome(apply, &row, &mine);
		return;
	}
	/* Linked to its call, unless its call_initiated has not arrived (yet). */
	linked = outcome_target(apply, conversation, sent, &call_id);
	CC_SET(&mine, O_LINKED, call_id, !linked);
	cc_insert(apply->store, &mine);
	if (linked)
		recompute_call_outcome(apply, call_id);
}

/* Every ringing session event belongs to a call, even before call_initiated. */
void
cc_ensure_call(CcEventApply *apply)
{
	CcRow	   *row = &apply->call;
	Datum		t;

	if (cc_call_known_to_exist(apply))
		return;
	if (!cc_fetch_call(apply))
	{
		cc_row_init(row, cc_rel(apply->store, CC_CALLS));
		CC_SET(row, C_APP, apply->app, false);
		CC_SET(row, C_SESSION, apply->session, false);
		CC_SET(row, C_PCOUNT, Int32GetDatum(cc_count_names(apply, NULL)), false);
		if (cc_has_col(row->r, C_LAST) && cc_event_time(apply->ev, &t))
			CC_SET(row, C_LAST, t, false);
		cc_insert(apply->store, row);
		apply->call_found = true;
		cc_keep_call_row(apply, row);
	}
}
