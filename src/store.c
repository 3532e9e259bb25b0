/*
 * store.c
 *		Index lookups and single-row writes on the lifecycle tables (see
 *		store.h).
 *
 * Tables are found by name in the extension's schema and columns by name
 * in their tuple descriptors, and an index scan uses whichever plain B-tree
 * index leads with the columns it is given: the same code serves the 1.0
 * catalog (indexes led by app_id) and the 1.1 one (led by the id).
 */
#include "store.h"
#include "cometchat.h"
#include "compat.h"

#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

typedef struct CcTableDef
{
	const char *name;
	const char *cols[CC_MAX_COLS];
	/* Columns from this one on may be missing (a catalog before 1.4, 1.5). */
	int			first_optional;
	/* Sets the columns the store derives from the others, before a write. */
	void		(*derive) (CcRow *row);
} CcTableDef;

static void derive_call_key(CcRow *row);

/* Indexed by CcRelId; column names in CcCol order. */
static const CcTableDef tables[CC_NUM_RELS] = {
	[CC_SESSIONS] = {"sessions",
	{"app_id", "session_id", "started_at", "mode", "ended_at", "participant_count",
	"peak_participants", "recording_count", "last_event_at"}, S_LAST},
	[CC_CALLS] = {"calls",
	{"app_id", "session_id", "call_id", "conversation_id", "caller", "receiver",
		"receiver_type", "media", "initiated_at", "started_at", "ended_at", "outcome",
	"outcome_at", "participant_count", "call_key", "last_event_at"}, C_KEY, derive_call_key},
	[CC_OUTCOMES] = {"call_outcomes",
	{"app_id", "outcome_id", "conversation_id", "outcome", "sent_at", "linked_call_id"}},
	[CC_PARTICIPANTS] = {"participants",
	{"app_id", "session_id", "session_started_at", "name", "joined_at", "left_at",
		"audio_only", "platform", "sdk", "sdk_version", "left_at_from",
	"audio_only_from"}},
	[CC_RECORDINGS] = {"recordings",
	{"app_id", "session_id", "session_started_at", "started_at", "duration",
	"recording_url", "recording_date"}},
};

/*
 * The store is kept for the whole transaction: a bulk load opens the tables,
 * their indexes and their generated-column expressions once, not once per
 * event.  Tables are opened under the transaction's resource owner and
 * closed before commit; on abort, the resource owners release them.  A
 * relcache invalidation of a table (DDL in this transaction) makes the store
 * be rebuilt before the next event.
 */
static CcStore *xact_store = NULL;
static bool store_stale = false;

/*
 * What a store learns of a table from the catalogs, kept for the session: a
 * single-row transaction makes a store of its own, and looking the table up
 * by name, mapping its columns by name and preparing its stored generated
 * columns (what ExecInitStoredGenerated does) cost it more than all its index
 * lookups.  Forgotten when the table's relcache entry is invalidated (DROP,
 * ALTER TABLE, CREATE TRIGGER ... all send that), and at once for every
 * table on an invalidation of all of them.
 */
typedef struct CcTableInfo
{
	Oid			namespace;		/* InvalidOid: nothing known */
	Oid			relid;
	bool		hastriggers;	/* pg_class.relhastriggers */
	bool		mapped;			/* att is known */
	int			att[CC_MAX_COLS];
	/*
	 * The stored generated columns' expressions, planned and ready to run
	 * (by 0-based attribute index; NULL if not generated).  An ExprState made
	 * without a parent plan holds nothing of the query that runs it, so every
	 * store's ResultRelInfo uses these same ones.  In gen_cxt.
	 */
	bool		gen_known;
	ExprState **gen_states;
	Bitmapset  *gen_cols;		/* generated columns, by attnum -
								 * FirstLowInvalidHeapAttributeNumber */
	MemoryContext gen_cxt;
} CcTableInfo;

static CcTableInfo table_info[CC_NUM_RELS];

/* Rows written, by table, ever: what the lifecycle's kept rows check (cc_writes). */
static uint64 rel_writes[CC_NUM_RELS];

/* Stores made, ever. */
static uint64 store_generation = 0;

static void
store_close(void)
{
	ResourceOwner saved = CurrentResourceOwner;
	ListCell   *lc;

	CurrentResourceOwner = TopTransactionResourceOwner;
	for (int i = 0; i < CC_NUM_RELS; i++)
	{
		if (!xact_store->opened[i])
			continue;
		/* An error in cc_rel may have left the table open without its indexes. */
		if (xact_store->rels[i].rri)
			ExecCloseIndices(xact_store->rels[i].rri);
		table_close(xact_store->rels[i].rel, NoLock);
	}
	if (!xact_store->broken)
	{
		EvalPlanQualEnd(&xact_store->epq);
		ExecResetTupleTable(xact_store->estate->es_tupleTable, false);
		FreeExecutorState(xact_store->estate);
	}
	else
	{
		/*
		 * A slot may still name a buffer whose pin the aborting
		 * subtransaction releases: only the tuple descriptors are let go.
		 */
		foreach(lc, xact_store->estate->es_tupleTable)
		{
			TupleTableSlot *slot = lfirst(lc);

			if (slot->tts_tupleDescriptor)
				ReleaseTupleDesc(slot->tts_tupleDescriptor);
		}
		MemoryContextDelete(xact_store->estate->es_query_cxt);
	}
	CurrentResourceOwner = saved;
	pfree(xact_store);
	xact_store = NULL;
}

