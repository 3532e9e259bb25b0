/*
 * lifecycle_merge.c
 *		The merge rules of the lifecycle tables: comparing, setting and
 *		merging one column's values (GREATEST, LEAST, the stronger source).
 *
 * Every write of a lifecycle row is a merge, commutative and idempotent, so
 * that a row is a function of the set of its events: each function here
 * changes a column of a row in memory and says whether it changed it (a
 * merge that changes nothing writes nothing).  Values compare in the order
 * of their column's type and collation, as the SQL they stand for would.
 */
#include "lifecycle.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/rel.h"
#include "utils/typcache.h"

/* The value of an enum column with this label, looked up once per transaction. */
Datum
cc_enum_column_value(CcRel *r, int col, const char *label)
{
	CcStore    *store = r->store;
	Oid			type = cc_col_type(r, col);
	Datum		value;

	for (int i = 0; i < store->nenums; i++)
		if (store->enums[i].type == type && strcmp(store->enums[i].label, label) == 0)
			return ObjectIdGetDatum(store->enums[i].value);
	value = DirectFunctionCall2(enum_in, CStringGetDatum(label), ObjectIdGetDatum(type));
	if (store->nenums < lengthof(store->enums) && strlen(label) < sizeof(store->enums[0].label))
	{
		store->enums[store->nenums].type = type;
		strcpy(store->enums[store->nenums].label, label);
		store->enums[store->nenums++].value = DatumGetObjectId(value);
	}
	return value;
}

/* Compares two values of a column, in the order of its type (and collation). */
int
cc_column_cmp(CcRel *r, int col, Datum a, Datum b)
{
	Oid			type = cc_col_type(r, col);

	switch (type)
	{
		case TIMESTAMPTZOID:
			return timestamp_cmp_internal(DatumGetTimestampTz(a), DatumGetTimestampTz(b));
		case TEXTOID:
			return DatumGetInt32(DirectFunctionCall2Coll(bttextcmp, cc_col_collation(r, col), a, b));
		case INTERVALOID:
			return DatumGetInt32(DirectFunctionCall2(interval_cmp, a, b));
		case DATEOID:
			return DatumGetDateADT(a) < DatumGetDateADT(b) ? -1 : DatumGetDateADT(a) > DatumGetDateADT(b);
		case BOOLOID:
			return (int) DatumGetBool(a) - (int) DatumGetBool(b);
		case INT4OID:
			return DatumGetInt32(a) < DatumGetInt32(b) ? -1 : DatumGetInt32(a) > DatumGetInt32(b);
		default:
			{
				TypeCacheEntry *tc = lookup_type_cache(type, 0);

				if (tc->typtype != TYPTYPE_ENUM)
				{
					Form_pg_attribute att = TupleDescAttr(RelationGetDescr(r->rel), r->att[col]);

					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("column \"%s\" of relation \"%s\" has unexpected type %s",
									NameStr(att->attname), cc_relation_name(r->rel),
									format_type_be(type)),
							 errdetail("cometchat_webhooks merges the values of its columns in the order of the types it gave them."),
							 errhint("Give the column back its type, or reinstall the extension.")));
				}
				return compare_values_of_enum(tc, DatumGetObjectId(a), DatumGetObjectId(b));
			}
	}
}

/* Sets a column; true when that changed the row. */
bool
cc_set_column(CcRow *row, int col, Datum v, bool isnull)
{
	bool		was_null = CC_ISNULL(row, col);

	if (was_null && isnull)
		return false;
	if (!was_null && !isnull && cc_column_cmp(row->r, col, CC_GET(row, col), v) == 0)
		return false;
	CC_SET(row, col, v, isnull);
	return true;
}

/* col = GREATEST(col, v) (sign 1) or LEAST(col, v) (-1): NULLs are ignored, as in SQL. */
static bool
merge_extreme(CcRow *row, int col, Datum v, bool isnull, int sign)
{
	if (isnull)
		return false;
	if (!CC_ISNULL(row, col) && sign * cc_column_cmp(row->r, col, v, CC_GET(row, col)) <= 0)
		return false;
	CC_SET(row, col, v, false);
	return true;
}

/* col = GREATEST(col, v); true when that changed the row. */
bool
cc_merge_greatest(CcRow *row, int col, Datum v, bool isnull)
{
	return merge_extreme(row, col, v, isnull, 1);
}

/* col = LEAST(col, v); true when that changed the row. */
bool
cc_merge_least(CcRow *row, int col, Datum v, bool isnull)
{
	return merge_extreme(row, col, v, isnull, -1);
}

/*
 * A fact from a stronger source wins; equal sources merge by GREATEST.  The
 * row keeps the strongest source that reported the fact.
 */
bool
cc_merge_sourced(CcRow *row, int col, int src_col, Datum v, bool isnull, Datum src, bool src_null)
{
	bool		changed = false;

	int			c;

	if (src_null)
		return false;
	c = CC_ISNULL(row, src_col) ? 1 : cc_column_cmp(row->r, src_col, src, CC_GET(row, src_col));
	if (c > 0)
		changed = cc_set_column(row, col, v, isnull);
	else if (c == 0)
		changed = cc_merge_greatest(row, col, v, isnull);
	return cc_merge_greatest(row, src_col, src, false) || changed;
}

void
cc_row_set_text(CcRow *row, int col, const CcValue *v)
{
	if (v->present)
		CC_SET(row, col, PointerGetDatum(cc_value_text(v)), false);
}
