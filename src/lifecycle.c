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
 *
 * Statements are prepared once per backend and kept (SPI_keepplan).
 */
#include "cometchat.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

PG_FUNCTION_INFO_V1(cc_replay);

#define CC_LOCK_LIFECYCLE	0xCC02
#define CC_LOCK_BUCKETS		1024

typedef enum CcStmt
{
	ST_INSTANCE_AT,
	ST_SESSION_GET,
	ST_CALL_GET_SESSION,
	ST_CALL_GET_UNLINKED,
	ST_UNLINK_OUTCOMES,
	ST_SESSION_INSERT,
	ST_SESSION_UPDATE,
	ST_NEIGHBOURS,
	ST_ADOPT_PARTICIPANTS,
	ST_ADOPT_RECORDINGS,
	ST_RECOUNT,
	ST_PEAK,
	ST_CALL_ENSURE,
	ST_CALL_INIT_COUNT,
	ST_CALL_TIMES,
	ST_PARTICIPANT,
	ST_RECORDING_UPSERT,
	ST_RECORDING_COUNT_INC,
	ST_CALL_UPSERT_SESSION,
	ST_CALL_UPSERT_UNLINKED,
	ST_RELINK_OUTCOMES,
	ST_CALL_OUTCOME,
	ST_OUTCOME_INSERT,
	ST_OUTCOME_TARGET,
	ST_OUTCOME_LINK,
	CC_NUM_STMTS
} CcStmt;

#define T	TEXTOID
#define TS	TIMESTAMPTZOID
#define B	BOOLOID
#define I	INT4OID
#define N	NUMERICOID
#define D	DATEOID

typedef struct CcStatement
{
	const char *sql;
	int			nargs;
	Oid			types[12];
} CcStatement;

/*
 * Several call_initiated messages may name one call (one session id).  The
 * row takes its facts from one of them, by a total order: the smallest
 * message id (as a number), then the earliest sentAt, then the rest.
 */
#define CALL_ORDER(r) \
	"(length(" r ".call_id), " r ".call_id, " r ".initiated_at, " r ".conversation_id, " \
	r ".caller, " r ".receiver, " r ".receiver_type, " r ".media)"
#define CALL_WINS \
	"(c.call_id IS NULL OR " CALL_ORDER("EXCLUDED") " < " CALL_ORDER("c") ")"
#define CALL_MERGE \
	" call_id = CASE WHEN " CALL_WINS " THEN EXCLUDED.call_id ELSE c.call_id END," \
	" conversation_id = CASE WHEN " CALL_WINS " THEN EXCLUDED.conversation_id ELSE c.conversation_id END," \
	" caller = CASE WHEN " CALL_WINS " THEN EXCLUDED.caller ELSE c.caller END," \
	" receiver = CASE WHEN " CALL_WINS " THEN EXCLUDED.receiver ELSE c.receiver END," \
	" receiver_type = CASE WHEN " CALL_WINS " THEN EXCLUDED.receiver_type ELSE c.receiver_type END," \
	" media = CASE WHEN " CALL_WINS " THEN EXCLUDED.media ELSE c.media END," \
	" initiated_at = CASE WHEN " CALL_WINS " THEN EXCLUDED.initiated_at ELSE c.initiated_at END" \
	" RETURNING (xmax = 0), call_id, initiated_at"
#define CALL_INSERT \
	"INSERT INTO cometchat.calls AS c (app_id, session_id, call_id, conversation_id, caller," \
	" receiver, receiver_type, media, initiated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "

/* A fact from a stronger source wins; equal sources merge by GREATEST. */
#define SOURCED(col, src) \
	" " col " = CASE WHEN EXCLUDED." src " IS NULL THEN p." col \
	" WHEN p." src " IS NULL OR EXCLUDED." src " > p." src " THEN EXCLUDED." col \
	" WHEN EXCLUDED." src " = p." src " THEN GREATEST(p." col ", EXCLUDED." col ")" \
	" ELSE p." col " END,"

