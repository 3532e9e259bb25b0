/*
 * ingest.c
 *		The ingest path: the BEFORE INSERT trigger on cometchat.events, and the
 *		SQL functions built on the same analysis (ingest, ingest_raw, validate,
 *		classify, idempotency_key).
 *
 * Every row inserted into the ledger goes through cc_events_trigger:
 *   1. analyze the payload once (payload_rules.c);
 *   2. invalid: store it in cometchat.rejected and skip the row, or raise
 *      when cometchat.on_invalid = 'error';
 *   3. compute the idempotency key; if the key is stored, skip the row
 *      (INSERT 0 0, no dead tuple);
 *   4. queue it for the lifecycle tables (batch.c, lifecycle.c) and fill the
 *      derived columns.
 */
#include "cometchat.h"
#include "compat.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/rls.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(cc_events_trigger);
PG_FUNCTION_INFO_V1(cc_ingest);
PG_FUNCTION_INFO_V1(cc_ingest_raw);
PG_FUNCTION_INFO_V1(cc_validate);
PG_FUNCTION_INFO_V1(cc_classify);
PG_FUNCTION_INFO_V1(cc_idempotency_key);

/* Columns filled from the analysis, in the ledger and in classify()'s result. */
typedef enum CcColumn
{
	COL_ID,
	COL_PAYLOAD,
	COL_VALID,
	COL_APP,
	COL_REGION,
	COL_WEBHOOK,
	COL_TRIGGER,
	COL_KIND,
	COL_FLOW,
	COL_SESSION,
	COL_CALL,
	COL_OCCURRED,
	COL_KEY,
	CC_NUM_COLUMNS
} CcColumn;

static const char *const column_names[CC_NUM_COLUMNS] = {
	[COL_ID] = "id",
	[COL_PAYLOAD] = "payload",
	[COL_VALID] = "valid",
	[COL_APP] = "app_id",
	[COL_REGION] = "region",
	[COL_WEBHOOK] = "webhook",
	[COL_TRIGGER] = "trigger",
	[COL_KIND] = "kind",
	[COL_FLOW] = "flow",
	[COL_SESSION] = "session_id",
	[COL_CALL] = "call_id",
	[COL_OCCURRED] = "occurred_at",
	[COL_KEY] = "idempotency_key",
};

/* 0-based attribute index of each column, or -1 */
typedef struct CcColumnMap
{
	int			att[CC_NUM_COLUMNS];
} CcColumnMap;

static const char *const status_labels[] = {"accepted", "duplicate", "rejected"};

typedef struct CcOutcome
{
	bool		filled;
	CcStatus	status;
	int64		event_id;
	bytea	   *key;
	ArrayType  *problems;
	int64		rejected_id;
	MemoryContext mcxt;
} CcOutcome;

static CcOutcome *outcome_sink = NULL;

/*
 * Ledger layout, cached per relation until its relcache entry changes.  The
 * trigger fires on the partition a row was routed to, and each partition has
 * its own unique index on the key (and, attached from an older ledger, maybe
 * its own column numbers), so there is one entry per partition; a load that
 * spans a few partitions finds them all here.
 */
typedef struct CcLedgerCache
{
	Oid			relid;			/* InvalidOid: a free entry */
	Oid			root;			/* the partitioned ledger, or relid itself */
	CcColumnMap map;
	Oid			key_index;
	bool		key_timed;		/* the index is on (occurred_at, key) */
} CcLedgerCache;

#define LEDGER_CACHE_SIZE 16
static CcLedgerCache ledger_cache[LEDGER_CACHE_SIZE];
static int	ledger_cache_next = 0;	/* the entry replaced next (round robin) */

static SPIPlanPtr reject_plan = NULL;
static SPIPlanPtr ingest_plan = NULL;

static void
invalidate_ledger_cache(Datum arg, Oid relid)
{
	for (int i = 0; i < LEDGER_CACHE_SIZE; i++)
		if (relid == InvalidOid || relid == ledger_cache[i].relid ||
			relid == ledger_cache[i].root)
			ledger_cache[i].relid = InvalidOid;
}

void
cc_ingest_init(void)
{
	CacheRegisterRelcacheCallback(invalidate_ledger_cache, (Datum) 0);
}

static void
build_column_map(TupleDesc tupdesc, CcColumnMap *map)
{
	cc_map_columns(tupdesc, column_names, CC_NUM_COLUMNS, map->att);
}

