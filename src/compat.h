/*
 * compat.h
 *		Every difference between the PostgreSQL majors the extension builds
 *		on (15, 16, 17, 18), behind PG_VERSION_NUM, and nowhere else.
 *
 * The store (store.c) drives the executor's single-row insert and update
 * the way logical replication's apply worker does, so it meets the
 * executor's internals, which change from major to major:
 *
 *	- 16 moved permissions out of RangeTblEntry into RTEPermissionInfo (the
 *	  columns an UPDATE sets are read from there), split the stored
 *	  generated columns of a ResultRelInfo into insert and update variants,
 *	  and made table_tuple_update say whether only summarizing indexes need
 *	  new entries;
 *	- 17 removed the override search path;
 *	- 18 gave ExecInitRangeTable the unpruned relations, ExecutorRun lost
 *	  execute_once, index_beginscan took instrumentation, and a
 *	  ResultRelInfo records whether its extra updated columns are known.
 *
 * The compiler catches a changed signature, not a changed contract: what
 * these wrappers promise is checked by running the whole suite on every
 * major, and on an assertion-enabled build of the newest.
 */
#ifndef COMETCHAT_COMPAT_H
#define COMETCHAT_COMPAT_H

#include "postgres.h"

#include "access/genam.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/bitmapset.h"
#include "nodes/parsenodes.h"
#include "utils/guc.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 190000
#error "cometchat_webhooks supports PostgreSQL 15, 16, 17 and 18"
#endif

#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif

/* ---------------------------------------------------------------------- */
/* The store's range table                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Registers a table's range table entry for permission information (16+:
 * an RTEPermissionInfo of its own, which the executor reads the updated
 * columns from).  The entry's relid must be set.
 */
static inline void
cc_rte_add_perminfo(List **perminfos, RangeTblEntry *rte)
{
	Assert(OidIsValid(rte->relid));
#if PG_VERSION_NUM >= 160000
	(void) addRTEPermissionInfo(perminfos, rte);
#endif
}

static inline void
cc_init_range_table(EState *estate, List *rtable, List *perminfos)
{
#if PG_VERSION_NUM >= 180000
	/* Nothing is pruned: every entry is a table the store may open. */
	ExecInitRangeTable(estate, rtable, perminfos,
					   bms_add_range(NULL, 1, list_length(rtable)));
#elif PG_VERSION_NUM >= 160000
	ExecInitRangeTable(estate, rtable, perminfos);
#else
	(void) perminfos;
	ExecInitRangeTable(estate, rtable);
#endif
}

/*
 * The columns an update of the table sets (for UPDATE OF triggers and the
 * lock mode), as an UPDATE statement's target list would give them.
 */
static inline void
cc_set_updated_cols(EState *estate, Index rti, Bitmapset *cols)
{
	RangeTblEntry *rte = exec_rt_fetch(rti, estate);

#if PG_VERSION_NUM >= 160000
	getRTEPermissionInfo(estate->es_rteperminfos, rte)->updatedCols = cols;
#else
	rte->updatedCols = cols;
#endif
}

/*
 * Gives a ResultRelInfo its stored generated columns, prepared in advance
 * (what ExecInitStoredGenerated would make, for inserts and updates alike:
 * every generated column is computed on update), and records them as the
 * columns an update sets beyond its target list.  cols is offset by
 * FirstLowInvalidHeapAttributeNumber.
 */
static inline void
cc_set_generated(EState *estate, ResultRelInfo *rri, ExprState **exprs, int n,
				 Bitmapset *cols)
{
#if PG_VERSION_NUM >= 160000
	(void) estate;
	rri->ri_GeneratedExprsI = exprs;
	rri->ri_GeneratedExprsU = exprs;
	rri->ri_NumGeneratedNeededI = n;
	rri->ri_NumGeneratedNeededU = n;
	rri->ri_extraUpdatedCols = cols;
#if PG_VERSION_NUM >= 180000
	rri->ri_extraUpdatedCols_valid = true;
#endif
#else
	rri->ri_GeneratedExprs = exprs;
	rri->ri_NumGeneratedNeeded = n;
	/* Read from the range table entry before 15.2 ... */
	exec_rt_fetch(rri->ri_RangeTableIndex, estate)->extraUpdatedCols = cols;
#if PG_VERSION_NUM >= 150002
	{
		/* ... and from a list beside the ResultRelInfo since. */
		ResultRelInfoExtra *extra = palloc(sizeof(ResultRelInfoExtra));

		extra->rinfo = rri;
		extra->ri_extraUpdatedCols = cols;
		estate->es_resultrelinfo_extra = lappend(estate->es_resultrelinfo_extra, extra);
	}
#endif
#endif
}

/* ---------------------------------------------------------------------- */
/* Updating a row                                                          */
/* ---------------------------------------------------------------------- */