static const CcStatement statements[CC_NUM_STMTS] = {
	/* The latest instance started at or before $3; failing that, the first. */
	[ST_INSTANCE_AT] = {
		"(SELECT started_at, ended_at IS NOT NULL FROM cometchat.sessions"
		"  WHERE app_id = $1 AND session_id = $2 AND started_at <= $3"
		"  ORDER BY started_at DESC LIMIT 1)"
		" UNION ALL"
		" (SELECT started_at, ended_at IS NOT NULL FROM cometchat.sessions"
		"  WHERE app_id = $1 AND session_id = $2 ORDER BY started_at LIMIT 1)"
		" LIMIT 1", 3, {T, T, TS}},
	[ST_CALL_GET_SESSION] = {
		"SELECT call_id, initiated_at FROM cometchat.calls"
		" WHERE app_id = $1 AND session_id = $2", 2, {T, T}},
	[ST_CALL_GET_UNLINKED] = {
		"SELECT call_id, initiated_at FROM cometchat.calls"
		" WHERE app_id = $1 AND call_id = $3 AND session_id IS NULL", 3, {T, T, T}},
	[ST_UNLINK_OUTCOMES] = {
		"UPDATE cometchat.call_outcomes SET linked_call_id = NULL"
		" WHERE app_id = $1 AND linked_call_id = $2"
		" RETURNING outcome_id, conversation_id, sent_at", 2, {T, T}},
	[ST_SESSION_GET] = {
		"SELECT ended_at FROM cometchat.sessions"
		" WHERE app_id = $1 AND session_id = $2 AND started_at = $3", 3, {T, T, TS}},
	[ST_SESSION_INSERT] = {
		"INSERT INTO cometchat.sessions (app_id, session_id, started_at, mode, ended_at)"
		" VALUES ($1, $2, $3, $4::cometchat.session_mode, $5)", 5, {T, T, TS, T, TS}},
	[ST_SESSION_UPDATE] = {
		"UPDATE cometchat.sessions SET mode = LEAST(mode, $4::cometchat.session_mode),"
		" ended_at = GREATEST(ended_at, $5)"
		" WHERE app_id = $1 AND session_id = $2 AND started_at = $3", 5, {T, T, TS, T, TS}},
	/* The instances just before and just after $3. */
	[ST_NEIGHBOURS] = {
		"SELECT (SELECT max(started_at) FROM cometchat.sessions"
		"         WHERE app_id = $1 AND session_id = $2 AND started_at < $3),"
		"       (SELECT min(started_at) FROM cometchat.sessions"
		"         WHERE app_id = $1 AND session_id = $2 AND started_at > $3)", 3, {T, T, TS}},
	/* $4: the next instance's start; $5: this is the first instance */
	[ST_ADOPT_PARTICIPANTS] = {
		"UPDATE cometchat.participants SET session_started_at = $3"
		" WHERE app_id = $1 AND session_id = $2 AND (joined_at >= $3 OR $5)"
		" AND ($4::timestamptz IS NULL OR joined_at < $4)"
		" AND session_started_at IS DISTINCT FROM $3", 5, {T, T, TS, TS, B}},
	[ST_ADOPT_RECORDINGS] = {
		"UPDATE cometchat.recordings SET session_started_at = $3"
		" WHERE app_id = $1 AND session_id = $2 AND (started_at >= $3 OR $5)"
		" AND ($4::timestamptz IS NULL OR started_at < $4)"
		" AND session_started_at IS DISTINCT FROM $3", 5, {T, T, TS, TS, B}},
	[ST_RECOUNT] = {
		"UPDATE cometchat.sessions s SET"
		" participant_count = (SELECT count(DISTINCT p.name) FROM cometchat.participants p"
		"   WHERE p.app_id = $1 AND p.session_id = $2 AND p.session_started_at = $3),"
		" recording_count = (SELECT count(*) FROM cometchat.recordings r"
		"   WHERE r.app_id = $1 AND r.session_id = $2 AND r.session_started_at = $3)"
		" WHERE s.app_id = $1 AND s.session_id = $2 AND s.started_at = $3", 3, {T, T, TS}},
	/* Intervals are [joined_at, left_at); one still open ends with the session. */
	[ST_PEAK] = {
		"UPDATE cometchat.sessions s SET peak_participants = coalesce(("
		"  SELECT max(n) FROM (SELECT sum(d) OVER (ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS n"
		"   FROM (SELECT p.joined_at AS t, 1 AS d FROM cometchat.participants p"
		"          WHERE p.app_id = $1 AND p.session_id = $2 AND p.session_started_at = $3"
		"         UNION ALL"
		"         SELECT coalesce(p.left_at, s.ended_at), -1 FROM cometchat.participants p"
		"          WHERE p.app_id = $1 AND p.session_id = $2 AND p.session_started_at = $3) e) x), 0)"
		" WHERE s.app_id = $1 AND s.session_id = $2 AND s.started_at = $3"
		" AND s.ended_at IS NOT NULL", 3, {T, T, TS}},
	[ST_CALL_ENSURE] = {
		"INSERT INTO cometchat.calls (app_id, session_id) VALUES ($1, $2)"
		" ON CONFLICT (app_id, session_id) DO NOTHING", 2, {T, T}},
	[ST_CALL_INIT_COUNT] = {
		"UPDATE cometchat.calls SET participant_count ="
		" (SELECT count(DISTINCT p.name) FROM cometchat.participants p"
		"   WHERE p.app_id = $1 AND p.session_id = $2)"
		" WHERE app_id = $1 AND session_id = $2", 2, {T, T}},
	[ST_CALL_TIMES] = {
		"UPDATE cometchat.calls SET started_at = LEAST(started_at, $3),"
		" ended_at = GREATEST(ended_at, $4)"
		" WHERE app_id = $1 AND session_id = $2", 4, {T, T, TS, TS}},
	/*
	 * One join interval, in one statement: find its instance, merge the
	 * interval, and when the interval is new and its name is new to the
	 * instance (to the session id), count it there (on the call).  The NOT
	 * EXISTS probes share the statement's snapshot, so they do not see the
	 * interval being inserted.  Returns the instance and whether it ended.
	 */
	[ST_PARTICIPANT] = {
		"WITH inst AS MATERIALIZED ("
		"  SELECT started_at, ended FROM ("
		"   (SELECT started_at, ended_at IS NOT NULL AS ended FROM cometchat.sessions"
		"     WHERE app_id = $1 AND session_id = $2 AND started_at <= $4"
		"     ORDER BY started_at DESC LIMIT 1)"
		"   UNION ALL"
		"   (SELECT started_at, ended_at IS NOT NULL FROM cometchat.sessions"
		"     WHERE app_id = $1 AND session_id = $2 ORDER BY started_at LIMIT 1)) i LIMIT 1),"
		" up AS ("
		"  INSERT INTO cometchat.participants AS p (app_id, session_id, session_started_at, name,"
		"   joined_at, left_at, left_at_from, audio_only, audio_only_from, platform, sdk, sdk_version)"
		"  VALUES ($1, $2, (SELECT started_at FROM inst), $3, $4, $5, $6::cometchat.fact_source, $7,"
		"   $8::cometchat.fact_source, $9, $10, $11)"
		"  ON CONFLICT (app_id, session_id, name, joined_at) DO UPDATE SET"
		SOURCED("left_at", "left_at_from")
		SOURCED("audio_only", "audio_only_from")
		"   left_at_from = GREATEST(p.left_at_from, EXCLUDED.left_at_from),"
		"   audio_only_from = GREATEST(p.audio_only_from, EXCLUDED.audio_only_from),"
		"   platform = GREATEST(p.platform, EXCLUDED.platform),"
		"   sdk = GREATEST(p.sdk, EXCLUDED.sdk),"
		"   sdk_version = GREATEST(p.sdk_version, EXCLUDED.sdk_version)"
		"  RETURNING (xmax = 0) AS inserted, session_started_at),"
		" fresh AS ("
		"  SELECT up.session_started_at AS instance,"
		"   NOT EXISTS (SELECT 1 FROM cometchat.participants q WHERE q.app_id = $1"
		"     AND q.session_id = $2 AND q.name = $3 AND q.joined_at <> $4"
		"     AND q.session_started_at = up.session_started_at) AS new_in_instance,"
		"   NOT EXISTS (SELECT 1 FROM cometchat.participants q WHERE q.app_id = $1"
		"     AND q.session_id = $2 AND q.name = $3 AND q.joined_at <> $4) AS new_in_session"
		"  FROM up WHERE up.inserted),"
		" counted_session AS ("
		"  UPDATE cometchat.sessions s SET participant_count = s.participant_count + 1 FROM fresh"
		"  WHERE fresh.new_in_instance AND s.app_id = $1 AND s.session_id = $2"
		"    AND s.started_at = fresh.instance RETURNING 1),"
		" counted_call AS ("
		"  UPDATE cometchat.calls c SET participant_count = c.participant_count + 1 FROM fresh"
		"  WHERE fresh.new_in_session AND c.app_id = $1 AND c.session_id = $2 RETURNING 1)"
		" SELECT i.started_at, i.ended FROM (SELECT) one LEFT JOIN inst i ON true",
		11, {T, T, T, TS, TS, T, B, T, T, T, T}},
	[ST_RECORDING_UPSERT] = {
		"INSERT INTO cometchat.recordings AS r (app_id, session_id, session_started_at, started_at,"
		" duration, recording_url, recording_date)"
		" VALUES ($1, $2, $3, $4, make_interval(secs => $5::float8), $6, $7)"
		" ON CONFLICT (app_id, session_id, started_at) DO UPDATE SET"
		" duration = GREATEST(r.duration, EXCLUDED.duration),"
		" recording_url = GREATEST(r.recording_url, EXCLUDED.recording_url),"
		" recording_date = GREATEST(r.recording_date, EXCLUDED.recording_date)"
		" RETURNING (xmax = 0)", 7, {T, T, TS, TS, N, T, D}},
	[ST_RECORDING_COUNT_INC] = {
		"UPDATE cometchat.sessions SET recording_count = recording_count + 1"
		" WHERE app_id = $1 AND session_id = $2 AND started_at = $3", 3, {T, T, TS}},
	[ST_CALL_UPSERT_SESSION] = {
		CALL_INSERT "ON CONFLICT (app_id, session_id) DO UPDATE SET" CALL_MERGE,
		9, {T, T, T, T, T, T, T, T, TS}},
	[ST_CALL_UPSERT_UNLINKED] = {
		CALL_INSERT "ON CONFLICT (app_id, call_id) WHERE session_id IS NULL DO UPDATE SET" CALL_MERGE,
		9, {T, T, T, T, T, T, T, T, TS}},
	/* Outcomes in this call's window that now belong to it; returns their old calls. */
	[ST_RELINK_OUTCOMES] = {
		"WITH moved AS ("
		"  SELECT o.outcome_id, o.linked_call_id AS old_call FROM cometchat.call_outcomes o"
		"  LEFT JOIN LATERAL (SELECT c.initiated_at FROM cometchat.calls c"
		"    WHERE c.app_id = o.app_id AND c.call_id = o.linked_call_id"
		"    ORDER BY c.initiated_at DESC LIMIT 1) lc ON true"
		"  WHERE o.app_id = $1 AND o.conversation_id = $2"
		"    AND o.sent_at >= $3 AND o.sent_at <= $3 + make_interval(secs => $5)"
		"    AND (o.linked_call_id IS NULL OR (lc.initiated_at, length(o.linked_call_id), o.linked_call_id)"
		"         < ($3, length($4), $4))"
		"  FOR UPDATE OF o)"
		" UPDATE cometchat.call_outcomes o SET linked_call_id = $4 FROM moved"
		" WHERE o.app_id = $1 AND o.outcome_id = moved.outcome_id"
		" RETURNING moved.old_call", 5, {T, T, TS, T, I}},
	[ST_CALL_OUTCOME] = {
		"UPDATE cometchat.calls c SET (outcome, outcome_at) ="
		" (SELECT o.outcome, o.sent_at FROM cometchat.call_outcomes o"
		"   WHERE o.app_id = c.app_id AND o.linked_call_id = c.call_id"
		"   ORDER BY o.sent_at, o.outcome LIMIT 1)"
		" WHERE c.app_id = $1 AND c.call_id = $2", 2, {T, T}},
	[ST_OUTCOME_INSERT] = {
		"INSERT INTO cometchat.call_outcomes (app_id, outcome_id, conversation_id, outcome, sent_at)"
		" VALUES ($1, $2, $3, $4::cometchat.call_status, $5)"
		" ON CONFLICT (app_id, outcome_id) DO NOTHING", 5, {T, T, T, T, TS}},
	[ST_OUTCOME_TARGET] = {
		"SELECT call_id FROM cometchat.calls"
		" WHERE app_id = $1 AND conversation_id = $2 AND call_id IS NOT NULL"
		" AND initiated_at <= $3 AND initiated_at >= $3 - make_interval(secs => $4)"
		" ORDER BY initiated_at DESC, length(call_id) DESC, call_id DESC LIMIT 1", 4, {T, T, TS, I}},
	[ST_OUTCOME_LINK] = {
		"UPDATE cometchat.call_outcomes SET linked_call_id = $3"
		" WHERE app_id = $1 AND outcome_id = $2", 3, {T, T, T}},
};