/* The OID of an enum label; a syscache lookup. */
Oid
cc_enum_label(Oid enumtypid, const char *label)
{
	return DatumGetObjectId(DirectFunctionCall2(enum_in, CStringGetDatum(label),
												ObjectIdGetDatum(enumtypid)));
}

static void
set_text(Datum *values, bool *nulls, int att, const CcValue *v)
{
	if (att < 0)
		return;
	nulls[att] = !v->present;
	if (v->present)
		values[att] = PointerGetDatum(cc_value_text(v));
}

/*
 * Fills the derived columns of tupdesc from an analyzed event.  key is the
 * canonical key text (NULL for an invalid event); the key column gets its
 * digest when it is bytea, the text itself when it is text.
 */
/* The event's time, the ledger's occurred_at; *isnull when it has none. */
static Datum
occurred_datum(const CcEvent *ev, bool *isnull)
{
	CcSlot		slot = ev->spec ? cc_shape_keys[ev->spec->shape].occurred_at : SLOT_NONE;

	*isnull = slot == SLOT_NONE || !ev->v[slot].present;
	return *isnull ? (Datum) 0 : TimestampTzGetDatum(cc_unix_to_timestamptz(ev->v[slot].num));
}

static void
fill_derived(CcEvent *ev, TupleDesc tupdesc, const CcColumnMap *map,
			 Datum *values, bool *nulls, StringInfo key, bytea *digest)
{
	const int  *att = map->att;
	bool		no_time;
	Datum		occurred = occurred_datum(ev, &no_time);

	for (int c = COL_VALID; c < CC_NUM_COLUMNS; c++)
		if (att[c] >= 0)
			nulls[att[c]] = true;

	if (att[COL_VALID] >= 0)
	{
		values[att[COL_VALID]] = BoolGetDatum(ev->nproblems == 0);
		nulls[att[COL_VALID]] = false;
	}
	set_text(values, nulls, att[COL_APP], &ev->v[SLOT_APP]);
	set_text(values, nulls, att[COL_REGION], &ev->v[SLOT_REGION]);
	set_text(values, nulls, att[COL_WEBHOOK], &ev->v[SLOT_WEBHOOK]);
	set_text(values, nulls, att[COL_TRIGGER], &ev->v[SLOT_TRIGGER]);
	set_text(values, nulls, att[COL_SESSION], &ev->v[SLOT_SESSION]);
	set_text(values, nulls, att[COL_CALL], &ev->v[SLOT_CALL_ID]);

	if (ev->spec && att[COL_KIND] >= 0)
	{
		values[att[COL_KIND]] = ObjectIdGetDatum(cc_enum_label(TupleDescAttr(tupdesc, att[COL_KIND])->atttypid,
															   cc_kind_name(ev->spec->kind)));
		nulls[att[COL_KIND]] = false;
	}
	if (ev->spec && ev->spec->flow != FLOW_NONE && att[COL_FLOW] >= 0)
	{
		values[att[COL_FLOW]] = ObjectIdGetDatum(cc_enum_label(TupleDescAttr(tupdesc, att[COL_FLOW])->atttypid,
															   cc_flow_name(ev->spec->flow)));
		nulls[att[COL_FLOW]] = false;
	}
	if (!no_time && att[COL_OCCURRED] >= 0)
	{
		values[att[COL_OCCURRED]] = occurred;
		nulls[att[COL_OCCURRED]] = false;
	}
	if (key && att[COL_KEY] >= 0)
	{
		if (TupleDescAttr(tupdesc, att[COL_KEY])->atttypid == BYTEAOID)
			values[att[COL_KEY]] = PointerGetDatum(digest);
		else
			values[att[COL_KEY]] = PointerGetDatum(cstring_to_text_with_len(key->data, key->len));
		nulls[att[COL_KEY]] = false;
	}
}

/* ---------------------------------------------------------------------- */
/* Quarantine                                                              */
/* ---------------------------------------------------------------------- */

static Oid
ledger_relid(const char *relname)
{
	Oid			namespace = get_namespace_oid("cometchat", false);
	Oid			relid = get_relname_relid(relname, namespace);

	if (!OidIsValid(relid))
		cc_report_missing_table(namespace, relname);
	return relid;
}

static Oid
quarantine_owner(void)
{
	Oid			relid = ledger_relid("rejected");
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tp))->relowner;
	ReleaseSysCache(tp);
	return owner;
}