static void
store_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (xact_store)
				store_close();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			/* Memory goes with the transaction, references with its owners. */
			xact_store = NULL;
			break;
		default:
			break;
	}
	store_stale = false;
}

/*
 * An error inside an event leaves scans and slots half done: the store is
 * dropped without touching them (their buffer pins belong to the aborting
 * subtransaction), its tables closed.  Only when the aborting subtransaction
 * is the event's own or an outer one: one that began inside the event (a
 * user's trigger on a lifecycle table with an exception block) leaves the
 * event running, and its store with it.
 */
static void
store_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && xact_store && xact_store->in_use &&
		mySubid <= xact_store->event_subxact)
	{
		xact_store->broken = true;
		store_close();
	}
}

/*
 * The generated columns' memory is let go only when they are next prepared:
 * the store of a running event may be using them.
 */
static void
forget_table(CcTableInfo *t)
{
	t->namespace = InvalidOid;
	t->relid = InvalidOid;
	t->mapped = false;
	t->gen_known = false;
}

static void
store_relcache_callback(Datum arg, Oid relid)
{
	for (int i = 0; i < CC_NUM_RELS; i++)
		if (!OidIsValid(relid) || table_info[i].relid == relid)
			forget_table(&table_info[i]);
	if (xact_store == NULL)
		return;
	if (!OidIsValid(relid))
		store_stale = true;
	for (int i = 0; i < CC_NUM_RELS; i++)
		if (xact_store->opened[i] && RelationGetRelid(xact_store->rels[i].rel) == relid)
			store_stale = true;
}

/*
 * Closes the store unless an event is using it.  Before a utility statement
 * (TRUNCATE, ALTER TABLE, CLUSTER, ... in this transaction,
 * cometchat.rebuild() among them), which may need the tables to be open
 * nowhere else in this session; and before commit, once the events still
 * queued have been applied (batch.c calls both: applying may reopen a store
 * that store_xact_callback already closed).
 */
void
cc_store_close(void)
{
	if (xact_store && !xact_store->in_use)
		store_close();
}

void
cc_store_init(void)
{
	RegisterXactCallback(store_xact_callback, NULL);
	RegisterSubXactCallback(store_subxact_callback, NULL);
	CacheRegisterRelcacheCallback(store_relcache_callback, (Datum) 0);
}

/* Finds the table in pg_class; remembers it when it exists. */
static void
look_up_table(CcTableInfo *t, const char *name, Oid namespace)
{
	Oid			relid = get_relname_relid(name, namespace);
	HeapTuple	tup = OidIsValid(relid) ? SearchSysCache1(RELOID, ObjectIdGetDatum(relid)) : NULL;

	forget_table(t);
	t->relid = relid;
	t->hastriggers = false;
	if (HeapTupleIsValid(tup))
	{
		t->hastriggers = ((Form_pg_class) GETSTRUCT(tup))->relhastriggers;
		ReleaseSysCache(tup);
		/* (A table made later sends no invalidation this would hear.) */
		t->namespace = namespace;
	}
}

