/*
 * batch.c
 *		Accepted events wait for the end of their statement, then are applied
 *		to the lifecycle tables together, grouped by the id they lock.
 *
 * The ingest trigger queues each accepted event (its analyzed values, not
 * the payload); the queue is applied when the statement that filled it
 * finishes (ExecutorFinish: INSERT, and cometchat.ingest() whose insert is a
 * statement of its own; after a utility statement: COPY), every
 * cometchat.batch_size events within a long statement, and at the latest
 * before commit.  A query that runs inside the statement (the quarantine's
 * insert, a function called per row) finishes without applying the
 * statement's events: each event records how many executor runs and
 * finishes and utility statements were under way when it was queued (its
 * depth), and a query applies only what was queued deeper than itself.  A
 * batch is applied sorted by a hash bucket of its id and by id, so the events of one
 * session (of one conversation) run one after the other: they take
 * their locks in one order and find the rows and index pages the previous
 * event left.  The lifecycle rules give the same rows whatever order the
 * events arrive in, so the order a batch is applied in changes nothing but
 * speed; a single-row statement applies its one event as before.
 *
 * Within a statement the lifecycle tables show the state before it: a
 * trigger on cometchat.events that reads them sees the statement's events
 * only from its AFTER triggers on (they run after the batch).  A batch is
 * applied as a query level of its own for AFTER triggers: those of the
 * lifecycle tables (a user's, a foreign key's) fire at its end.  A batch
 * takes the locks of all its ids first, in one order (or claims them: a bulk
 * load, lifecycle_locks.c), so two bulk loads cannot deadlock on them.  Events of a statement this module did not see
 * start (the library was loaded by its first row's trigger) are applied at
 * its ExecutorFinish all the same; a COPY applies them before its commit
 * when it is a transaction of its own, else at once.
 *
 * The replay behind cometchat.rebuild() queues the ledger's events here too,
 * so that it applies them batch by batch like a bulk load
 * (cc_batch_apply_pending applies its last batch).  Its events take no id
 * locks nor claims (cc_batch_add_unlocked): its table locks already keep
 * every other writer out, and a claim per id would grow with the ledger.
 *
 * Subtransactions: an event belongs to the subtransaction that queued it.
 * An aborted subtransaction's events leave the queue (their memory, in its
 * CurTransactionContext, goes with it); a committed one's pass to its
 * parent.  A flush applies the events of the current subtransaction only,
 * which are always the last ones queued: events of an enclosing statement
 * still running wait for it, so no write is made in a subtransaction that
 * could be rolled back without the events that asked for it.
 */
#include "cometchat.h"
#include "compat.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "store.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"

typedef struct CcQueued
{
	CcEvent		ev;				/* strings point into this allocation */
	Oid			namespace;		/* of the ledger: where the lifecycle tables are */
	Oid			owner;			/* the ledger's owner, whose rights apply it */
	SubTransactionId subid;
	int			depth;			/* exec_depth when it was queued */
	uint32		bucket;			/* a hash of the id it is grouped by (lifecycle_locks.c) */
	const CcValue *id;			/* that id */
	int64		seq;			/* arrival order */
	bool		needs_locks;	/* its ids' locks are to be taken (not the replay's) */
} CcQueued;

static CcQueued **queue = NULL;	/* in TopTransactionContext */
static int	nqueued = 0;
static int	queue_cap = 0;
static int64 next_seq = 0;
static bool applying = false;

/*
 * How many executor runs and finishes, and utility statements, are under
 * way.  A query that finishes applies the events queued during its run (at
 * a greater depth), not those of the statement it runs inside: a quarantine
 * insert, or a function called per row, leaves the enclosing INSERT's batch
 * whole.
 */
static int	exec_depth = 0;

/*
 * Where queued events live: a generation context under the
 * CurTransactionContext of the subtransaction that queues them (an abort
 * takes it along), made when that subtransaction queues its first event.
 * Events are queued one after another and freed a batch at a time, the
 * pattern a generation context is for: one allocation is a pointer bump, not
 * a free-list lookup of a chunk rounded up to a power of two (an event is
 * about 1.1 kB).  Forgotten when its subtransaction ends (a parent's earlier
 * one is then not used again; it goes with the transaction) and at
 * transaction end.
 */
static MemoryContext event_cxt = NULL;
static SubTransactionId event_cxt_subid = InvalidSubTransactionId;

static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

static void apply_queued(int above_depth);

