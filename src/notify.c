/*
 * notify.c
 *		NOTIFY cometchat_lifecycle when a call's status changes or a session
 *		instance starts or ends, when cometchat.notify is on.
 *
 * The store (store.c) tells this file of every status a calls or sessions
 * row is written with; a change is kept here, one per row, until the end of
 * the statement whose events caused it (batch.c calls cc_notify_flush), and
 * then sent with Async_Notify: a row that went initiated -> ongoing -> ended
 * within one statement is one notification, from initiated to ended.  A row
 * that ended where it began sends none.  As with NOTIFY, what is sent is
 * delivered at commit, and not at all when the transaction (or the
 * subtransaction that sent it) rolls back; changes kept for a
 * subtransaction that rolls back before its statement ends are dropped here.
 * rebuild() sends nothing: it recomputes rows, their statuses do not change.
 *
 * Off by default: a transaction that notifies takes, at commit, a lock that
 * every other notifying transaction of the cluster waits for, and when no
 * listener reads the queue for long it fills, and then ingestion fails.  A
 * transaction that notified cannot be prepared (PREPARE TRANSACTION).
 *
 * The payload is a JSON object:
 *	{"table": "calls", "app_id": ..., "session_id": ..., "call_id": ...,
 *	 "old_status": ..., "new_status": ..., "event_time": ...}
 *	{"table": "sessions", "app_id": ..., "session_id": ..., "started_at": ...,
 *	 "old_status": ..., "new_status": ..., "event_time": ...}
 * Times are ISO 8601 in UTC ("2023-11-15T09:00:10+00:00").
 * old_status is null for a new row.  event_time is when the new status
 * began: initiated_at, started_at, outcome_at or ended_at of a call,
 * started_at or ended_at of a session, or, when that is unknown (a call
 * someone joined before its call_started arrived), the time of the event
 * that changed it.  The payload rules bound the ids (app ids 255 bytes,
 * session ids 512, message ids 18 digits), so a payload is at most about
 * 5 kB even when every character is one JSON escapes in 6 bytes, under
 * NOTIFY's limit of 8000 bytes.  Were those limits raised, a payload past
 * NOTIFY's would leave the ids out ("ids_omitted": true) rather than make
 * the ingest fail.
 */
#include "lifecycle.h"

#include "access/xact.h"
#include "commands/async.h"
#include "common/hashfn.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define CC_NOTIFY_CHANNEL	"cometchat_lifecycle"
/* NOTIFY's limit (async.c): the payload must be shorter than this. */
#define CC_NOTIFY_MAX		(BLCKSZ - NAMEDATALEN - 128)

bool		cc_notify = false;

typedef struct CcNotice
{
	SubTransactionId subxid;
	CcRelId		rel;
	text	   *app;
	text	   *session;		/* NULL: a calls row without one */
	text	   *call;			/* calls: its call_id, or NULL */
	TimestampTz started;		/* sessions: the instance */
	Oid			old_status;		/* InvalidOid: a new row */
	Oid			new_status;
	TimestampTz at;
} CcNotice;

static MemoryContext notice_cxt = NULL;
static CcNotice *notices = NULL;
static int	nnotices = 0;
static int	notices_cap = 0;
static int	suppressed = 0;
static TimestampTz event_time = 0;

/* The time of the event being applied, for changes whose own time is unknown. */
void
cc_notify_event_time(TimestampTz t)
{
	event_time = t;
}

/* While rebuild() replays the ledger: nothing changes, nothing is sent. */
void
cc_notify_suppress(bool on)
{
	suppressed += on ? 1 : -1;
}

static bool
same_text(text *a, text *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return cc_texts_equal(PointerGetDatum(a), PointerGetDatum(b));
}

static text *
copy_text(const CcRow *row, int col)
{
	if (CC_ISNULL(row, col))
		return NULL;
	return DatumGetTextPCopy(CC_GET(row, col));
}

/* When the row's new status began, as the row tells it (0: it does not). */
static TimestampTz
status_time(const CcRow *row, const char *status)
{
	static const struct
	{
		CcRelId		rel;
		const char *status;
		int			col;
	}			times[] = {
		{CC_CALLS, "initiated", C_INITIATED},
		{CC_CALLS, "ongoing", C_STARTED},
		{CC_CALLS, "ended", C_ENDED},
		{CC_CALLS, NULL, C_OUTCOME_AT},	/* the outcomes */
		{CC_SESSIONS, "active", S_STARTED},
		{CC_SESSIONS, "ended", S_ENDED},
	};
	CcRelId		rel = row->r->rri->ri_RangeTableIndex - 1;

	for (int i = 0; i < lengthof(times); i++)
		if (times[i].rel == rel && (times[i].status == NULL || strcmp(times[i].status, status) == 0))
			return CC_ISNULL(row, times[i].col) ? 0 : DatumGetTimestampTz(CC_GET(row, times[i].col));
	return 0;
}