#undef T
#undef TS
#undef B
#undef I
#undef N
#undef D

static SPIPlanPtr plans[CC_NUM_STMTS];

/* Runs one statement; args are Datums, NULL where isnull[i]. */
static uint64
run(CcStmt which, Datum *args, const bool *isnull)
{
	const CcStatement *st = &statements[which];
	char		nulls[12];
	int			rc;

	if (plans[which] == NULL)
	{
		/*
		 * Generic plans: every statement is an index lookup by key, and a
		 * custom plan per call would mean planning on every event.
		 */
		SPIPlanPtr	plan = SPI_prepare_cursor(st->sql, st->nargs, (Oid *) st->types,
											  CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare lifecycle statement %d: %s",
				 (int) which, SPI_result_code_string(SPI_result));
		plans[which] = plan;
	}
	for (int i = 0; i < st->nargs; i++)
		nulls[i] = (isnull && isnull[i]) ? 'n' : ' ';
	rc = SPI_execute_plan(plans[which], args, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "lifecycle statement %d failed: %s", (int) which, SPI_result_code_string(rc));
	return SPI_processed;
}

static Datum
result_datum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

static bool
result_bool(int row, int col)
{
	bool		isnull;
	Datum		d = result_datum(row, col, &isnull);

	return !isnull && DatumGetBool(d);
}