/* Bytes of the strings of an event. */
static Size
event_string_bytes(const CcEvent *ev)
{
	Size		n = 0;

	for (int s = 0; s < CC_NUM_SLOTS; s++)
		if (ev->v[s].present && ev->v[s].str)
			n += ev->v[s].len + 1;
	n += sizeof(CcOccupant) * ev->noccupants;
	for (int i = 0; i < ev->noccupants; i++)
		n += ev->occupants[i].name_len + 1;
	return n;
}

static char *
copy_string(char **at, const char *s, int len)
{
	char	   *copy = *at;

	memcpy(copy, s, len);
	copy[len] = '\0';
	*at += len + 1;
	return copy;
}

/*
 * A copy of what lifecycle maintenance reads of an event (its values and
 * occupants), in one allocation: not the payload, nor JSON containers.
 */
static CcQueued *
copy_event(const CcEvent *ev)
{
	CcQueued   *q = palloc(MAXALIGN(sizeof(CcQueued)) + event_string_bytes(ev));
	char	   *at = (char *) q + MAXALIGN(sizeof(CcQueued));

	memset(q, 0, sizeof(CcQueued));
	q->ev.spec = ev->spec;
	if (ev->noccupants > 0)
	{
		/* First, while at is still aligned. */
		q->ev.occupants = (CcOccupant *) at;
		at += sizeof(CcOccupant) * ev->noccupants;
		q->ev.noccupants = ev->noccupants;
		for (int i = 0; i < ev->noccupants; i++)
		{
			q->ev.occupants[i] = ev->occupants[i];
			q->ev.occupants[i].name = copy_string(&at, ev->occupants[i].name,
												  ev->occupants[i].name_len);
		}
	}
	for (int s = 0; s < CC_NUM_SLOTS; s++)
	{
		q->ev.v[s] = ev->v[s];
		q->ev.v[s].container = NULL;
		if (ev->v[s].present && ev->v[s].str)
			q->ev.v[s].str = copy_string(&at, ev->v[s].str, ev->v[s].len);
	}
	return q;
}

static void add_event(CcEvent *ev, Oid namespace, Oid owner, bool needs_locks);

/*
 * Queues an accepted event of the ledger in namespace, owned by owner;
 * applies the current subtransaction's events when there are
 * cometchat.batch_size of them.
 */
void
cc_batch_add(CcEvent *ev, Oid namespace, Oid owner)
{
	add_event(ev, namespace, owner, true);
}

/*
 * The same, for a caller whose table locks keep every other writer of the
 * lifecycle tables out until its transaction ends (the replay): the event
 * is applied without the locks of its ids (lifecycle_locks.c).
 */
void
cc_batch_add_unlocked(CcEvent *ev, Oid namespace, Oid owner)
{
	add_event(ev, namespace, owner, false);
}

static void
add_event(CcEvent *ev, Oid namespace, Oid owner, bool needs_locks)
{
	MemoryContext old;
	CcQueued   *q;

	if (applying)
		cc_report_nested_apply();
	if (ev->spec->kind == CC_UNKNOWN)
		return;

	/* The event's memory goes with its subtransaction if that aborts. */
	if (event_cxt == NULL || event_cxt_subid != GetCurrentSubTransactionId())
	{
		event_cxt = GenerationContextCreate(CurTransactionContext, "cometchat queued events",
											0, 8 * 1024, 1024 * 1024);
		event_cxt_subid = GetCurrentSubTransactionId();
	}
	old = MemoryContextSwitchTo(event_cxt);
	q = copy_event(ev);
	MemoryContextSwitchTo(old);
	q->namespace = namespace;
	q->owner = owner;
	q->subid = GetCurrentSubTransactionId();
	q->depth = exec_depth;
	q->seq = next_seq++;
	q->needs_locks = needs_locks;
	q->bucket = cc_lifecycle_group(&q->ev, &q->id);

	if (nqueued == queue_cap)
	{
		int			cap = queue_cap ? queue_cap * 2 : 64;

		queue = queue ? repalloc(queue, sizeof(CcQueued *) * cap)
			: MemoryContextAlloc(TopTransactionContext, sizeof(CcQueued *) * cap);
		queue_cap = cap;
	}
	queue[nqueued++] = q;

	/*
	 * Subtransaction ids only grow along the queue: the last batch_size are
	 * all this one's.
	 */
	if (nqueued >= cc_batch_size && queue[nqueued - cc_batch_size]->subid == q->subid)
		apply_queued(-1);
	else if (exec_depth == 0 &&
			 (ActivePortal == NULL ||
			  (ActivePortal->commandTag == CMDTAG_COPY && IsTransactionBlock())))
	{
		/*
		 * A statement the hooks did not see start, because its first row's
		 * trigger loaded the library: an INSERT (or any query) still ends
		 * through ExecutorFinish, at depth 0, and applies it then; a COPY that
		 * is a transaction of its own is applied before its commit; in a
		 * transaction block, or with no statement at all (logical
		 * replication), there is no end of ours to come before the next
		 * statement could look, so it is applied at once.
		 */
		apply_queued(-1);
		cc_notify_flush();
	}
}