/*
 * Which row a notice is of: its table, app and session id (a calls row
 * without one: its call id), and for sessions the instance.  A bulk load
 * changes hundreds of thousands of rows in one statement, so the notices are
 * found by a hash of that, not by a scan of them all.
 */
static uint64
row_hash(CcRelId rel, text *app, text *session, text *call, TimestampTz started)
{
	text	   *id = session ? session : call;
	uint64		h = hash_bytes_extended((const unsigned char *) VARDATA_ANY(app),
										VARSIZE_ANY_EXHDR(app), (uint64) rel);

	if (id)
		h ^= hash_bytes_extended((const unsigned char *) VARDATA_ANY(id),
								 VARSIZE_ANY_EXHDR(id), h) + (session ? 1 : 2);
	return h ^ (uint64) started;
}

typedef struct CcNoticeSlot
{
	uint64		hash;			/* hash key: first */
	int			index;			/* in notices[] */
} CcNoticeSlot;

static HTAB *notice_hash = NULL;	/* in notice_cxt; NULL: to be built */

static bool
same_row(const CcNotice *n, CcRelId rel, text *app, text *session, text *call,
		 TimestampTz started)
{
	return n->rel == rel && n->started == started && same_text(n->app, app) &&
		same_text(n->session, session) && (rel == CC_SESSIONS || session || same_text(n->call, call));
}