/* ---------------------------------------------------------------------- */

typedef struct CcContext
{
	CcEvent    *ev;
	Datum		app;
	Datum		session;
} CcContext;

static Datum
ts(int64 secs)
{
	return TimestampTzGetDatum(cc_unix_to_timestamptz(secs));
}

static Datum
text_or_null(const CcValue *v, bool *isnull)
{
	*isnull = !v->present;
	return v->present ? PointerGetDatum(cc_value_text(v)) : (Datum) 0;
}

static uint32
lock_bucket(const CcValue *app, const CcValue *id)
{
	uint32		h = hash_bytes((const unsigned char *) app->str, app->len);

	h = hash_combine(h, hash_bytes((const unsigned char *) id->str, id->len));
	return h % CC_LOCK_BUCKETS;
}

/* Takes the locks of up to two ids of this app, in bucket order. */
static void
lock_ids(CcEvent *ev, const CcValue *a, const CcValue *b)
{
	uint32		buckets[2];
	int			n = 0;

	if (a && a->present)
		buckets[n++] = lock_bucket(&ev->v[SLOT_APP], a);
	if (b && b->present)
		buckets[n++] = lock_bucket(&ev->v[SLOT_APP], b);
	if (n == 2 && buckets[0] > buckets[1])
	{
		uint32		t = buckets[0];

		buckets[0] = buckets[1];
		buckets[1] = t;
	}
	for (int i = 0; i < n; i++)
	{
		LOCKTAG		tag;

		if (i == 1 && buckets[1] == buckets[0])
			break;
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, buckets[i], 0, CC_LOCK_LIFECYCLE);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
	}
}