/* The store of this transaction for the tables of this schema. */
CcStore *
cc_store_begin(Oid namespace)
{
	MemoryContext old;
	List	   *rtable = NIL;
	List	   *perminfos = NIL;

	if (xact_store && xact_store->in_use)
		cc_report_nested_apply();
	if (xact_store && (store_stale || xact_store->namespace != namespace))
		store_close();
	store_stale = false;

	if (xact_store == NULL)
	{
		/* Tables' entries are cleared as they are opened (cc_rel): most never are. */
		xact_store = MemoryContextAlloc(TopTransactionContext, sizeof(CcStore));
		memset(xact_store, 0, offsetof(CcStore, rels));
		memset(&xact_store->relids, 0, sizeof(CcStore) - offsetof(CcStore, relids));
		old = MemoryContextSwitchTo(TopTransactionContext);
		xact_store->namespace = namespace;
		xact_store->generation = ++store_generation;
		/* From pg_class, so that it covers tables the store has not opened yet. */
		for (int i = 0; i < CC_NUM_RELS; i++)
		{
			CcTableInfo *t = &table_info[i];

			if (t->namespace != namespace)
				look_up_table(t, tables[i].name, namespace);
			xact_store->relids[i] = t->relid;
			xact_store->lifecycle_triggers |= t->hastriggers;
		}
		xact_store->estate = CreateExecutorState();
		MemoryContextSwitchTo(xact_store->estate->es_query_cxt);
		for (int i = 0; i < CC_NUM_RELS; i++)
		{
			RangeTblEntry *rte = makeNode(RangeTblEntry);

			rte->rtekind = RTE_RELATION;
			rte->relid = xact_store->relids[i];
			rte->relkind = RELKIND_RELATION;
			rte->rellockmode = RowExclusiveLock;
			/* (A missing table is an error when the store first opens it.) */
			if (OidIsValid(rte->relid))
				cc_rte_add_perminfo(&perminfos, rte);
			rtable = lappend(rtable, rte);
		}
		cc_init_range_table(xact_store->estate, rtable, perminfos);
		cc_epq_init(&xact_store->epq, xact_store->estate);
		MemoryContextSwitchTo(old);
	}
	xact_store->snapshot = RegisterSnapshot(GetLatestSnapshot());
	xact_store->estate->es_snapshot = xact_store->snapshot;
	xact_store->event_subxact = GetCurrentSubTransactionId();
	xact_store->in_use = true;

	/*
	 * The event's writes are a statement of their own for the lifecycle
	 * tables' AFTER triggers, as for logical replication's apply: their
	 * events are queued at this level and fired when the event is done.
	 * (The statement that ingests may be none that has a level: a SELECT of
	 * cometchat.rebuild(), a commit applying what its statements queued.)
	 * An error leaves the level to the (sub)transaction's abort.
	 */
	if (xact_store->lifecycle_triggers)
		AfterTriggerBeginQuery();
	return xact_store;
}

/* The event is done with the store. */
void
cc_store_end(CcStore *store)
{
	/* Still in use: a trigger that ingests is refused (cc_store_begin). */
	if (store->lifecycle_triggers)
		AfterTriggerEndQuery(store->estate);
	ResetPerTupleExprContext(store->estate);
	UnregisterSnapshot(store->snapshot);
	store->snapshot = NULL;
	store->estate->es_snapshot = InvalidSnapshot;
	store->in_use = false;
}

/*
 * Prepares the table's stored generated columns, as ExecInitStoredGenerated
 * would for a query (every generated column is computed on update: ours
 * depend on the columns written), in the current memory context.
 */
static void
prepare_generated(CcTableInfo *t, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);

	t->gen_states = NULL;
	t->gen_cols = NULL;
	if (desc->constr && desc->constr->has_generated_stored)
	{
		t->gen_states = palloc0(sizeof(ExprState *) * desc->natts);
		for (int a = 0; a < desc->natts; a++)
		{
			Node	   *expr;

			if (TupleDescAttr(desc, a)->attgenerated != ATTRIBUTE_GENERATED_STORED)
				continue;
			expr = build_column_default(rel, a + 1);
			if (expr == NULL)
				elog(ERROR, "no generation expression for column %d of table \"%s\"",
					 a + 1, cc_relation_name(rel));
			t->gen_states[a] = ExecInitExpr(expression_planner((Expr *) expr), NULL);
			t->gen_cols = bms_add_member(t->gen_cols, a + 1 - FirstLowInvalidHeapAttributeNumber);
		}
	}
	t->gen_known = true;
}

/*
 * Gives the table's ResultRelInfo its generated columns: the session's when
 * the session knows the table (the store opened the table it looked up), else
 * ones of its own.
 */
static void
init_generated(CcRel *r, CcTableInfo *t, EState *estate)
{
	if (t->relid != RelationGetRelid(r->rel))
	{
		/* In the store's memory (the current context). */
		t = palloc0(sizeof(CcTableInfo));
		prepare_generated(t, r->rel);
	}
	else if (!t->gen_known)
	{
		MemoryContext old;

		if (t->gen_cxt == NULL)
			t->gen_cxt = AllocSetContextCreate(CacheMemoryContext, "cometchat generated columns",
											   ALLOCSET_SMALL_SIZES);
		/* No store uses them: the one that did was closed when they were forgotten. */
		MemoryContextReset(t->gen_cxt);
		t->gen_known = false;
		old = MemoryContextSwitchTo(t->gen_cxt);
		prepare_generated(t, r->rel);
		MemoryContextSwitchTo(old);
	}
	if (t->gen_states != NULL)
		cc_set_generated(estate, r->rri, t->gen_states, bms_num_members(t->gen_cols),
						 bms_copy(t->gen_cols));
}

/*
 * The columns of the table the store writes, by attnum -
 * FirstLowInvalidHeapAttributeNumber: an update of a row sets each of them,
 * as an UPDATE naming them all would (UPDATE OF triggers fire on them).
 */