static void
remember_notice(int index)
{
	const CcNotice *n = &notices[index];
	uint64		h = row_hash(n->rel, n->app, n->session, n->call, n->started);
	bool		found;
	CcNoticeSlot *slot;

	if (notice_hash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(CcNoticeSlot);
		ctl.hcxt = notice_cxt;
		notice_hash = hash_create("cometchat notices", 256, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		for (int i = 0; i < nnotices; i++)
			if (i != index)
				remember_notice(i);
	}
	slot = hash_search(notice_hash, &h, HASH_ENTER, &found);
	/* (Two rows of one 64-bit hash: the later one is found by a scan.) */
	if (!found)
		slot->index = index;
}

/* The index of the row's notice, or -1. */
static int
find_notice(CcRelId rel, text *app, text *session, text *call, TimestampTz started)
{
	uint64		h = row_hash(rel, app, session, call, started);
	CcNoticeSlot *slot;

	if (nnotices == 0)
		return -1;
	if (notice_hash == NULL)
		remember_notice(0);
	slot = hash_search(notice_hash, &h, HASH_FIND, NULL);
	if (slot == NULL)
		return -1;
	if (same_row(&notices[slot->index], rel, app, session, call, started))
		return slot->index;
	for (int i = nnotices - 1; i >= 0; i--)
		if (same_row(&notices[i], rel, app, session, call, started))
			return i;
	return -1;
}

/*
 * The store wrote this calls or sessions row, its status going from
 * old_status (InvalidOid: the row is new) to new_status.
 */
void
cc_notify_status(const CcRow *row, CcRelId rel, Oid old_status, Oid new_status)
{
	SubTransactionId subxid = GetCurrentSubTransactionId();
	text	   *app;
	text	   *session;
	text	   *call = NULL;
	TimestampTz started = 0;
	TimestampTz at;
	CcNotice   *n;
	MemoryContext old;
	int			i;

	if (!cc_notify || suppressed > 0 || old_status == new_status)
		return;
	at = status_time(row, DatumGetCString(DirectFunctionCall1(enum_out, ObjectIdGetDatum(new_status))));
	if (at == 0)
		at = event_time;
	if (notice_cxt == NULL)
		notice_cxt = AllocSetContextCreate(TopMemoryContext, "cometchat notices",
										   ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(notice_cxt);
	app = copy_text(row, rel == CC_CALLS ? C_APP : S_APP);
	session = copy_text(row, rel == CC_CALLS ? C_SESSION : S_SESSION);
	if (rel == CC_CALLS)
		call = copy_text(row, C_CALL);
	else
		started = DatumGetTimestampTz(CC_GET(row, S_STARTED));

	/* The row's change earlier in the statement: this one continues it. */
	i = find_notice(rel, app, session, call, started);
	if (i >= 0)
	{
		n = &notices[i];
		n->new_status = new_status;
		n->at = at;
		if (rel == CC_CALLS && n->call == NULL)
			n->call = call;
		else if (call)
			pfree(call);
		if (subxid > n->subxid)
			n->subxid = subxid;
		/* The notice keeps its own copies: a bulk load changes rows many times. */
		pfree(app);
		if (session)
			pfree(session);
		MemoryContextSwitchTo(old);
		return;
	}
	if (nnotices == notices_cap)
	{
		notices_cap = notices_cap ? notices_cap * 2 : 16;
		notices = notices ? repalloc(notices, sizeof(CcNotice) * notices_cap) :
			palloc(sizeof(CcNotice) * notices_cap);
	}
	n = &notices[nnotices++];
	n->subxid = subxid;
	n->rel = rel;
	n->app = app;
	n->session = session;
	n->call = call;
	n->started = started;
	n->old_status = old_status;
	n->new_status = new_status;
	n->at = at;
	remember_notice(nnotices - 1);
	MemoryContextSwitchTo(old);
}

static void
forget_notices(void)
{
	if (notice_cxt)
		MemoryContextReset(notice_cxt);
	notice_hash = NULL;
	notices = NULL;
	nnotices = notices_cap = 0;
}

static void
append_key(StringInfo out, const char *key)
{
	appendStringInfo(out, ", \"%s\": ", key);
}

static void
append_text(StringInfo out, const char *key, text *t)
{
	append_key(out, key);
	if (t == NULL)
		appendStringInfoString(out, "null");
	else
		cc_append_json_string(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

static void
append_time(StringInfo out, const char *key, TimestampTz t)
{
	append_key(out, key);
	if (t == 0)
		appendStringInfoString(out, "null");
	else
	{
		/* ISO 8601 in UTC, whatever the session's DateStyle and TimeZone. */
		static const int utc = 0;
		char		buf[MAXDATELEN + 1];

		appendStringInfo(out, "\"%s\"", JsonEncodeDateTime(buf, TimestampTzGetDatum(t), TIMESTAMPTZOID, &utc));
	}
}

static void
append_status(StringInfo out, const char *key, Oid status)
{
	append_key(out, key);
	if (!OidIsValid(status))
		appendStringInfoString(out, "null");
	else
	{
		char	   *s = DatumGetCString(DirectFunctionCall1(enum_out, ObjectIdGetDatum(status)));

		cc_append_json_string(out, s, strlen(s));
	}
}

static void
build_payload(StringInfo out, const CcNotice *n, bool with_ids)
{
	resetStringInfo(out);
	appendStringInfo(out, "{\"table\": \"%s\"", n->rel == CC_CALLS ? "calls" : "sessions");
	append_text(out, "app_id", n->app);
	if (with_ids)
	{
		append_text(out, "session_id", n->session);
		if (n->rel == CC_CALLS)
			append_text(out, "call_id", n->call);
		else
			append_time(out, "started_at", n->started);
	}
	append_status(out, "old_status", n->old_status);
	append_status(out, "new_status", n->new_status);
	append_time(out, "event_time", n->at);
	if (!with_ids)
		appendStringInfoString(out, ", \"ids_omitted\": true");
	appendStringInfoChar(out, '}');
}

/* Sends the statement's changes. */
void
cc_notify_flush(void)
{
	StringInfoData payload;

	if (nnotices == 0)
		return;
	initStringInfo(&payload);
	for (int i = 0; i < nnotices; i++)
	{
		const CcNotice *n = &notices[i];

		if (n->old_status == n->new_status)
			continue;
		build_payload(&payload, n, true);
		if (payload.len >= CC_NOTIFY_MAX)
			build_payload(&payload, n, false);
		Async_Notify(CC_NOTIFY_CHANNEL, payload.data);
	}
	pfree(payload.data);
	forget_notices();
}

static void
notify_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
	{
		forget_notices();
		suppressed = 0;
	}
}

static void
notify_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	int			kept = 0;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	for (int i = 0; i < nnotices; i++)
	{
		if (notices[i].subxid >= mySubid)
		{
			if (event == SUBXACT_EVENT_ABORT_SUB)
				continue;
			notices[i].subxid = parentSubid;
		}
		notices[kept++] = notices[i];
	}
	if (kept != nnotices && notice_hash)
	{
		/* Indexes moved: built again when next needed. */
		hash_destroy(notice_hash);
		notice_hash = NULL;
	}
	nnotices = kept;
}

void
cc_notify_init(void)
{
	RegisterXactCallback(notify_xact_callback, NULL);
	RegisterSubXactCallback(notify_subxact_callback, NULL);
}
