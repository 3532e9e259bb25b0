/*
 * lifecycle_replay.c
 *		The replay behind cometchat.rebuild(), rebuild_in_steps() and
 *		verify_in_steps(): events of the ledger, in id order, through the
 *		lifecycle rules.
 *
 * The replay goes through the same queue as a bulk load (batch.c): each
 * event is analyzed again and queued, and every cometchat.batch_size events
 * are applied as one batch, grouped by the id they lock, so that a
 * session's rows are read and written once per batch rather than once per
 * event.  The lifecycle rules give the same rows in any order of the
 * events, so the replay gives the rows a bulk load or single-row inserts
 * of the ledger gave.
 *
 * What it replays: the whole ledger, or the events that happened at or
 * after a time (rebuild(since)), or those whose ids lie in a range (a step
 * of rebuild_in_steps()).  Whole or since, rebuild() holds the ledger in
 * SHARE mode, which keeps every ingest, and so every other writer of the
 * lifecycle tables, out until it commits: its events take no id locks nor
 * claims (cc_batch_add_unlocked), which would grow with the ledger.  A step
 * is a transaction of its own beside live ingest: its events take their
 * ids' locks (or claims) like a backfill's, and the rules merge them with
 * what live events wrote meanwhile, in whatever order.
 *
 * The rows go to the lifecycle tables of the ledger's schema, or to those
 * of another schema given (cometchat.verify_in_steps() replays into copies
 * of them in the session's temporary schema).
 *
 * Memory: one batch of queued events (about 1.1 kB each) and one cursor
 * fetch of payloads, whatever the ledger's size; and what PostgreSQL keeps
 * to the end of the transaction, a combo command id for each update of a
 * row the transaction wrote (each write is a command of its own, so each
 * such update is a distinct (cmin, cmax) pair, about 40 bytes).  A row is
 * written once per batch by its group's flush, but a call's and a
 * session's rows are inserted by their first event and updated at least
 * once after, so that part grows with the events replayed in one
 * transaction: 17 bytes per event (test/bench/run --verify: 380 MB at 20
 * million events).  rebuild_in_steps() and verify_in_steps() bound it by
 * the step's size.
 */
#include "cometchat.h"
#include "store.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(cc_replay);

/* Payloads fetched from the ledger at a time. */
#define REPLAY_FETCH 1000

/*
 * Replays events of the ledger, in id order, through the lifecycle rules, as
 * the ledger's owner (as its trigger applies events).  Arguments, each NULL
 * for no bound (and none at all for the 1.0 to 1.4 cometchat._replay()):
 * since, the first event time replayed; after_id and upto_id, the range of
 * ids (after_id excluded); locked, whether events take their ids' locks;
 * tables, the schema of the lifecycle tables written (NULL: the ledger's).
 * Returns the number of events replayed.
 */
Datum
cc_replay(PG_FUNCTION_ARGS)
{
	Oid			namespace = get_func_namespace(fcinfo->flinfo->fn_oid);
	Oid			ledger_id = get_relname_relid("events", namespace);
	Oid			tables = PG_NARGS() > 4 && !PG_ARGISNULL(4) ? PG_GETARG_OID(4) : namespace;
	Oid			owner;
	Oid			types[3] = {TIMESTAMPTZOID, INT8OID, INT8OID};
	Datum		values[3];
	char		nulls[3];
	bool		locked = PG_NARGS() > 3 && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	MemoryContext per_event = AllocSetContextCreate(CurrentMemoryContext,
													"cometchat replay",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	Relation	ledger;
	StringInfoData query;
	Portal		portal;
	int64		replayed = 0;

	cc_citus_guard(NULL);
	if (!OidIsValid(ledger_id))
		cc_report_missing_table(namespace, "events");
	ledger = table_open(ledger_id, AccessShareLock);
	owner = ledger->rd_rel->relowner;
	table_close(ledger, NoLock);

	/*
	 * The bounds given, each a condition of its own.  since compares the
	 * stored time, which each partition's unique key leads with, and the
	 * partition key's own expression (the same time), which prunes the older
	 * partitions; a 1.0 to 1.4 ledger, which has no such function, is never
	 * given one.
	 */
	initStringInfo(&query);
	appendStringInfoString(&query, "SELECT e.payload FROM cometchat.events e WHERE true");
	for (int i = 0; i < 3; i++)
	{
		static const char *const bound[3] = {
			" AND e.occurred_at >= $1 AND cometchat.event_time(e.payload) >= $1",
			" AND e.id > $2", " AND e.id <= $3"
		};
		bool		given = PG_NARGS() > i && !PG_ARGISNULL(i);

		values[i] = given ? PG_GETARG_DATUM(i) : (Datum) 0;
		nulls[i] = given ? ' ' : 'n';
		if (given)
			appendStringInfoString(&query, bound[i]);
	}
	appendStringInfoString(&query, " ORDER BY e.id");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL, query.data, 3, types, values, nulls, true, 0);
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
				if (locked)
					cc_batch_add(&ev, tables, owner);
				else
					cc_batch_add_unlocked(&ev, tables, owner);
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
	pfree(query.data);
	MemoryContextDelete(per_event);
	PG_RETURN_INT64(replayed);
}
