/*
 * store.h
 *		Direct access to the lifecycle tables (store.c): index lookups and
 *		row writes without the SQL layer.
 *
 * The lifecycle trigger runs for every accepted event, often once per
 * transaction.  Through SPI each of its lookups and writes paid a whole
 * executor start and finish; here a lookup is an index scan and a write is
 * the executor's own single-row insert or update (the one logical
 * replication uses): stored generated columns, constraints, every index and
 * any row triggers are handled as in an INSERT or UPDATE statement.
 *
 * Reads use one MVCC snapshot per event, taken after the event's advisory
 * locks (so it sees what the previous holder of a lock committed) and moved
 * past each of the event's own writes.  The caller holds the lock of the ids
 * it reads and writes; the one row written under two locks (a calls row) is
 * written with cc_update_merge, which merges into a version committed
 * meanwhile.
 */
#ifndef COMETCHAT_STORE_H
#define COMETCHAT_STORE_H

#include "postgres.h"

#include "access/genam.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "utils/timestamp.h"

typedef enum CcRelId
{
	CC_SESSIONS,
	CC_CALLS,
	CC_OUTCOMES,
	CC_PARTICIPANTS,
	CC_RECORDINGS,
	CC_NUM_RELS
} CcRelId;

/* Columns the lifecycle code reads or writes, by table. */
typedef enum CcCol
{
	/* sessions */
	S_APP = 0, S_SESSION, S_STARTED, S_MODE, S_ENDED, S_PCOUNT, S_PEAK, S_RCOUNT,
	S_LAST,						/* 1.5 on */
	/* calls */
	C_APP = 0, C_SESSION, C_CALL, C_CONVERSATION, C_CALLER, C_RECEIVER, C_RECEIVER_TYPE,
	C_MEDIA, C_INITIATED, C_STARTED, C_ENDED, C_OUTCOME, C_OUTCOME_AT, C_PCOUNT,
	C_KEY,						/* derived by the store (1.4 on; see store.c) */
	C_LAST,						/* 1.5 on */
	/* call_outcomes */
	O_APP = 0, O_ID, O_CONVERSATION, O_OUTCOME, O_SENT, O_LINKED,
	/* participants */
	P_APP = 0, P_SESSION, P_INSTANCE, P_NAME, P_JOINED, P_LEFT, P_AUDIO, P_PLATFORM,
	P_SDK, P_SDK_VERSION, P_LEFT_FROM, P_AUDIO_FROM,
	/* recordings */
	R_APP = 0, R_SESSION, R_INSTANCE, R_STARTED, R_DURATION, R_URL, R_DATE
} CcCol;

#define CC_MAX_COLS 16
#define CC_CACHED_INDEXES 8
#define CC_CACHED_COLUMNS 4

struct CcStore;

typedef struct CcRel
{
	struct CcStore *store;
	Relation	rel;
	ResultRelInfo *rri;
	int			att[CC_MAX_COLS];	/* CcCol -> 0-based attribute index */
	TupleTableSlot *scan_slot;	/* the tuple an index scan is on */
	TupleTableSlot *new_slot;	/* the values written */
	int			status_att;		/* calls, sessions: the status column's index; else -1 */
	/* Comparison functions of scan keys, by index, index column, strategy. */
	RegProcedure procs[CC_CACHED_INDEXES][CC_CACHED_COLUMNS][BTMaxStrategyNumber + 1];
} CcRel;

typedef struct CcStore
{
	Oid			namespace;
	EState	   *estate;
	CcRel		rels[CC_NUM_RELS];
	Oid			relids[CC_NUM_RELS];	/* looked up when the store is made */
	bool		opened[CC_NUM_RELS];
	EPQState	epq;			/* for BEFORE UPDATE row triggers (compat.h) */
	bool		in_use;			/* an event is being applied */
	Snapshot	snapshot;		/* the event's (registered) */
	SubTransactionId event_subxact; /* the subtransaction the event runs in */
	/* Enum labels the lifecycle writes, with their values (lifecycle_merge.c). */
	struct
	{
		Oid			type;
		char		label[NAMEDATALEN];
		Oid			value;
	}			enums[16];
	int			nenums;
	bool		broken;			/* an error left it half done */
	/*
	 * A lifecycle table has (or had) triggers: code other than the store's
	 * may write lifecycle rows while an event is applied.
	 */
	bool		lifecycle_triggers;
	uint64		generation;		/* tells this store from earlier ones */
} CcStore;

/* One condition of an index scan: column <strategy> value. */
typedef struct CcKey
{
	int			col;			/* CcCol */
	StrategyNumber strategy;	/* BTEqualStrategyNumber, BTLessEqual... */
	Datum		value;
} CcKey;

typedef struct CcScan
{
	CcRel	   *r;
	IndexScanDesc scan;
	ScanDirection dir;
} CcScan;

/* A row: every attribute of the table, by 0-based attribute index. */
typedef struct CcRow
{
	CcRel	   *r;
	Datum	   *values;
	bool	   *nulls;
	ItemPointerData tid;
} CcRow;

extern void cc_store_init(void);
extern void cc_store_close(void);
extern CcStore *cc_store_begin(Oid namespace);
extern void cc_store_end(CcStore *store);
extern CcRel *cc_rel(CcStore *store, CcRelId id);
extern uint64 cc_writes(CcRelId id);

extern void cc_scan_begin(CcScan *s, CcRel *r, int nkeys, const CcKey *keys,
						  int order_col, ScanDirection dir);
extern bool cc_scan_next(CcScan *s);
extern void cc_scan_end(CcScan *s);
extern Datum cc_scan_get(CcScan *s, int col, bool *isnull);

extern void cc_row_init(CcRow *row, CcRel *r);
extern void cc_row_from_scan(CcRow *row, CcScan *s);
extern void cc_row_copy(CcRow *dst, const CcRow *src);
extern void cc_row_from_slot(CcRow *row, TupleTableSlot *slot);
extern bool cc_fetch(CcRow *row, CcRel *r, int nkeys, const CcKey *keys,
					 int order_col, ScanDirection dir);
/* Whether the row a scan is on is wanted. */
typedef bool (*CcKeepFn) (CcScan *s, void *arg);
extern int	cc_fetch_all(CcRow **rows, CcRel *r, int nkeys, const CcKey *keys, int order_col,
						 CcKeepFn keep, void *arg);
extern void cc_insert(CcStore *store, CcRow *row);
extern void cc_update(CcStore *store, CcRow *row);

/* Changes the row; false when it leaves the row as it is. */
typedef bool (*CcMergeFn) (CcRow *row, void *arg);
extern void cc_update_merge(CcStore *store, CcRow *row, CcMergeFn merge, void *arg);

#define CC_GET(row, col)		((row)->values[(row)->r->att[col]])
#define CC_ISNULL(row, col)	((row)->nulls[(row)->r->att[col]])
#define CC_SET(row, col, d, isnull) \
	((row)->values[(row)->r->att[col]] = (d), (row)->nulls[(row)->r->att[col]] = (isnull))

extern Oid	cc_col_type(CcRel *r, int col);

/* notify.c: NOTIFY on the status changes the store writes */
extern bool cc_notify;
extern void cc_notify_init(void);
extern void cc_notify_event_time(TimestampTz t);
extern void cc_notify_suppress(bool on);
extern void cc_notify_status(const CcRow *row, CcRelId rel, Oid old_status, Oid new_status);
extern void cc_notify_flush(void);
extern Oid	cc_col_collation(CcRel *r, int col);

#endif							/* COMETCHAT_STORE_H */
