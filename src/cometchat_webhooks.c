/*
 * cometchat_webhooks.c
 *		The module's entry point: its settings, all under "cometchat.", and
 *		the callbacks and hooks each part of it installs.
 *
 * What happens where:
 *	payload_rules.c		what a valid webhook is, and what is read from it
 *	idempotency.c		the idempotency key, and the probe for it in the ledger
 *	event_time.c		the ledger's partition key, the event time of a payload
 *	ingest.c			the trigger on cometchat.events and the ingest functions
 *	batch.c				accepted events wait for their statement's end (or the
 *						commit), then are applied together
 *	lifecycle*.c		the lifecycle tables, from the events (see lifecycle.c)
 *	store.c				index lookups and row writes on the lifecycle tables
 *	notify.c			NOTIFY when a call's or a session's status changes
 *	ingest_stats.c		counters of accepted, duplicate and rejected deliveries
 *	citus_guard.c		refusing to write where Citus spread the tables
 *	common.c			helpers the others share
 */
#include "cometchat.h"
#include "store.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

PG_MODULE_MAGIC;

int			cc_on_invalid = CC_ON_INVALID_QUARANTINE;
int			cc_outcome_window = 300;
int			cc_batch_size = 16384;
int			cc_stats_max = 5000;
static int	cc_stale_after_secs = 43200;

static const struct config_enum_entry on_invalid_options[] = {
	{"quarantine", CC_ON_INVALID_QUARANTINE, false},
	{"error", CC_ON_INVALID_ERROR, false},
	{NULL, 0, false}
};

void		_PG_init(void);

PG_FUNCTION_INFO_V1(cc_stale_after);

void
_PG_init(void)
{
	DefineCustomEnumVariable("cometchat.on_invalid",
							 "What happens to a webhook payload that fails validation.",
							 "quarantine stores it in cometchat.rejected with its problems and skips "
							 "the insert; error raises an error listing the problems.",
							 &cc_on_invalid,
							 CC_ON_INVALID_QUARANTINE,
							 on_invalid_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	/*
	 * The link rule of outcome events is part of what the lifecycle tables
	 * mean, so only a superuser may change it (then runs cometchat.rebuild()).
	 */
	DefineCustomIntVariable("cometchat.outcome_window",
							"How long after call_initiated an outcome event (busy, cancelled, "
							"rejected, unanswered) of the same conversation still belongs to it.",
							"Change it, then run cometchat.rebuild().",
							&cc_outcome_window,
							300,
							1,
							86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	/*
	 * Each queued event takes about 1.5 kB of memory until it is applied; a
	 * value of 1 applies every event as its row is inserted.
	 */
	DefineCustomIntVariable("cometchat.batch_size",
							"How many accepted events one statement queues before applying them "
							"to the lifecycle tables.",
							"Events are applied at the end of their statement, grouped by session "
							"id; a statement that accepts more applies them this many at a time.",
							&cc_batch_size,
							16384,
							1,
							1000000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	/*
	 * Off by default: notifying transactions wait for each other at commit,
	 * and a queue no listener reads fills until ingestion fails.
	 */
	DefineCustomBoolVariable("cometchat.notify",
							 "Whether a change of a call's or a session's status sends NOTIFY "
							 "cometchat_lifecycle.",
							 "One notification per row per statement, delivered at commit, with "
							 "a JSON payload (table, ids, old and new status, event time).",
							 &cc_notify,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	/*
	 * Sizes the shared memory of cometchat.ingest_stats (ingest_stats.c): a
	 * server start setting, which can only be defined while the server
	 * starts.
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("cometchat.stats_max",
								"How many (app id, event kind) pairs cometchat.ingest_stats counts.",
								"Past that, new pairs are counted in the row whose app_id and kind "
								"are NULL.",
								&cc_stats_max,
								5000,
								100,
								1000000,
								PGC_POSTMASTER,
								0,
								NULL, NULL, NULL);

	/*
	 * Read by the lifecycle views only (through cometchat.stale_after()), at
	 * query time: the tables do not depend on it, so anyone may set it.  A
	 * call or meeting may run for hours with nobody joining or leaving, so
	 * silence alone means little: the default, 12 hours, is longer than a
	 * working day's meeting, and still flags a lost end within the day.
	 */
	DefineCustomIntVariable("cometchat.stale_after",
							"How long an open call or session instance may go without an event "
							"before cometchat.call_lifecycle and cometchat.session_lifecycle call "
							"it stale.",
							"Stale rows get their last event's time as their estimated end.",
							&cc_stale_after_secs,
							43200,
							1,
							INT_MAX,
							PGC_USERSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("cometchat");

	/*
	 * Each part installs its own callbacks and hooks: the store its
	 * transaction and relcache callbacks; the batch its transaction
	 * callbacks (the apply before commit among them) and the ExecutorRun,
	 * ExecutorFinish and ProcessUtility hooks; the ingest path its ledger
	 * cache's relcache callback; the key probe the release of its lock at
	 * transaction end; the Citus guard its cache callbacks.  Nothing
	 * depends on their order.
	 */
	cc_store_init();
	cc_batch_init();
	cc_ingest_init();
	cc_idempotency_init();
	cc_citus_guard_init();
	cc_stats_init();
	cc_notify_init();
}

/*
 * cometchat.stale_after(): the setting as an interval.  Being in the
 * library, calling it defines the setting first, so the views never read a
 * placeholder's unchecked string.
 */
Datum
cc_stale_after(PG_FUNCTION_ARGS)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = (int64) cc_stale_after_secs * USECS_PER_SEC;
	PG_RETURN_INTERVAL_P(result);
}
