/*
 * lifecycle_replay.c
 *		The replay behind cometchat.rebuild(): every event of the ledger, in
 *		id order, through the lifecycle rules.
 *
 * The replay goes through the same queue as a bulk load (batch.c): each
 * event is analyzed again and queued, and every cometchat.batch_size events
 * are applied as one batch, grouped by the id they lock, so that a
 * session's rows are read and written once per batch rather than once per
 * event.  The lifecycle rules give the same rows in any order of the
 * events, so the replay gives the rows a bulk load or single-row inserts
 * of the ledger gave.  Its events take no id locks nor claims
 * (cc_batch_add_unlocked): rebuild() holds the ledger in SHARE mode, which
 * keeps every ingest, and so every other writer of the lifecycle tables,
 * out until it commits (whether it emptied them with TRUNCATE or, after a
 * retirement, deleted what began after the horizon); and a claim per id
 * grew with the ledger.
 *
 * Memory: one batch of queued events (about 1.1 kB each) and one cursor
 * fetch of payloads, whatever the ledger's size; and what PostgreSQL keeps
 * to the end of the transaction, a combo command id for each update of a
 * row the transaction wrote (each write is a command of its own, so each
 * such update is a distinct (cmin, cmax) pair, about 40 bytes).  A row is
 * written once per batch by its group's flush, but a call's and a
 * session's rows are inserted by their first event and updated at least
 * once after, so that part grows with the ledger: 17 bytes per event
 * (test/bench/run --verify: 380 MB at 20 million events).  Writing each
 * row once would need the groups to keep new rows in memory until their
 * flush, and the ledger replayed in session order, not id order.
 */
#include "cometchat.h"
#include "store.h"

#include "access/table.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(cc_replay);

/* Payloads fetched from the ledger at a time. */
#define REPLAY_FETCH 1000

/*
 * Replays the whole ledger, in id order, through the lifecycle rules, as
 * the ledger's owner (as its trigger applies events).  Called by
 * cometchat.rebuild() after it emptied the lifecycle tables.
 */
Datum
cc_replay(PG_FUNCTION_ARGS)
{
	Oid			namespace = get_func_namespace(fcinfo->flinfo->fn_oid);
	Oid			ledger_id = get_relname_relid("events", namespace);
	Oid			owner;
	MemoryContext per_event = AllocSetContextCreate(CurrentMemoryContext,
													"cometchat replay",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	Relation	ledger;
	Portal		portal;
	int64		replayed = 0;

	cc_citus_guard(NULL);
	if (!OidIsValid(ledger_id))
		cc_report_missing_table(namespace, "events");
	ledger = table_open(ledger_id, AccessShareLock);
	owner = ledger->rd_rel->relowner;
	table_close(ledger, NoLock);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT payload FROM cometchat.events ORDER BY id",
									   0, NULL, NULL, NULL, true, 0);
	/* Statuses do not change in a replay: nothing to notify (the abort ends it too). */
	cc_notify_suppress(true);
	for (;;)
	{
		SPITupleTable *batch;
		uint64		n;

		SPI_cursor_fetch(portal, true, REPLAY_FETCH);
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
				/* Queued as a copy; a full queue is applied at once. */
				cc_batch_add_unlocked(&ev, namespace, owner);
				replayed++;
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(per_event);
		}
		SPI_freetuptable(batch);
	}
	SPI_cursor_close(portal);
	/* The last, partial batch: the caller reads the tables next. */
	cc_batch_apply_pending();
	cc_notify_suppress(false);
	SPI_finish();
	MemoryContextDelete(per_event);
	PG_RETURN_INT64(replayed);
}
