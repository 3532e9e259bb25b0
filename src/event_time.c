/*
 * event_time.c
 *		The ledger's partition key: cometchat.event_time(payload), the time an
 *		event happened, read from the payload as the ingest trigger reads it.
 *
 * cometchat.events is partitioned by RANGE (cometchat.event_time(payload)).
 * A receiver inserts the payload alone, and PostgreSQL routes a row to its
 * partition before any BEFORE ROW trigger runs (a trigger on a partition may
 * not move its row elsewhere), so the key must follow from the payload as
 * inserted: it is the occurred_at the trigger then derives, for every valid
 * payload.  An invalid payload, or one without a time (an unknown trigger),
 * has none and goes to the default partition; the trigger quarantines the
 * former there and stores the latter.
 *
 * The same row's key is computed up to three times: to route it, and twice
 * more to check the partition constraint after the ingest trigger (every
 * BEFORE ROW trigger on a partition is followed by that check).  The last
 * payload and its time are kept, so the analysis runs once per row.
 */
#include "cometchat.h"

#include "utils/memutils.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(cc_event_time);

/* Payloads larger than this are analyzed afresh each time (rare, and costly to copy). */
#define MEMO_MAX_BYTES	(64 * 1024)

static MemoryContext memo_cxt = NULL;
static Jsonb *memo_payload = NULL;
static bool memo_isnull = true;
static TimestampTz memo_time = 0;

/* The event time of a payload: *isnull when it is invalid or has no time. */
static TimestampTz
analyze_time(Jsonb *payload, bool *isnull)
{
	CcEvent		ev;
	CcSlot		slot;

	cc_analyze(payload, &ev);
	slot = ev.spec ? cc_shape_keys[ev.spec->shape].occurred_at : SLOT_NONE;
	*isnull = ev.nproblems > 0 || slot == SLOT_NONE || !ev.v[slot].present;
	return *isnull ? 0 : cc_unix_to_timestamptz(ev.v[slot].num);
}

Datum
cc_event_time(PG_FUNCTION_ARGS)
{
	Jsonb	   *payload = PG_GETARG_JSONB_P(0);
	Size		size = VARSIZE(payload);
	TimestampTz result;
	bool		isnull;

	if (memo_payload != NULL && VARSIZE(memo_payload) == size &&
		memcmp(memo_payload, payload, size) == 0)
	{
		if (memo_isnull)
			PG_RETURN_NULL();
		PG_RETURN_TIMESTAMPTZ(memo_time);
	}

	result = analyze_time(payload, &isnull);

	if (size <= MEMO_MAX_BYTES)
	{
		if (memo_cxt == NULL)
			memo_cxt = AllocSetContextCreate(TopMemoryContext, "cometchat event_time",
											 ALLOCSET_SMALL_SIZES);
		else
			MemoryContextReset(memo_cxt);
		memo_payload = MemoryContextAlloc(memo_cxt, size);
		memcpy(memo_payload, payload, size);
		memo_isnull = isnull;
		memo_time = result;
	}
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(result);
}