/* Whether an updated row needs new index entries, and in which indexes. */
#if PG_VERSION_NUM >= 160000
typedef TU_UpdateIndexes CcUpdateIndexes;
#define CC_NEEDS_INDEX_ENTRIES(u)	((u) != TU_None)
#define CC_ONLY_SUMMARIZING(u)		((u) == TU_Summarizing)
#else
typedef bool CcUpdateIndexes;
#define CC_NEEDS_INDEX_ENTRIES(u)	(u)
#define CC_ONLY_SUMMARIZING(u)		false
#endif

static inline List *
cc_insert_index_tuples_for_update(ResultRelInfo *rri, TupleTableSlot *slot,
								  EState *estate, CcUpdateIndexes u)
{
#if PG_VERSION_NUM >= 160000
	return ExecInsertIndexTuples(rri, slot, estate, true, false, NULL, NIL,
								 CC_ONLY_SUMMARIZING(u));
#else
	(void) u;
	return ExecInsertIndexTuples(rri, slot, estate, true, false, NULL, NIL);
#endif
}

/*
 * An EvalPlanQual state without a plan.  The store hands it to the BEFORE
 * UPDATE row triggers, which require one, but never lets them need it: it
 * locks the row it updates first, so the triggers never meet a newer
 * version (see store.c's try_update).
 */
static inline void
cc_epq_init(EPQState *epq, EState *estate)
{
#if PG_VERSION_NUM >= 160000
	EvalPlanQualInit(epq, estate, NULL, NIL, -1, NIL);
#else
	EvalPlanQualInit(epq, estate, NULL, NIL, -1);
#endif
}

/* BEFORE UPDATE row triggers; false when one of them skips the update. */
static inline bool
cc_before_update_triggers(EState *estate, EPQState *epq, ResultRelInfo *rri,
						  ItemPointer tid, TupleTableSlot *slot)
{
#if PG_VERSION_NUM >= 180000
	return ExecBRUpdateTriggers(estate, epq, rri, tid, NULL, slot, NULL, NULL, false);
#elif PG_VERSION_NUM >= 160000
	return ExecBRUpdateTriggers(estate, epq, rri, tid, NULL, slot, NULL, NULL);
#else
	return ExecBRUpdateTriggers(estate, epq, rri, tid, NULL, slot, NULL);
#endif
}

/* ---------------------------------------------------------------------- */
/* Index scans                                                             */
/* ---------------------------------------------------------------------- */

static inline IndexScanDesc
cc_index_beginscan(Relation heap, Relation index, Snapshot snapshot, int nkeys)
{
#if PG_VERSION_NUM >= 180000
	return index_beginscan(heap, index, snapshot, NULL, nkeys, 0);
#else
	return index_beginscan(heap, index, snapshot, nkeys, 0);
#endif
}

/* ---------------------------------------------------------------------- */
/* The pinned search path                                                  */
/* ---------------------------------------------------------------------- */

/*
 * A search path of pg_catalog (and, for 17+, pg_temp after it, which no
 * function or operator is ever looked up in), so that nothing a caller
 * creates can stand in for a name the extension's own statements use.
 * Returns what cc_pop_safe_search_path needs; an error undoes it with the
 * (sub)transaction.
 */
static inline int
cc_push_safe_search_path(void)
{
#if PG_VERSION_NUM >= 170000
	int			nest_level = NewGUCNestLevel();

	RestrictSearchPath();
	return nest_level;
#else
	static OverrideSearchPath catalog_only = {NIL, true, false, 0};

	PushOverrideSearchPath(&catalog_only);
	return 0;
#endif
}

static inline void
cc_pop_safe_search_path(int nest_level)
{
#if PG_VERSION_NUM >= 170000
	AtEOXact_GUC(true, nest_level);
#else
	(void) nest_level;
	PopOverrideSearchPath();
#endif
}

/* ---------------------------------------------------------------------- */
/* Executor hooks                                                          */
/* ---------------------------------------------------------------------- */

/*
 * The ExecutorRun hook's parameters, and the call passing them on:
 *	static void my_run(CC_EXECUTOR_RUN_PARAMS) { ... standard_ExecutorRun(CC_EXECUTOR_RUN_ARGS); }
 */
#if PG_VERSION_NUM >= 180000
#define CC_EXECUTOR_RUN_PARAMS	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define CC_EXECUTOR_RUN_ARGS	queryDesc, direction, count
#else
#define CC_EXECUTOR_RUN_PARAMS	QueryDesc *queryDesc, ScanDirection direction, uint64 count, \
	bool execute_once
#define CC_EXECUTOR_RUN_ARGS	queryDesc, direction, count, execute_once
#endif

#endif							/* COMETCHAT_COMPAT_H */