/*
 * Applies now what the current subtransaction queued at the current depth
 * or deeper: for a caller that queued events itself (the replay) and reads
 * the tables next, within its statement.
 */
void
cc_batch_apply_pending(void)
{
	apply_queued(exec_depth > 0 ? exec_depth - 1 : -1);
}

static int
value_cmp(const CcValue *a, const CcValue *b)
{
	/* (An absent id has no string to compare.) */
	int			c = Min(a->len, b->len) > 0 ? memcmp(a->str, b->str, Min(a->len, b->len)) : 0;

	return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

static int
queued_cmp(const void *pa, const void *pb)
{
	const CcQueued *a = *(CcQueued *const *) pa;
	const CcQueued *b = *(CcQueued *const *) pb;
	int			c;

	if (a->namespace != b->namespace)
		return a->namespace < b->namespace ? -1 : 1;
	if (a->bucket != b->bucket)
		return a->bucket < b->bucket ? -1 : 1;
	if ((c = value_cmp(&a->ev.v[SLOT_APP], &b->ev.v[SLOT_APP])) != 0)
		return c;
	if ((c = value_cmp(a->id, b->id)) != 0)
		return c;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static bool
same_group(const CcQueued *a, const CcQueued *b)
{
	return a->namespace == b->namespace && a->owner == b->owner &&
		value_cmp(&a->ev.v[SLOT_APP], &b->ev.v[SLOT_APP]) == 0 && value_cmp(a->id, b->id) == 0;
}

/*
 * Applies the events the current subtransaction queued at a depth greater
 * than above_depth (the last ones of the queue), grouped by the id they
 * lock, each group as the ledger's owner.
 */
static void
apply_queued(int above_depth)
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	int			first = nqueued;
	int			n;
	CcQueued  **batch;
	CcEvent   **events;
	CcEvent   **to_lock;
	int			nlock = 0;
	volatile bool pushed_snapshot = false;

	/* (No writes in parallel mode: what is queued waits for the commit.) */
	if (applying || IsInParallelMode())
		return;
	while (first > 0 && queue[first - 1]->subid == subid && queue[first - 1]->depth > above_depth)
		first--;
	n = nqueued - first;
	if (n == 0)
		return;

	/* The batch leaves the queue first: what it queues meanwhile is an error. */
	batch = palloc(sizeof(CcQueued *) * n);
	memcpy(batch, queue + first, sizeof(CcQueued *) * n);
	nqueued = first;
	if (n > 1)
		qsort(batch, n, sizeof(CcQueued *), queued_cmp);
	events = palloc(sizeof(CcEvent *) * n);
	to_lock = palloc(sizeof(CcEvent *) * n);
	for (int i = 0; i < n; i++)
	{
		events[i] = &batch[i]->ev;
		if (batch[i]->needs_locks)
			to_lock[nlock++] = events[i];
	}

	applying = true;
	PG_TRY();
	{
		EState	   *estate;

		/* Before commit there is no statement, hence no active snapshot (triggers want one). */
		if (!ActiveSnapshotSet())
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			pushed_snapshot = true;
		}
		if (nlock > 0)
			cc_lifecycle_lock_all(to_lock, nlock);
		/* AFTER row triggers of the lifecycle tables fire at the end of the batch. */
		AfterTriggerBeginQuery();
		for (int i = 0, end; i < n; i = end)
		{
			CcOwnerContext owner;

			for (end = i + 1; end < n && same_group(batch[i], batch[end]); end++)
				;
			cc_enter_owner_context(batch[i]->owner, &owner);
			cc_lifecycle_apply_many(events + i, end - i, batch[i]->namespace);
			cc_leave_owner_context(&owner);
			for (int j = i; j < end; j++)
				pfree(batch[j]);
		}
		/* As ExecutorFinish and ExecutorEnd do, with a state of its own. */
		estate = CreateExecutorState();
		AfterTriggerEndQuery(estate);
		ExecResetTupleTable(estate->es_tupleTable, false);
		ExecCloseResultRelations(estate);
		FreeExecutorState(estate);
		if (pushed_snapshot)
			PopActiveSnapshot();
	}
	PG_FINALLY();
	{
		applying = false;
	}
	PG_END_TRY();
	pfree(to_lock);
	pfree(events);
	pfree(batch);
}