static Bitmapset *
written_columns(CcRel *r)
{
	TupleDesc	desc = RelationGetDescr(r->rel);
	Bitmapset  *cols = NULL;

	for (int c = 0; c < CC_MAX_COLS; c++)
		if (r->att[c] >= 0 && !TupleDescAttr(desc, r->att[c])->attgenerated)
			cols = bms_add_member(cols, r->att[c] + 1 - FirstLowInvalidHeapAttributeNumber);
	return cols;
}

/* Finds the attribute of each of the table's columns, by name. */
static void
map_columns(CcRel *r, const CcTableDef *def, TupleDesc desc)
{
	int			n = 0;

	while (n < CC_MAX_COLS && def->cols[n])
		n++;
	cc_map_columns(desc, def->cols, n, r->att);
	for (int c = n; c < CC_MAX_COLS; c++)
		r->att[c] = -1;
	for (int c = 0; c < n; c++)
		if (r->att[c] < 0 && (def->first_optional == 0 || c < def->first_optional))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							def->cols[c], cc_relation_name(r->rel)),
					 errdetail("cometchat_webhooks finds the columns of its tables by name."),
					 errhint("Give the column back its name, or reinstall the extension.")));
}

/* The table, opened for writing on first use. */
CcRel *
cc_rel(CcStore *store, CcRelId id)
{
	CcRel	   *r = &store->rels[id];
	const CcTableDef *def = &tables[id];
	CcTableInfo *t = &table_info[id];
	RangeTblEntry *rte;
	TupleDesc	desc;
	Oid			relid;

	MemoryContext old;
	ResourceOwner saved_owner;

	if (store->opened[id])
		return r;

	memset(r, 0, sizeof(CcRel));
	relid = store->relids[id];
	if (!OidIsValid(relid))
		cc_report_missing_table(store->namespace, def->name);
	old = MemoryContextSwitchTo(store->estate->es_query_cxt);
	saved_owner = CurrentResourceOwner;
	/* Relations and tuple descriptors are the transaction's: see store_close. */
	CurrentResourceOwner = TopTransactionResourceOwner;
	r->rel = table_open(relid, RowExclusiveLock);
	store->opened[id] = true;
	if (r->rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", cc_relation_name(r->rel)),
				 errdetail("cometchat_webhooks writes lifecycle rows into plain tables only.")));
	desc = RelationGetDescr(r->rel);

	rte = exec_rt_fetch(id + 1, store->estate);
	rte->relid = relid;
	/* (What the store was made with: the session's may have been forgotten since.) */
	if (t->relid != relid)
		look_up_table(t, def->name, store->namespace);
	if (t->relid == relid && t->mapped)
		memcpy(r->att, t->att, sizeof(r->att));
	else
	{
		map_columns(r, def, desc);
		if (t->relid == relid)
		{
			memcpy(t->att, r->att, sizeof(t->att));
			t->mapped = true;
		}
	}

	/* The generated status whose changes are notified (notify.c). */
	r->status_att = -1;
	if (id == CC_CALLS || id == CC_SESSIONS)
		for (int i = 0; i < desc->natts; i++)
			if (!TupleDescAttr(desc, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, i)->attname), "status") == 0)
				r->status_att = i;

	r->store = store;
	r->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(r->rri, r->rel, id + 1, NULL, 0);
	/* Where AFTER triggers look for it (the table is closed by store_close). */
	store->estate->es_opened_result_relations =
		lappend(store->estate->es_opened_result_relations, r->rri);
	ExecOpenIndices(r->rri, false);
	init_generated(r, t, store->estate);
	cc_set_updated_cols(store->estate, id + 1, written_columns(r));
	r->scan_slot = table_slot_create(r->rel, &store->estate->es_tupleTable);
	r->new_slot = ExecInitExtraTupleSlot(store->estate, desc, &TTSOpsVirtual);
	/*
	 * The slots row triggers use, made now, under the same owner; and their
	 * functions looked up now, in the store's memory.  The executor does the
	 * lookup at the first call, in the memory current then, which for the
	 * store is an event's: a function's cached state (a SET clause's, a
	 * security definer's) would be gone at the next event.
	 */
	if (r->rri->ri_TrigDesc)
	{
		TriggerDesc *trigdesc = r->rri->ri_TrigDesc;

		(void) ExecGetTriggerOldSlot(store->estate, r->rri);
		(void) ExecGetTriggerNewSlot(store->estate, r->rri);
		for (int i = 0; i < trigdesc->numtriggers; i++)
			fmgr_info(trigdesc->triggers[i].tgfoid, &r->rri->ri_TrigFunctions[i]);
	}
	CurrentResourceOwner = saved_owner;
	MemoryContextSwitchTo(old);
	return r;
}