/* The instance a time belongs to: the latest started_at at or before it. */
static bool
instance_at(CcContext *cx, int64 secs, Datum *started_at, bool *ended)
{
	Datum		args[3] = {cx->app, cx->session, ts(secs)};
	bool		isnull;

	if (run(ST_INSTANCE_AT, args, NULL) == 0)
		return false;
	*started_at = result_datum(0, 1, &isnull);
	*ended = result_bool(0, 2);
	return true;
}

static void
session_stmt(CcContext *cx, CcStmt which, Datum started_at)
{
	Datum		args[3] = {cx->app, cx->session, started_at};

	run(which, args, NULL);
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
apply_interval(CcContext *cx, const CcInterval *iv, bool defer_peak)
{
	CcEvent    *ev = cx->ev;
	Datum		args[11];
	bool		nulls[11] = {false};
	Datum		source = CStringGetTextDatum(iv->source);
	bool		no_instance;
	Datum		instance;

	args[0] = cx->app;
	args[1] = cx->session;
	args[2] = PointerGetDatum(cstring_to_text_with_len(iv->name, iv->name_len));
	args[3] = ts(iv->joined_at);
	args[4] = iv->has_left ? ts(iv->left_at) : (Datum) 0;
	nulls[4] = !iv->has_left;
	args[5] = source;
	nulls[5] = !iv->has_left;
	args[6] = BoolGetDatum(iv->audio_only);
	nulls[6] = !iv->has_audio;
	args[7] = source;
	nulls[7] = !iv->has_audio;
	args[8] = text_or_null(&ev->v[SLOT_PLATFORM], &nulls[8]);
	args[9] = text_or_null(&ev->v[SLOT_SDK], &nulls[9]);
	args[10] = text_or_null(&ev->v[SLOT_SDK_VERSION], &nulls[10]);
	if (ev->spec->shape != SHAPE_JOIN)
		nulls[8] = nulls[9] = nulls[10] = true;

	run(ST_PARTICIPANT, args, nulls);
	instance = result_datum(0, 1, &no_instance);
	if (!no_instance && result_bool(0, 2) && !defer_peak)
		session_stmt(cx, ST_PEAK, instance);
}

static void
apply_participant_event(CcContext *cx)
{
	CcEvent    *ev = cx->ev;
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
	apply_interval(cx, &iv, false);
}

static void
apply_recording(CcContext *cx)
{
	CcEvent    *ev = cx->ev;
	Datum		instance = (Datum) 0;
	bool		ended;
	bool		has_instance = instance_at(cx, ev->v[SLOT_RECORDING_START].num, &instance, &ended);
	Datum		args[7];
	bool		nulls[7] = {false};

	args[0] = cx->app;
	args[1] = cx->session;
	args[2] = instance;
	nulls[2] = !has_instance;
	args[3] = ts(ev->v[SLOT_RECORDING_START].num);
	nulls[4] = !ev->v[SLOT_RECORDING_DURATION].present;
	if (!nulls[4])
		args[4] = DirectFunctionCall3(numeric_in,
									  CStringGetDatum(cc_value_cstring(&ev->v[SLOT_RECORDING_DURATION])),
									  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	args[5] = PointerGetDatum(cc_value_text(&ev->v[SLOT_RECORDING_URL]));
	args[6] = DateADTGetDatum((DateADT) ev->v[SLOT_RECORDING_DATE].num);
	nulls[6] = !ev->v[SLOT_RECORDING_DATE].present;

	run(ST_RECORDING_UPSERT, args, nulls);
	if (result_bool(0, 1) && has_instance)
		session_stmt(cx, ST_RECORDING_COUNT_INC, instance);
}

/* ---------------------------------------------------------------------- */
/* Session instances                                                       */
/* ---------------------------------------------------------------------- */

/*
 * A start or end event: creates or widens its instance.  A new instance
 * takes the participants and recordings in its time range from the instance
 * before it (or from none), and both are recounted.
 */
static void
apply_instance(CcContext *cx)
{
	CcEvent    *ev = cx->ev;
	bool		is_end = ev->spec->shape == SHAPE_END;
	Datum		started = ts(ev->v[SLOT_CREATED_AT].num);
	Datum		ended_at = is_end ? ts(ev->v[SLOT_DESTROYED_AT].num) : (Datum) 0;
	Datum		mode = CStringGetTextDatum(ev->spec->flow == FLOW_RINGING ? "call" : "meet");
	Datum		args[5] = {cx->app, cx->session, started, mode, ended_at};
	bool		nulls[5] = {false, false, false, false, !is_end};
	bool		isnull;
	bool		is_new;
	bool		end_changed = false;

	run(ST_SESSION_GET, args, NULL);
	is_new = SPI_processed == 0;
	if (!is_new && is_end)
	{
		Datum		old_end = result_datum(0, 1, &isnull);

		end_changed = isnull || DatumGetTimestampTz(old_end) < DatumGetTimestampTz(ended_at);
	}
	run(is_new ? ST_SESSION_INSERT : ST_SESSION_UPDATE, args, nulls);

	if (ev->spec->flow == FLOW_RINGING)
	{
		Datum		times[4] = {cx->app, cx->session, started, ended_at};
		bool		tnulls[4] = {false, false, false, !is_end};

		run(ST_CALL_TIMES, times, tnulls);
	}

	if (is_new)
	{
		Datum		next;
		Datum		prev;
		bool		next_null;
		bool		prev_null;
		uint64		moved;

		run(ST_NEIGHBOURS, args, NULL);
		prev = result_datum(0, 1, &prev_null);
		next = result_datum(0, 2, &next_null);
		{
			Datum		adopt[5] = {cx->app, cx->session, started, next, BoolGetDatum(prev_null)};
			bool		anulls[5] = {false, false, false, next_null, false};

			moved = run(ST_ADOPT_PARTICIPANTS, adopt, anulls);
			moved += run(ST_ADOPT_RECORDINGS, adopt, anulls);
		}
		if (moved > 0)
		{
			/* Rows came from the instance before, or, for a new first instance, the one after. */
			session_stmt(cx, ST_RECOUNT, started);
			if (!prev_null)
			{
				session_stmt(cx, ST_RECOUNT, prev);
				session_stmt(cx, ST_PEAK, prev);
			}
			else if (!next_null)
			{
				session_stmt(cx, ST_RECOUNT, next);
				session_stmt(cx, ST_PEAK, next);
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

			apply_interval(cx, &iv, true);
		}
	}
	/* Only an ended instance has a peak: a start event cannot end one. */
	if (is_end && (is_new || end_changed || ev->noccupants > 0))
		session_stmt(cx, ST_PEAK, started);
}

/* ---------------------------------------------------------------------- */
/* Ringing calls and their outcomes                                        */
/* ---------------------------------------------------------------------- */

static void
recompute_call_outcome(CcContext *cx, Datum call_id)
{
	Datum		args[2] = {cx->app, call_id};

	run(ST_CALL_OUTCOME, args, NULL);
}

/*
 * The outcomes linked to a message that no call row is taken from any more
 * look for their call again.
 */
static void
retarget_outcomes(CcContext *cx, Datum old_call_id)
{
	Datum		args[2] = {cx->app, old_call_id};
	uint64		n = run(ST_UNLINK_OUTCOMES, args, NULL);
	SPITupleTable *unlinked = SPI_tuptable;

	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		outcome_id = SPI_getbinval(unlinked->vals[i], unlinked->tupdesc, 1, &isnull);
		Datum		conversation = SPI_getbinval(unlinked->vals[i], unlinked->tupdesc, 2, &isnull);
		Datum		sent = SPI_getbinval(unlinked->vals[i], unlinked->tupdesc, 3, &isnull);
		Datum		target[4] = {cx->app, conversation, sent, Int32GetDatum(cc_outcome_window)};
		Datum		call_id;

		if (run(ST_OUTCOME_TARGET, target, NULL) == 0)
			continue;
		call_id = PointerGetDatum(PG_DETOAST_DATUM_COPY(result_datum(0, 1, &isnull)));
		{
			Datum		link[3] = {cx->app, outcome_id, call_id};

			run(ST_OUTCOME_LINK, link, NULL);
		}
		recompute_call_outcome(cx, call_id);
	}
	recompute_call_outcome(cx, old_call_id);
}

static void
apply_call_initiated(CcContext *cx)
{
	CcEvent    *ev = cx->ev;
	bool		linked = ev->v[SLOT_SESSION].present;
	Datum		call_id = PointerGetDatum(cc_value_text(&ev->v[SLOT_CALL_ID]));
	Datum		initiated = ts(ev->v[SLOT_SENT_AT].num);
	Datum		args[9];
	bool		nulls[9] = {false};
	bool		isnull;
	bool		inserted;
	Datum		winner;
	bool		had_winner = false;
	bool		is_winner;
	Datum		old_call_id = (Datum) 0;
	TimestampTz old_initiated = 0;

	args[0] = cx->app;
	args[1] = cx->session;
	nulls[1] = !linked;
	args[2] = call_id;
	args[3] = PointerGetDatum(cc_value_text(&ev->v[SLOT_CONVERSATION]));
	args[4] = PointerGetDatum(cc_value_text(&ev->v[SLOT_SENDER]));
	args[5] = PointerGetDatum(cc_value_text(&ev->v[SLOT_RECEIVER]));
	args[6] = PointerGetDatum(cc_value_text(&ev->v[SLOT_RECEIVER_TYPE]));
	args[7] = PointerGetDatum(cc_value_text(&ev->v[SLOT_MEDIA]));
	args[8] = initiated;

	/* The message the row was taken from until now, if any. */
	if (run(linked ? ST_CALL_GET_SESSION : ST_CALL_GET_UNLINKED, args, nulls) > 0)
	{
		Datum		d = result_datum(0, 1, &isnull);

		if (!isnull)
		{
			had_winner = true;
			old_call_id = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
			old_initiated = DatumGetTimestampTz(result_datum(0, 2, &isnull));
		}
	}

	run(linked ? ST_CALL_UPSERT_SESSION : ST_CALL_UPSERT_UNLINKED, args, nulls);
	inserted = result_bool(0, 1);
	winner = result_datum(0, 2, &isnull);
	is_winner = !isnull &&
		strcmp(TextDatumGetCString(winner), TextDatumGetCString(call_id)) == 0 &&
		DatumGetTimestampTz(result_datum(0, 3, &isnull)) == DatumGetTimestampTz(initiated);
	if (inserted && linked)
		run(ST_CALL_INIT_COUNT, args, NULL);

	/* Only the message the row is now taken from takes outcomes. */
	if (!is_winner)
		return;
	if (had_winner &&
		(strcmp(TextDatumGetCString(old_call_id), TextDatumGetCString(call_id)) != 0 ||
		 old_initiated != DatumGetTimestampTz(initiated)))
		retarget_outcomes(cx, old_call_id);
	{
		Datum		rargs[5] = {cx->app, args[3], initiated, call_id, Int32GetDatum(cc_outcome_window)};
		uint64		n = run(ST_RELINK_OUTCOMES, rargs, NULL);
		Datum	   *old_calls = palloc(sizeof(Datum) * (n + 1));
		int			nold = 0;

		for (uint64 i = 0; i < n; i++)
		{
			Datum		old = result_datum(i, 1, &isnull);

			if (!isnull)
				old_calls[nold++] = PointerGetDatum(PG_DETOAST_DATUM_COPY(old));
		}
		for (int i = 0; i < nold; i++)
			recompute_call_outcome(cx, old_calls[i]);
		if (n > 0)
			recompute_call_outcome(cx, call_id);
	}
}

static void
apply_outcome(CcContext *cx)
{
	CcEvent    *ev = cx->ev;
	Datum		outcome_id = PointerGetDatum(cc_value_text(&ev->v[SLOT_CALL_ID]));
	Datum		conversation = PointerGetDatum(cc_value_text(&ev->v[SLOT_CONVERSATION]));
	Datum		sent = ts(ev->v[SLOT_SENT_AT].num);
	const char *outcome = ev->v[SLOT_ACTION].str;	/* checked: busy, cancelled, ... */
	Datum		args[5] = {cx->app, outcome_id, conversation,
	PointerGetDatum(cstring_to_text_with_len(outcome, ev->v[SLOT_ACTION].len)), sent};
	Datum		target[4] = {cx->app, conversation, sent, Int32GetDatum(cc_outcome_window)};
	bool		isnull;
	Datum		call_id;

	if (run(ST_OUTCOME_INSERT, args, NULL) == 0)
		return;					/* the same outcome message, seen before */
	if (run(ST_OUTCOME_TARGET, target, NULL) == 0)
		return;					/* its call_initiated has not arrived (yet) */
	call_id = result_datum(0, 1, &isnull);
	call_id = PointerGetDatum(PG_DETOAST_DATUM_COPY(call_id));
	{
		Datum		link[3] = {cx->app, outcome_id, call_id};

		run(ST_OUTCOME_LINK, link, NULL);
	}
	recompute_call_outcome(cx, call_id);
}

/* ---------------------------------------------------------------------- */

/* Applies one accepted event to the lifecycle tables. */
void
cc_lifecycle_apply(CcEvent *ev)
{
	CcContext	cx = {ev};
	CcKind		kind = ev->spec->kind;
	int			guc_level;

	if (kind == CC_UNKNOWN)
		return;

	cx.app = PointerGetDatum(cc_value_text(&ev->v[SLOT_APP]));
	if (ev->v[SLOT_SESSION].present)
		cx.session = PointerGetDatum(cc_value_text(&ev->v[SLOT_SESSION]));

	if (ev->spec->shape == SHAPE_MESSAGE)
		lock_ids(ev, &ev->v[SLOT_CONVERSATION],
				 kind == CC_CALL_INITIATED ? &ev->v[SLOT_SESSION] : NULL);
	else
		lock_ids(ev, &ev->v[SLOT_SESSION], NULL);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * Every statement here is an index probe.  Its generic plan is made once
	 * per backend, often while the tables are still empty, when a sequential
	 * scan looks free; kept for a bulk load that then grows the tables, it
	 * would scan them whole for every event.  So no sequential scans, for
	 * these statements only (transaction abort undoes it on error).
	 */
	guc_level = NewGUCNestLevel();
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/* Every ringing session event belongs to a call, even before call_initiated. */
	if (ev->spec->shape != SHAPE_MESSAGE && ev->spec->flow == FLOW_RINGING)
	{
		Datum		args[2] = {cx.app, cx.session};

		if (run(ST_CALL_ENSURE, args, NULL) > 0)
			run(ST_CALL_INIT_COUNT, args, NULL);
	}

	switch (ev->spec->shape)
	{
		case SHAPE_MESSAGE:
			if (kind == CC_CALL_INITIATED)
				apply_call_initiated(&cx);
			else
				apply_outcome(&cx);
			break;
		case SHAPE_START:
		case SHAPE_END:
			apply_instance(&cx);
			break;
		case SHAPE_JOIN:
		case SHAPE_LEAVE:
			apply_participant_event(&cx);
			break;
		case SHAPE_RECORDING:
			apply_recording(&cx);
			break;
		default:
			break;
	}
	AtEOXact_GUC(true, guc_level);
	SPI_finish();
}

/*
 * Replays the whole ledger, in id order, through cc_lifecycle_apply.  Called
 * by cometchat.rebuild() after it emptied the lifecycle tables.
 */
Datum
cc_replay(PG_FUNCTION_ARGS)
{
	MemoryContext per_event = AllocSetContextCreate(CurrentMemoryContext,
													"cometchat replay",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	Portal		portal;
	int64		replayed = 0;

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
				cc_lifecycle_apply(&ev);
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