/*
 * Before commit or prepare: what no statement end applied yet.  The store
 * closes before commit (store.c); applying may have opened it again.
 */
static void
apply_before_commit(void)
{
	if (nqueued > 0 && !applying)
	{
		apply_queued(-1);
		cc_notify_flush();
		if (nqueued > 0)
			elog(ERROR, "events of an ended subtransaction were left queued");
		cc_store_close();
	}
}

static void
batch_executor_run(CC_EXECUTOR_RUN_PARAMS)
{
	exec_depth++;
	PG_TRY();
	{
		if (prev_executor_run)
			prev_executor_run(CC_EXECUTOR_RUN_ARGS);
		else
			standard_ExecutorRun(CC_EXECUTOR_RUN_ARGS);
	}
	PG_FINALLY();
	{
		exec_depth--;
	}
	PG_END_TRY();
}

/*
 * What the finishing statement queued.  A statement of its own, at depth 0,
 * applies all: that includes what it queued during a run the hooks did not
 * see start.
 */
static void
apply_statement(void)
{
	apply_queued(exec_depth > 0 ? exec_depth : -1);
	if (!applying)
		cc_notify_flush();
}

static void
batch_executor_finish(QueryDesc *queryDesc)
{
	/* The statement's own AFTER triggers see its events applied... */
	apply_statement();
	exec_depth++;
	PG_TRY();
	{
		if (prev_executor_finish)
			prev_executor_finish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		exec_depth--;
	}
	PG_END_TRY();
	/* ... and what a data-modifying WITH finished only now ingested is applied too. */
	apply_statement();
}

/*
 * A utility statement: the store closes first (see store.c); the events it
 * queued (COPY) are applied when it is done.
 */
static void
batch_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	cc_store_close();
	exec_depth++;
	PG_TRY();
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
								 queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		exec_depth--;
	}
	PG_END_TRY();
	/* Not after COMMIT or ROLLBACK of a transaction block: nothing is left to apply then. */
	if (IsTransactionState())
	{
		apply_queued(exec_depth);
		if (!applying)
			cc_notify_flush();
	}
}

static void
batch_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			apply_before_commit();
			/* Once no event is left to apply (lifecycle_locks.c). */
			cc_lifecycle_release_claims();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* The memory went with the transaction. */
			queue = NULL;
			event_cxt = NULL;
			nqueued = queue_cap = 0;
			applying = false;
			break;
		default:
			break;
	}
}

static void
batch_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if ((event == SUBXACT_EVENT_ABORT_SUB || event == SUBXACT_EVENT_COMMIT_SUB) &&
		event_cxt && event_cxt_subid >= mySubid)
	{
		/*
		 * Committing with none of its events left in the queue (they are
		 * always the last ones), its memory holds nothing: let it go now,
		 * so that a subtransaction per event (an exception block per row)
		 * does not keep a block each until the transaction ends.
		 */
		if (event == SUBXACT_EVENT_COMMIT_SUB && event_cxt_subid == mySubid &&
			(nqueued == 0 || queue[nqueued - 1]->subid < mySubid))
			MemoryContextDelete(event_cxt);
		event_cxt = NULL;
	}
	switch (event)
	{
		case SUBXACT_EVENT_ABORT_SUB:
			while (nqueued > 0 && queue[nqueued - 1]->subid >= mySubid)
				nqueued--;
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			for (int i = nqueued - 1; i >= 0 && queue[i]->subid >= mySubid; i--)
				queue[i]->subid = parentSubid;
			break;
		default:
			break;
	}
}

void
cc_batch_init(void)
{
	RegisterXactCallback(batch_xact_callback, NULL);
	RegisterSubXactCallback(batch_subxact_callback, NULL);
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = batch_executor_run;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = batch_executor_finish;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = batch_process_utility;
}