/*
 * Stores an invalid body in cometchat.rejected, or raises when
 * cometchat.on_invalid = 'error'.  Returns the rejected row's id.
 */
static int64
reject(Jsonb *payload, text *raw_body, ArrayType *problems, CcEvent *ev)
{
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	int64		id;
	bool		isnull;
	CcOwnerContext owner;

	if (cc_on_invalid == CC_ON_INVALID_ERROR)
	{
		StringInfoData detail;
		ListCell   *lc;

		initStringInfo(&detail);
		foreach(lc, ev->problems)
			appendStringInfo(&detail, "%s%s", detail.len ? "\n" : "", (char *) lfirst(lc));
		if (ev->nproblems > list_length(ev->problems))
			appendStringInfo(&detail, "\n(and %d more problems)", ev->nproblems - list_length(ev->problems));
		ereport(ERROR,
				(errcode(raw_body ? ERRCODE_INVALID_JSON_TEXT : ERRCODE_CHECK_VIOLATION),
				 errmsg_plural("invalid CometChat webhook payload: %d problem",
							   "invalid CometChat webhook payload: %d problems",
							   ev->nproblems, ev->nproblems),
				 errdetail("%s", detail.data),
				 errhint("Fix the sender, or SET cometchat.on_invalid = 'quarantine' to keep invalid payloads in table \"cometchat.rejected\".")));
	}

	/*
	 * The quarantine is written with its owner's rights: whoever may insert
	 * into the ledger may have a body quarantined, and needs no grant on
	 * cometchat.rejected itself.
	 */
	values[0] = PointerGetDatum(payload);
	nulls[0] = payload ? ' ' : 'n';
	values[1] = PointerGetDatum(raw_body);
	nulls[1] = raw_body ? ' ' : 'n';
	values[2] = PointerGetDatum(problems);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	cc_enter_owner_context(quarantine_owner(), &owner);
	if (reject_plan == NULL)
	{
		Oid			types[3] = {JSONBOID, TEXTOID, TEXTARRAYOID};
		SPIPlanPtr	plan = SPI_prepare("INSERT INTO cometchat.rejected (payload, raw_body, problems) "
									   "VALUES ($1, $2, $3) RETURNING id", 3, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the quarantine insert: %s", SPI_result_code_string(SPI_result));
		reject_plan = plan;
	}
	if (SPI_execute_plan(reject_plan, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not store a rejected payload");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("the insert into table \"cometchat.rejected\" stored no row"),
				 errhint("Another trigger on table \"cometchat.rejected\" may have skipped the row.")));
	cc_leave_owner_context(&owner);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	cc_stats_count(ev, CC_REJECTED);
	return id;
}

static void
report_outcome(CcStatus status, int64 event_id, bytea *key, ArrayType *problems, int64 rejected_id)
{
	MemoryContext old;
	CcOutcome  *o = outcome_sink;

	if (o == NULL || o->filled)
		return;
	old = MemoryContextSwitchTo(o->mcxt);
	o->filled = true;
	o->status = status;
	o->event_id = event_id;
	o->key = key ? (bytea *) PG_DETOAST_DATUM_COPY(PointerGetDatum(key)) : NULL;
	o->problems = problems ? DatumGetArrayTypePCopy(PointerGetDatum(problems)) : NULL;
	o->rejected_id = rejected_id;
	MemoryContextSwitchTo(old);
}

/* ---------------------------------------------------------------------- */
/* The trigger                                                             */
/* ---------------------------------------------------------------------- */

static SPIPlanPtr policy_plan = NULL;

/*
 * Under per-app row-level security a role may hand in only payloads of its
 * own apps.  The ledger's insert policy checks the rows it stores; a
 * duplicate or an invalid payload never reaches the table, so it is checked
 * here by the same rule, as the calling role.  A payload without an appId
 * belongs to no app and is let through (to the quarantine).
 */
