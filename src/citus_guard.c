/*
 * citus_guard.c
 *		Refuses to ingest, rebuild or verify where Citus has spread the tables.
 *
 * The trigger maintains the lifecycle tables it finds by name in the ledger's
 * schema, on the node where the ledger row lands.  Under Citus a row lands in
 * a shard (cometchat.events_102008 on a worker), and the tables of those
 * names there are the empty shells of distributed tables; on the coordinator
 * the ledger itself is a shell, and rebuild() and verify() compare shells
 * with shells.  Nothing fails: every result is silently wrong.  So, with
 * Citus installed, each entry point (the trigger, ingest(), ingest_raw(),
 * and _replay() under rebuild() and verify()) first checks, and raises
 * instead of writing anything, when
 *   - the trigger fires on a relation other than the ledger of its schema
 *     or a partition of it (a shard: Citus copies the trigger onto every
 *     shard it creates), or
 *   - the ledger or a lifecycle table is listed in pg_dist_partition
 *     (distributed, reference or Citus local table: a shell here).
 * (rebuild() has emptied the lifecycle tables by the time _replay() raises;
 * the error rolls that back with the rest of the transaction.)
 *
 * What it costs without Citus: a call and the test of two static variables.  Citus is taken to
 * be installed when pg_catalog.pg_dist_partition exists (CREATE EXTENSION
 * citus creates it); that is looked up once per session, then again only
 * after the pg_class syscache reports a change to a relation of that name,
 * which creating or dropping it (with the extension) always does.
 *
 * With Citus, the verdict on one schema's tables is kept until a relcache
 * invalidation of one of them or of pg_dist_partition: Citus itself sends one
 * for the table whenever a row of pg_dist_partition changes, as that is how it
 * keeps its own metadata cache current in every backend.
 */
#include "cometchat.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#define SCALING_OUT_HINT \
	"See \"Scaling out\" in the README of cometchat_webhooks: what works beyond one node, " \
	"and what Citus support would take."

/* The ledger first, then the tables the trigger maintains from it. */
static const char *const local_tables[] = {
	"events", "calls", "sessions", "participants", "recordings", "call_outcomes"
};

#define NUM_LOCAL_TABLES lengthof(local_tables)

/* What pg_dist_partition says about one schema's tables. */
typedef struct CcCitusVerdict
{
	Oid			namespace;
	Oid			relids[NUM_LOCAL_TABLES];	/* InvalidOid: no such table */
	int			distributed;	/* index of the first one listed, or -1 */
} CcCitusVerdict;

/* pg_catalog.pg_dist_partition, or InvalidOid: no Citus.  Valid when citus_known. */
static bool citus_known = false;
static Oid	dist_partition = InvalidOid;
static uint32 dist_partition_hash = 0;

/* With Citus: the verdict last reached, valid when its namespace is. */
static CcCitusVerdict verdict = {InvalidOid};

/*
 * Counts invalidations: a lookup reads the catalogs, and an invalidation can
 * arrive while it does; what it found is kept only when none did.
 */
static uint64 inval_count = 0;

static void
guard_syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	inval_count++;
	if (hashvalue == 0 || hashvalue == dist_partition_hash)
	{
		citus_known = false;
		verdict.namespace = InvalidOid;
	}
}

static void
guard_relcache_callback(Datum arg, Oid relid)
{
	inval_count++;
	if (!OidIsValid(verdict.namespace))
		return;
	if (!OidIsValid(relid) || relid == dist_partition)
		verdict.namespace = InvalidOid;
	for (int i = 0; i < NUM_LOCAL_TABLES; i++)
		if (relid == verdict.relids[i])
			verdict.namespace = InvalidOid;
}

void
cc_citus_guard_init(void)
{
	CacheRegisterSyscacheCallback(RELNAMENSP, guard_syscache_callback, (Datum) 0);
	CacheRegisterRelcacheCallback(guard_relcache_callback, (Datum) 0);
}

/* pg_catalog.pg_dist_partition, or InvalidOid when Citus is not installed. */
static Oid
dist_partition_relid(void)
{
	uint64		seen = inval_count;
	Oid			relid;

	if (citus_known)
		return dist_partition;
	dist_partition_hash = GetSysCacheHashValue2(RELNAMENSP,
												CStringGetDatum("pg_dist_partition"),
												ObjectIdGetDatum(PG_CATALOG_NAMESPACE));
	relid = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
	if (inval_count == seen)
	{
		dist_partition = relid;
		citus_known = true;
	}
	return relid;
}