Oid
cc_col_type(CcRel *r, int col)
{
	return TupleDescAttr(RelationGetDescr(r->rel), r->att[col])->atttypid;
}

Oid
cc_col_collation(CcRel *r, int col)
{
	return TupleDescAttr(RelationGetDescr(r->rel), r->att[col])->attcollation;
}

/* ---------------------------------------------------------------------- */
/* Index scans                                                             */
/* ---------------------------------------------------------------------- */

/*
 * The position of heap attribute attnum (1-based) among the index's key
 * columns, or -1.
 */
static int
index_position(Relation index, AttrNumber attnum)
{
	for (int j = 0; j < index->rd_index->indnkeyatts; j++)
		if (index->rd_index->indkey.values[j] == attnum)
			return j;
	return -1;
}

/*
 * A plain B-tree index whose leading columns are exactly the equality
 * columns of keys, in any order, followed by the column of the range keys
 * and of the order, when there are any.
 */
static int
choose_index(CcRel *r, int nkeys, const CcKey *keys, int order_col)
{
	int			neq = 0;
	int			next_col = order_col;

	for (int k = 0; k < nkeys; k++)
	{
		if (keys[k].strategy == BTEqualStrategyNumber)
			neq++;
		else
			next_col = keys[k].col;
	}

	for (int i = 0; i < r->rri->ri_NumIndices; i++)
	{
		Relation	index = r->rri->ri_IndexRelationDescs[i];
		IndexInfo  *info = r->rri->ri_IndexRelationInfo[i];
		bool		fits = true;

		if (index->rd_rel->relam != BTREE_AM_OID || info->ii_Predicate != NIL ||
			info->ii_Expressions != NIL || index->rd_index->indnkeyatts < neq + (next_col >= 0))
			continue;
		for (int k = 0; k < nkeys && fits; k++)
		{
			int			pos = index_position(index, r->att[keys[k].col] + 1);

			if (keys[k].strategy == BTEqualStrategyNumber)
				fits = pos >= 0 && pos < neq;
			else
				fits = pos == neq;
		}
		if (fits && next_col >= 0)
			fits = index_position(index, r->att[next_col] + 1) == neq;
		if (fits)
			return i;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("table \"%s\" has no index for a lookup of the lifecycle maintenance",
					cc_relation_name(r->rel)),
			 errdetail("Each lookup needs a plain B-tree index that leads with the columns it looks up, as the extension's indexes do."),
			 errhint("Recreate the index that was dropped, or reinstall the extension.")));
	return -1;					/* keep compiler quiet */
}

/*
 * Starts a scan of the rows matching every key, in the order of order_col
 * (or of the range keys' column) in direction dir.
 */
void
cc_scan_begin(CcScan *s, CcRel *r, int nkeys, const CcKey *keys, int order_col,
			  ScanDirection dir)
{
	int			ix = choose_index(r, nkeys, keys, order_col);
	Relation	index = r->rri->ri_IndexRelationDescs[ix];
	ScanKeyData skeys[8];
	int			n = 0;

	Assert(nkeys <= lengthof(skeys));
	/* B-tree wants the keys in index column order. */
	for (int j = 0; j < index->rd_index->indnkeyatts; j++)
	{
		AttrNumber	attnum = index->rd_index->indkey.values[j];

		for (int k = 0; k < nkeys; k++)
		{
			RegProcedure proc = InvalidOid;
			bool		cached = ix < CC_CACHED_INDEXES && j < CC_CACHED_COLUMNS;

			if (r->att[keys[k].col] + 1 != attnum)
				continue;
			if (cached)
				proc = r->procs[ix][j][keys[k].strategy];
			if (!OidIsValid(proc))
			{
				Oid			type = index->rd_opcintype[j];
				Oid			op = get_opfamily_member(index->rd_opfamily[j], type, type,
													 keys[k].strategy);

				if (!OidIsValid(op))
					elog(ERROR, "no operator of strategy %d for index \"%s\"",
						 keys[k].strategy, cc_relation_name(index));
				proc = get_opcode(op);
				if (cached)
					r->procs[ix][j][keys[k].strategy] = proc;
			}
			ScanKeyEntryInitialize(&skeys[n++], 0, j + 1, keys[k].strategy, InvalidOid,
								   index->rd_indcollation[j], proc, keys[k].value);
		}
	}
	Assert(n == nkeys);

	s->r = r;
	s->dir = dir;
	s->scan = cc_index_beginscan(r->rel, index, r->store->snapshot, n);
	index_rescan(s->scan, skeys, n, NULL, 0);
}

bool
cc_scan_next(CcScan *s)
{
	return index_getnext_slot(s->scan, s->dir, s->r->scan_slot);
}

void
cc_scan_end(CcScan *s)
{
	index_endscan(s->scan);
	ExecClearTuple(s->r->scan_slot);
}