static void
check_insert_policy(Relation rel, Oid root, Jsonb *payload)
{
	bool		isnull;
	bool		allowed;
	Datum		arg = PointerGetDatum(payload);
	int			search_path_level;

	if (check_enable_rls(root, InvalidOid, true) != RLS_ENABLED)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	search_path_level = cc_push_safe_search_path();
	if (policy_plan == NULL)
	{
		Oid			types[1] = {JSONBOID};
		SPIPlanPtr	plan = SPI_prepare("SELECT $1->>'appId' IS NULL OR cometchat.app_visible($1->>'appId')",
									   1, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the insert policy check: %s", SPI_result_code_string(SPI_result));
		policy_plan = plan;
	}
	if (SPI_execute_plan(policy_plan, &arg, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not check the insert policy of table \"%s\"", cc_relation_name(rel));
	allowed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	cc_pop_safe_search_path(search_path_level);
	SPI_finish();
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("new row violates row-level security policy for table \"%s\"",
						get_rel_name(root))));
}

/*
 * The cache entry of the relation the trigger fires on: the ledger's
 * partition.  The row-level security of the partitioned ledger is that of its
 * root (a receiver inserts there; the partitions have none of their own).
 */
static const CcLedgerCache *
ledger_entry(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	CcLedgerCache *entry;

	for (int i = 0; i < LEDGER_CACHE_SIZE; i++)
		if (ledger_cache[i].relid == relid)
			return &ledger_cache[i];

	entry = &ledger_cache[ledger_cache_next];
	ledger_cache_next = (ledger_cache_next + 1) % LEDGER_CACHE_SIZE;
	entry->relid = InvalidOid;
	build_column_map(RelationGetDescr(rel), &entry->map);
	if (entry->map.att[COL_PAYLOAD] < 0 || entry->map.att[COL_KEY] < 0 || entry->map.att[COL_ID] < 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s\" is not a CometChat ledger", cc_relation_name(rel)),
				 errdetail("The ingest trigger needs the columns \"id\", \"payload\" and \"idempotency_key\".")));
	entry->root = relid;
	if (rel->rd_rel->relispartition)
	{
		List	   *ancestors = get_partition_ancestors(relid);

		entry->root = llast_oid(ancestors);
		list_free(ancestors);
	}

	/*
	 * A partition that cometchat.create_partitions() made is no member of
	 * the extension: pg_dump restores it like a table of the user's, its rows
	 * (through this trigger) before its indexes.  Those rows were one per key
	 * when they were dumped, and the unique key restored after them checks
	 * it; until then they are stored without a probe.  A restore is told by
	 * check_function_bodies = off, which every dump sets first (receivers
	 * never do): anywhere else a partition without its key is refused, as is
	 * the default partition (the extension's) and a ledger that is no
	 * partition.  Such an entry is not kept: the key restored after the rows
	 * is found at once.
	 */
	entry->key_index = cc_find_key_index(rel, entry->map.att[COL_KEY], entry->map.att[COL_OCCURRED],
										 &entry->key_timed,
										 rel->rd_rel->relispartition && !check_function_bodies &&
										 !OidIsValid(getExtensionOfObject(RelationRelationId, relid)));
	if (OidIsValid(entry->key_index))
		entry->relid = relid;
	return entry;
}

