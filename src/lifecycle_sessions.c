/*
 * lifecycle_sessions.c
 *		Session instances, and the participants and recordings that belong
 *		to them: the rules of start, end, join, leave and recording events.
 */
#include "lifecycle.h"

#include "utils/builtins.h"
#include "utils/date.h"

/* ---------------------------------------------------------------------- */
/* Participants and recordings                                            */
/* ---------------------------------------------------------------------- */

/*
 * One interval as an event tells it: a join or leave event's occupant, or
 * one of the occupants an end event lists.
 */
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
 * An interval new to its instance (old NULL), or changed from old to row:
 * the instance's last_event_at takes its times, or is recomputed when the
 * interval's left_at moved earlier (a stronger source) or went away.
 */
static void
touch_interval_instance(CcEventApply *apply, const CcRow *old, CcRow *row)
{
	Datum		instance = CC_GET(row, P_INSTANCE);
	TimestampTz last = DatumGetTimestampTz(CC_GET(row, P_JOINED));

	if (CC_ISNULL(row, P_INSTANCE))
		return;
	if (old && !CC_ISNULL(old, P_LEFT) &&
		(CC_ISNULL(row, P_LEFT) ||
		 DatumGetTimestampTz(CC_GET(row, P_LEFT)) < DatumGetTimestampTz(CC_GET(old, P_LEFT))))
	{
		cc_recompute_last(apply, instance);
		return;
	}
	if (!CC_ISNULL(row, P_LEFT))
		last = Max(last, DatumGetTimestampTz(CC_GET(row, P_LEFT)));
	cc_touch_instance(apply, instance, TimestampTzGetDatum(last));
}

/*
 * One join interval: find its instance, merge the interval, and when the
 * interval is new and its name is new to the instance (to the session id),
 * count it there (on the call).  An ended instance's peak is recomputed,
 * unless it is *peak_later, whose peak the caller recomputes once after all
 * its intervals (an end event's own instance).  An end event's occupant may
 * belong to another instance (one that started before it): that one's peak
 * changes too.
 */
static void
apply_interval(CcEventApply *apply, const CcInterval *iv, const Datum *peak_later)
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
			touch_interval_instance(apply, &intervals->rows[found], &row);
			cc_row_copy(&intervals->rows[found], &row);
			if (intervals->state[found] == ROW_CLEAN)
				intervals->state[found] = ROW_CHANGED;
		}
	}
	else
	{
		cc_keep_interval(apply->group, intervals, &mine, ROW_NEW);
		touch_interval_instance(apply, NULL, &mine);

		/* A name new to the instance (to the session id) counts there (on the call). */
		if (has_instance && new_in_instance)
			cc_count_on_instance(apply, instance, S_PCOUNT);
		if (new_in_session)
			cc_count_on_call(apply);
	}

	if (has_instance && ended &&
		!(peak_later && DatumGetTimestampTz(*peak_later) == DatumGetTimestampTz(instance)))
		cc_recompute_peak(apply, instance);
}

void
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
	apply_interval(apply, &iv, NULL);
}

void
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
	{
		cc_count_on_instance(apply, instance, S_RCOUNT);
		cc_touch_instance(apply, instance, started);
	}
}

/* ---------------------------------------------------------------------- */
/* Session instances: start and end events, and adoption                  */
/* ---------------------------------------------------------------------- */

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
 * What a new instance adopts of one table: the rows whose time (time_col) is
 * from its start up to the next instance's start (all before it too, for a
 * first instance), and not in it yet (inst_col).
 */
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

/* (A CcKeepFn) The scanned row is adopted, and is not a kept interval: those move in memory. */
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
void
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
		/* Its own times; those of the rows it adopts come at the flush. */
		if (cc_has_col(sessions, S_LAST))
			CC_SET(&row, S_LAST, is_end && DatumGetTimestampTz(ended_at) > DatumGetTimestampTz(started) ?
				   ended_at : started, false);
		cc_insert(apply->store, &row);
	}
	else
	{
		bool		changed = cc_merge_least(&row, S_MODE, mode, false);

		end_changed = cc_merge_greatest(&row, S_ENDED, ended_at, !is_end);
		if (end_changed && cc_has_col(sessions, S_LAST))
			changed |= cc_merge_greatest(&row, S_LAST, ended_at, false);
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

			apply_interval(apply, &iv, &started);
		}
	}
	/* Only an ended instance has a peak: a start event cannot end one. */
	if (is_end && (is_new || end_changed || ev->noccupants > 0))
		cc_recompute_peak(apply, started);
}