/* A column of the row the scan is on; valid until the scan moves. */
Datum
cc_scan_get(CcScan *s, int col, bool *isnull)
{
	return slot_getattr(s->r->scan_slot, s->r->att[col] + 1, isnull);
}

/* ---------------------------------------------------------------------- */
/* Rows                                                                    */
/* ---------------------------------------------------------------------- */

/* An empty row of table r: every column NULL. */
void
cc_row_init(CcRow *row, CcRel *r)
{
	int			natts = RelationGetDescr(r->rel)->natts;

	row->r = r;
	row->values = palloc0(sizeof(Datum) * natts);
	row->nulls = palloc(sizeof(bool) * natts);
	memset(row->nulls, true, sizeof(bool) * natts);
	ItemPointerSetInvalid(&row->tid);
}

/* A copy of the row in a slot. */
void
cc_row_from_slot(CcRow *row, TupleTableSlot *slot)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;

	slot_getallattrs(slot);
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		row->nulls[a] = slot->tts_isnull[a];
		row->values[a] = row->nulls[a] ? (Datum) 0 :
			datumCopy(slot->tts_values[a], att->attbyval, att->attlen);
	}
	row->tid = slot->tts_tid;
}

/* A copy of the row the scan is on. */
void
cc_row_from_scan(CcRow *row, CcScan *s)
{
	cc_row_init(row, s->r);
	cc_row_from_slot(row, s->r->scan_slot);
}

/* Copies src's values into dst (both rows of one table), in dst's memory. */
void
cc_row_copy(CcRow *dst, const CcRow *src)
{
	TupleDesc	desc = RelationGetDescr(src->r->rel);
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(dst->values));

	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		if (!att->attbyval && !dst->nulls[a])
			pfree(DatumGetPointer(dst->values[a]));
		dst->nulls[a] = src->nulls[a];
		dst->values[a] = src->nulls[a] ? (Datum) 0 :
			datumCopy(src->values[a], att->attbyval, att->attlen);
	}
	dst->tid = src->tid;
	MemoryContextSwitchTo(old);
}

/* The first row matching keys (see cc_scan_begin), into row. */
bool
cc_fetch(CcRow *row, CcRel *r, int nkeys, const CcKey *keys, int order_col, ScanDirection dir)
{
	CcScan		s;
	bool		found;

	cc_scan_begin(&s, r, nkeys, keys, order_col, dir);
	found = cc_scan_next(&s);
	if (found)
		cc_row_from_scan(row, &s);
	cc_scan_end(&s);
	return found;
}

/*
 * Copies of the rows matching keys (see cc_scan_begin) that keep accepts
 * (every row when keep is NULL), collected before any of them is written:
 * an update must not meet its own new index entry.
 */
int
cc_fetch_all(CcRow **rows, CcRel *r, int nkeys, const CcKey *keys, int order_col,
			 CcKeepFn keep, void *arg)
{
	CcScan		s;
	int			n = 0;
	int			cap = 4;

	*rows = palloc(sizeof(CcRow) * cap);
	cc_scan_begin(&s, r, nkeys, keys, order_col, ForwardScanDirection);
	while (cc_scan_next(&s))
	{
		if (keep && !keep(&s, arg))
			continue;
		if (n == cap)
		{
			cap *= 2;
			*rows = repalloc(*rows, sizeof(CcRow) * cap);
		}
		cc_row_from_scan(&(*rows)[n++], &s);
	}
	cc_scan_end(&s);
	return n;
}

/*
 * A calls row's identity for logical replication (a publication refuses to
 * publish updates of a table without one, and change data capture creates
 * FOR ALL TABLES publications): its session id or, for a call announced
 * without one, its message id, prefixed so that the two never meet.  A
 * column the store keeps, not a generated one: a replica identity may not
 * hold a generated column, which publications leave out.  Unique as
 * calls_session and calls_unlinked are, and never NULL (the table's CHECK).
 */
static void
derive_call_key(CcRow *row)
{
	bool		linked = !CC_ISNULL(row, C_SESSION);
	char		prefix = linked ? 's' : 'c';
	text	   *id;
	int			idlen;
	text	   *key;

	if (row->r->att[C_KEY] < 0)
		return;					/* a catalog before 1.4 */
	if (!linked && CC_ISNULL(row, C_CALL))
	{
		CC_SET(row, C_KEY, (Datum) 0, true);	/* the CHECK constraint will say */
		return;
	}
	id = DatumGetTextPP(CC_GET(row, linked ? C_SESSION : C_CALL));
	idlen = VARSIZE_ANY_EXHDR(id);
	/* An update of a row read from the table: its key is nearly always right. */
	if (!CC_ISNULL(row, C_KEY))
	{
		text	   *old = DatumGetTextPP(CC_GET(row, C_KEY));

		if (VARSIZE_ANY_EXHDR(old) == idlen + 2 && VARDATA_ANY(old)[0] == prefix &&
			VARDATA_ANY(old)[1] == ':' && memcmp(VARDATA_ANY(old) + 2, VARDATA_ANY(id), idlen) == 0)
			return;
	}
	/* In the memory of the row's values, which the key must live as long as. */
	key = MemoryContextAlloc(GetMemoryChunkContext(row->values), VARHDRSZ + 2 + idlen);
	SET_VARSIZE(key, VARHDRSZ + 2 + idlen);
	VARDATA(key)[0] = prefix;
	VARDATA(key)[1] = ':';
	memcpy(VARDATA(key) + 2, VARDATA_ANY(id), idlen);
	CC_SET(row, C_KEY, PointerGetDatum(key), false);
}