Datum
cc_events_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	const CcLedgerCache *ledger;
	const CcColumnMap *map;
	Datum		payload_datum;
	bool		isnull;
	Jsonb	   *payload;
	CcEvent		ev;
	StringInfoData key;
	bytea	   *digest;
	int64		existing_id;
	Datum		occurred;
	bool		no_time;
	Datum	   *values;
	bool	   *nulls;
	bool	   *replace;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "function \"cc_events_trigger\" was not called by trigger manager");
	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on table \"%s\" must be fired BEFORE INSERT FOR EACH ROW",
						td->tg_trigger->tgname, cc_relation_name(td->tg_relation))));
	if (!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"cometchat.events\" is append-only"),
				 errdetail("Its derived columns and the lifecycle tables follow from the payload as received."),
				 errhint("Insert the corrected payload as a new event.")));
	cc_citus_guard(td->tg_relation);

	/* The previous row of this backend is in the index by now. */
	cc_release_key_lock();

	rel = td->tg_relation;
	tupdesc = RelationGetDescr(rel);
	tuple = td->tg_trigtuple;
	ledger = ledger_entry(rel);
	map = &ledger->map;

	payload_datum = heap_getattr(tuple, map->att[COL_PAYLOAD] + 1, tupdesc, &isnull);
	if (isnull)
	{
		CcEvent		null_event = {0};
		ArrayType  *problems;

		cc_add_problem(&null_event, "payload: is null");
		problems = cc_problems_array(&null_event);
		report_outcome(CC_REJECTED, 0, NULL, problems, reject(NULL, NULL, problems, &null_event));
		return PointerGetDatum(NULL);
	}
	payload = DatumGetJsonbP(payload_datum);

	cc_analyze(payload, &ev);
	if (ev.nproblems > 0)
	{
		ArrayType  *problems;

		check_insert_policy(rel, ledger->root, payload);
		problems = cc_problems_array(&ev);

		report_outcome(CC_REJECTED, 0, NULL, problems, reject(payload, NULL, problems, &ev));
		return PointerGetDatum(NULL);
	}

	initStringInfo(&key);
	cc_key_text(&ev, &key);
	digest = cc_key_digest(key.data, key.len);

	occurred = occurred_datum(&ev, &no_time);
	if (OidIsValid(ledger->key_index) &&
		cc_key_exists(rel, ledger->key_index, ledger->key_timed, occurred, no_time,
					  digest, map->att[COL_ID], &existing_id))
	{
		cc_release_key_lock();
		check_insert_policy(rel, ledger->root, payload);
		cc_stats_count(&ev, CC_DUPLICATE);
		report_outcome(CC_DUPLICATE, existing_id, digest, NULL, 0);
		return PointerGetDatum(NULL);
	}

	/* Applied to the lifecycle tables at the end of the statement (batch.c). */
	cc_batch_add(&ev, rel->rd_rel->relnamespace, rel->rd_rel->relowner);

	values = palloc(sizeof(Datum) * tupdesc->natts);
	nulls = palloc(sizeof(bool) * tupdesc->natts);
	replace = palloc0(sizeof(bool) * tupdesc->natts);
	fill_derived(&ev, tupdesc, map, values, nulls, &key, digest);
	for (int c = COL_VALID; c < CC_NUM_COLUMNS; c++)
		if (map->att[c] >= 0)
			replace[map->att[c]] = true;
	tuple = heap_modify_tuple(tuple, tupdesc, values, nulls, replace);

	cc_stats_count(&ev, CC_ACCEPTED);
	report_outcome(CC_ACCEPTED,
				   DatumGetInt64(heap_getattr(tuple, map->att[COL_ID] + 1, tupdesc, &isnull)),
				   digest, NULL, 0);
	return PointerGetDatum(tuple);
}

/* ---------------------------------------------------------------------- */
/* ingest() and ingest_raw()                                               */
/* ---------------------------------------------------------------------- */

/*
 * Inserts through the ledger's trigger and returns what the trigger saw.  A
 * raw body that was not JSON (raw_event holds its problem) goes straight to
 * the quarantine.
 */
static Datum
ingest_payload(FunctionCallInfo fcinfo, Datum payload, bool isnull, text *raw_body,
			   CcEvent *raw_event)
{
	CcOutcome	outcome = {0};
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false, true, true, true, true};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	outcome.mcxt = CurrentMemoryContext;

	if (raw_body)
	{
		outcome.filled = true;
		outcome.status = CC_REJECTED;
		outcome.problems = cc_problems_array(raw_event);
		outcome.rejected_id = reject(NULL, raw_body, outcome.problems, raw_event);
	}
	else
	{
		Datum		args[1] = {payload};
		char		argnulls[1] = {isnull ? 'n' : ' '};
		int			search_path_level;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		search_path_level = cc_push_safe_search_path();
		if (ingest_plan == NULL)
		{
			Oid			types[1] = {JSONBOID};
			SPIPlanPtr	plan = SPI_prepare("INSERT INTO cometchat.events (payload) VALUES ($1)", 1, types);

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "could not prepare the ledger insert: %s", SPI_result_code_string(SPI_result));
			ingest_plan = plan;
		}
		outcome_sink = &outcome;
		PG_TRY();
		{
			SPI_execute_plan(ingest_plan, args, argnulls, false, 0);
		}
		PG_FINALLY();
		{
			outcome_sink = NULL;
		}
		PG_END_TRY();
		cc_pop_safe_search_path(search_path_level);
		SPI_finish();
		if (!outcome.filled)
			ereport(ERROR,
					(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
					 errmsg("the insert into table \"cometchat.events\" did not reach its ingest trigger"),
					 errhint("Another trigger on table \"cometchat.events\" may have skipped the row.")));
	}

	values[0] = ObjectIdGetDatum(cc_enum_label(TupleDescAttr(tupdesc, 0)->atttypid,
											   status_labels[outcome.status]));
	if (outcome.status != CC_REJECTED)
	{
		values[1] = Int64GetDatum(outcome.event_id);
		nulls[1] = false;
		values[2] = PointerGetDatum(outcome.key);
		nulls[2] = false;
	}
	else
	{
		values[3] = PointerGetDatum(outcome.problems);
		nulls[3] = false;
		values[4] = Int64GetDatum(outcome.rejected_id);
		nulls[4] = false;
	}
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