/*
 * Reads pg_dist_partition for the tables of v: sets v->distributed.  Citus
 * keeps one row per table it manages, so the table is small; this runs once
 * per invalidation, not per row.
 */
static void
find_distributed(Oid dist_relid, CcCitusVerdict *v)
{
	static const char *const column[1] = {"logicalrelid"};
	Relation	rel;
	TupleDesc	desc;
	int			att;
	SysScanDesc scan;
	HeapTuple	tuple;

	v->distributed = -1;
	rel = try_table_open(dist_relid, AccessShareLock);
	if (rel == NULL)
		return;					/* dropped meanwhile: Citus is gone */
	desc = RelationGetDescr(rel);
	cc_map_columns(desc, column, 1, &att);
	if (att < 0 || (TupleDescAttr(desc, att)->atttypid != REGCLASSOID &&
					TupleDescAttr(desc, att)->atttypid != OIDOID))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot tell which tables Citus distributes"),
				 errdetail("Table \"pg_catalog.pg_dist_partition\" has no column \"logicalrelid\" of type regclass."),
				 errhint(SCALING_OUT_HINT)));

	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while ((tuple = systable_getnext(scan)) != NULL)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(heap_getattr(tuple, att + 1, desc, &isnull));

		if (isnull || !OidIsValid(relid))
			continue;
		for (int i = 0; i < NUM_LOCAL_TABLES; i++)
			if (relid == v->relids[i] && (v->distributed < 0 || i < v->distributed))
				v->distributed = i;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/* The verdict on namespace's tables: the one kept, or a fresh one. */
static const CcCitusVerdict *
check_namespace(Oid namespace, Oid dist_relid)
{
	static CcCitusVerdict fresh;
	uint64		seen = inval_count;

	if (verdict.namespace == namespace)
		return &verdict;
	fresh.namespace = namespace;
	for (int i = 0; i < NUM_LOCAL_TABLES; i++)
		fresh.relids[i] = get_relname_relid(local_tables[i], namespace);
	find_distributed(dist_relid, &fresh);
	if (inval_count == seen && citus_known && dist_relid == dist_partition)
		verdict = fresh;
	return &fresh;
}

/*
 * Whether rel is the ledger or one of its partitions; a shard of the ledger
 * is neither (a shard of a partition is a partition of a shard).
 */
static bool
is_ledger(Relation rel, Oid ledger)
{
	List	   *ancestors;
	bool		result;

	if (RelationGetRelid(rel) == ledger)
		return true;
	if (!OidIsValid(ledger) || !rel->rd_rel->relispartition)
		return false;
	ancestors = get_partition_ancestors(RelationGetRelid(rel));
	result = list_member_oid(ancestors, ledger);
	list_free(ancestors);
	return result;
}

/*
 * Raises when ingesting into (or rebuilding) the tables of the extension's
 * schema would write where no query reads, under Citus; returns at once
 * without it.  ledger is the relation the ingest trigger fired on, or NULL
 * for the functions, which name cometchat.events.
 */
void
cc_citus_guard(Relation ledger)
{
	Oid			dist_relid;
	Oid			namespace;
	const CcCitusVerdict *v;

	if (citus_known && !OidIsValid(dist_partition))
		return;
	dist_relid = dist_partition_relid();
	if (!OidIsValid(dist_relid))
		return;

	namespace = ledger ? RelationGetNamespace(ledger) : get_namespace_oid("cometchat", true);
	if (!OidIsValid(namespace))
		return;					/* nothing of ours to write */
	v = check_namespace(namespace, dist_relid);

	if (ledger && !is_ledger(ledger, v->relids[0]))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cometchat_webhooks cannot ingest into a Citus shard"),
				 errdetail("The ingest trigger fired on \"%s.%s\", which is neither the ledger \"%s.events\" nor a partition of it: "
						   "its lifecycle rows would go to the shell tables of schema \"%s\", "
						   "where no query reads them.",
						   get_namespace_name(namespace), RelationGetRelationName(ledger),
						   get_namespace_name(namespace), get_namespace_name(namespace)),
				 errhint(SCALING_OUT_HINT)));
	if (v->distributed >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cometchat_webhooks cannot run on tables distributed by Citus"),
				 errdetail("Table \"%s.%s\" is listed in \"pg_catalog.pg_dist_partition\": its rows "
						   "are in shards, and the lifecycle tables would be written where no query reads them.",
						   get_namespace_name(namespace), local_tables[v->distributed]),
				 errhint(SCALING_OUT_HINT)));
}