static TupleTableSlot *
row_slot(CcRow *row)
{
	TupleTableSlot *slot = row->r->new_slot;
	int			natts = slot->tts_tupleDescriptor->natts;
	const CcTableDef *def = &tables[row->r->rri->ri_RangeTableIndex - 1];

	if (def->derive)
		def->derive(row);
	ExecClearTuple(slot);
	memcpy(slot->tts_values, row->values, sizeof(Datum) * natts);
	memcpy(slot->tts_isnull, row->nulls, sizeof(bool) * natts);
	return ExecStoreVirtualTuple(slot);
}

/*
 * After every write, a command counter increment, as SPI does after a
 * statement, so that the next write of this event may update what this one
 * wrote, and the event's snapshot moves past it.  The row triggers' slots
 * are emptied: an AFTER UPDATE trigger's old row keeps its buffer pinned,
 * under the resource owner of the statement that happens to be running.
 */
static void
written(CcStore *store, ResultRelInfo *rri)
{
	if (rri->ri_TrigDesc)
	{
		ExecClearTuple(rri->ri_TrigOldSlot);
		ExecClearTuple(rri->ri_TrigNewSlot);
	}
	CommandCounterIncrement();
	store->snapshot->curcid = GetCurrentCommandId(false);
	rel_writes[rri->ri_RangeTableIndex - 1]++;
}

/*
 * How many rows of the table this backend has written (inserted or
 * updated) through the store.  A copy of a row taken when this was n is the
 * row's current version as long as it is still n and no trigger of a
 * lifecycle table could have written it (CcStore.lifecycle_triggers).
 */
uint64
cc_writes(CcRelId id)
{
	return rel_writes[id];
}

/*
 * The status the row was written with, in the row too (a later update of
 * the same copy compares with it); a change is told to notify.c.  old is
 * the status the row had (InvalidOid: it is new).
 */
static void
status_written(CcRow *row, TupleTableSlot *slot, Oid old)
{
	int			att = row->r->status_att;
	bool		isnull;
	Datum		status;

	if (att < 0)
		return;
	status = slot_getattr(slot, att + 1, &isnull);
	if (isnull)
		return;
	row->values[att] = status;
	row->nulls[att] = false;
	cc_notify_status(row, row->r->rri->ri_RangeTableIndex - 1, old, DatumGetObjectId(status));
}

/*
 * Inserts the row.
 */
void
cc_insert(CcStore *store, CcRow *row)
{
	TupleTableSlot *slot = row_slot(row);

	store->estate->es_output_cid = GetCurrentCommandId(true);
	ExecSimpleRelationInsert(row->r->rri, store->estate, slot);
	row->tid = slot->tts_tid;
	status_written(row, slot, InvalidOid);
	written(store, row->r->rri);
}

/*
 * Reads the latest committed version of a row that another transaction
 * updated since it was read, into row.  A third writer may commit yet
 * another version between finding it and reading it: then the chain is
 * followed again from there.
 */
static void
reread_latest(CcRow *row)
{
	Relation	rel = row->r->rel;

	for (;;)
	{
		ItemPointerData from = row->tid;
		TableScanDesc scan = table_beginscan_tid(rel, SnapshotSelf);

		table_tuple_get_latest_tid(scan, &row->tid);
		table_endscan(scan);
		if (table_tuple_fetch_row_version(rel, &row->tid, SnapshotSelf, row->r->scan_slot))
			break;
		if (ItemPointerEquals(&from, &row->tid))
			elog(ERROR, "the new version of a row of table \"%s\" is not visible",
				 cc_relation_name(rel));
		CHECK_FOR_INTERRUPTS();
	}
	cc_row_from_slot(row, row->r->scan_slot);
	ExecClearTuple(row->r->scan_slot);
}

/*
 * Raises: another transaction updated (or deleted) the row an event is
 * writing since the event read it.  Every writer of a lifecycle row holds
 * the lock of its id, except an UPDATE or DELETE by hand: a retry reads the
 * row again.
 */
