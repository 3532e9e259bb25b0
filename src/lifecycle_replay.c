/*
 * lifecycle_replay.c
 *		The replay behind cometchat.rebuild(): every event of the ledger, in
 *		id order, through the lifecycle rules.
 */
#include "cometchat.h"
#include "store.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(cc_replay);

/*
 * Replays the whole ledger, in id order, through cc_lifecycle_apply.  Called
 * by cometchat.rebuild() after it emptied the lifecycle tables.
 */
Datum
cc_replay(PG_FUNCTION_ARGS)
{
	Oid			namespace = get_func_namespace(fcinfo->flinfo->fn_oid);
	MemoryContext per_event = AllocSetContextCreate(CurrentMemoryContext,
													"cometchat replay",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	Portal		portal;
	int64		replayed = 0;

	cc_citus_guard(NULL);
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
				cc_lifecycle_apply(&ev, namespace);
				replayed++;
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(per_event);
		}
		SPI_freetuptable(batch);
	}
	cc_notify_suppress(false);
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(per_event);
	PG_RETURN_INT64(replayed);
}