Datum
cc_ingest(PG_FUNCTION_ARGS)
{
	cc_citus_guard(NULL);
	return ingest_payload(fcinfo, PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0),
						  PG_ARGISNULL(0), NULL, NULL);
}

/*
 * Parses a raw HTTP body.  A body that is not JSON is not lost: it is
 * quarantined with its text.  jsonb_in raises on bad input, so it runs in a
 * subtransaction; only data errors are caught, anything else (a cancel, out of
 * memory) goes on up.
 */
Datum
cc_ingest_raw(PG_FUNCTION_ARGS)
{
	text	   *body;
	char	   *cstr;
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile Datum payload = (Datum) 0;
	char	   *volatile error = NULL;

	cc_citus_guard(NULL);
	if (PG_ARGISNULL(0))
		return ingest_payload(fcinfo, (Datum) 0, true, NULL, NULL);
	body = PG_GETARG_TEXT_PP(0);
	cstr = text_to_cstring(body);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		payload = DirectFunctionCall1(jsonb_in, CStringGetDatum(cstr));
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		int			category;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);
		if (category != ERRCODE_DATA_EXCEPTION && category != ERRCODE_PROGRAM_LIMIT_EXCEEDED)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		error = edata->detail ? psprintf("%s (%s)", edata->message, edata->detail) : edata->message;
	}
	PG_END_TRY();

	if (error)
	{
		CcEvent		raw_event = {0};
		Oid			ledger = ledger_relid("events");

		/* Quarantining is part of ingesting: the caller must be a receiver. */

		if (pg_class_aclcheck(ledger, GetUserId(), ACL_INSERT) != ACLCHECK_OK &&
			pg_attribute_aclcheck(ledger, get_attnum(ledger, "payload"), GetUserId(),
								  ACL_INSERT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for table %s", get_rel_name(ledger)),
					 errdetail("cometchat.ingest_raw() stores a body that is not JSON in table \"cometchat.rejected\" for receivers only."),
					 errhint("GRANT INSERT (payload) ON cometchat.events TO the receiving role.")));

		cc_add_problem(&raw_event, "body: not valid JSON: %s", error);
		return ingest_payload(fcinfo, (Datum) 0, true, body, &raw_event);
	}
	return ingest_payload(fcinfo, payload, false, NULL, NULL);
}

/* ---------------------------------------------------------------------- */
/* validate(), classify(), idempotency_key()                               */
/* ---------------------------------------------------------------------- */

Datum
cc_validate(PG_FUNCTION_ARGS)
{
	CcEvent		ev;

	cc_analyze(PG_GETARG_JSONB_P(0), &ev);
	if (ev.nproblems == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	PG_RETURN_ARRAYTYPE_P(cc_problems_array(&ev));
}

Datum
cc_classify(PG_FUNCTION_ARGS)
{
	CcEvent		ev;
	TupleDesc	tupdesc;
	CcColumnMap map;
	Datum	   *values;
	bool	   *nulls;
	StringInfoData key;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	build_column_map(tupdesc, &map);

	cc_analyze(PG_GETARG_JSONB_P(0), &ev);
	values = palloc0(sizeof(Datum) * tupdesc->natts);
	nulls = palloc(sizeof(bool) * tupdesc->natts);
	memset(nulls, true, sizeof(bool) * tupdesc->natts);
	initStringInfo(&key);
	if (ev.nproblems == 0)
		cc_key_text(&ev, &key);
	fill_derived(&ev, tupdesc, &map, values, nulls, ev.nproblems == 0 ? &key : NULL, NULL);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
cc_idempotency_key(PG_FUNCTION_ARGS)
{
	CcEvent		ev;
	StringInfoData key;

	cc_analyze(PG_GETARG_JSONB_P(0), &ev);
	if (ev.nproblems > 0)
		PG_RETURN_NULL();
	initStringInfo(&key);
	cc_key_text(&ev, &key);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(key.data, key.len));
}