static void
report_concurrent_change(Relation rel, bool deleted)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 deleted ? errmsg("could not serialize access due to concurrent delete") :
			 errmsg("could not serialize access due to concurrent update"),
			 deleted ?
			 errdetail("A row of table \"%s\" was deleted by another transaction while an event was being applied.",
					   cc_relation_name(rel)) :
			 errdetail("A row of table \"%s\" was updated by another transaction while an event was being applied.",
					   cc_relation_name(rel)),
			 errhint("The transaction might succeed if retried.")));
}

/*
 * Updates the row unless another transaction updated it since it was read:
 * then the row is read again (its latest version, once that transaction
 * has committed) and false returned.  The same steps as an UPDATE of one
 * row: BEFORE and AFTER row triggers, generated columns, constraints, index
 * entries when the update is not HOT.
 *
 * With BEFORE UPDATE row triggers the row is locked first.  A trigger locks
 * the version it is given and, when that version was updated meanwhile,
 * would re-evaluate the update on the newer one through EvalPlanQual, which
 * needs the plan of a query; the store has none.  Locked here, the version
 * read is the one the triggers see, and a newer one is merged into like any
 * other concurrent update.
 */
static bool
try_update(CcStore *store, CcRow *row)
{
	ResultRelInfo *rri = row->r->rri;
	Relation	rel = rri->ri_RelationDesc;
	EState	   *estate = store->estate;
	TupleTableSlot *slot = row_slot(row);
	ItemPointerData tid = row->tid;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	CcUpdateIndexes update_indexes;
	TM_Result	result;
	List	   *recheck = NIL;
	Oid			old_status = InvalidOid;

	Assert(ItemPointerIsValid(&tid));
	if (row->r->status_att >= 0 && !row->nulls[row->r->status_att])
		old_status = DatumGetObjectId(row->values[row->r->status_att]);
	CheckCmdReplicaIdentity(rel, CMD_UPDATE);
	estate->es_output_cid = GetCurrentCommandId(true);
	if (rri->ri_TrigDesc && rri->ri_TrigDesc->trig_update_before_row)
	{
		result = table_tuple_lock(rel, &tid, estate->es_snapshot, row->r->scan_slot,
								  estate->es_output_cid, ExecUpdateLockMode(estate, rri),
								  LockWaitBlock, 0, &tmfd);
		ExecClearTuple(row->r->scan_slot);
		if (result == TM_Updated)
		{
			reread_latest(row);
			return false;
		}
		if (result == TM_Deleted)
			report_concurrent_change(rel, true);
		if (result != TM_Ok)
			elog(ERROR, "unexpected result %d locking a row of table \"%s\"",
				 (int) result, cc_relation_name(rel));
		if (!cc_before_update_triggers(estate, &store->epq, rri, &tid, slot))
			return true;		/* a trigger skipped it */
	}
	if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
		ExecComputeStoredGenerated(rri, estate, slot, CMD_UPDATE);
	if (rel->rd_att->constr)
		ExecConstraints(rri, slot, estate);

	result = table_tuple_update(rel, &tid, slot, estate->es_output_cid, estate->es_snapshot,
								InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
	switch (result)
	{
		case TM_Ok:
			break;
		case TM_Updated:
			reread_latest(row);
			return false;
		case TM_Deleted:
			report_concurrent_change(rel, true);
			break;				/* not reached */
		default:
			elog(ERROR, "unexpected result %d updating a row of table \"%s\"",
				 (int) result, cc_relation_name(rel));
	}
	if (rri->ri_NumIndices > 0 && CC_NEEDS_INDEX_ENTRIES(update_indexes))
		recheck = cc_insert_index_tuples_for_update(rri, slot, estate, update_indexes);
	ExecARUpdateTriggers(estate, rri, NULL, NULL, &tid, NULL, slot, recheck, NULL, false);
	list_free(recheck);
	row->tid = slot->tts_tid;
	status_written(row, slot, old_status);
	written(store, rri);
	return true;
}

/*
 * Replaces the row fetched (or inserted) earlier with its current values.
 * A row that another transaction updated since it was read is an error
 * (see report_concurrent_change).
 */
void
cc_update(CcStore *store, CcRow *row)
{
	if (!try_update(store, row))
		report_concurrent_change(row->r->rel, false);
}

/*
 * Applies merge to the row and writes it, as long as merge changes it; when
 * another transaction updated the row meanwhile, merges again into its new
 * version (what an UPDATE does in READ COMMITTED).  For rows written by
 * events that hold the locks of different ids (a calls row: its session
 * id's events and its conversation's).
 */
void
cc_update_merge(CcStore *store, CcRow *row, CcMergeFn merge, void *arg)
{
	while (merge(row, arg))
	{
		if (try_update(store, row))
			return;
		CHECK_FOR_INTERRUPTS();
	}
}
