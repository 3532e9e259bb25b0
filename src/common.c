/*
 * common.c
 *		Helpers every other file may use, and that use no other file:
 *		finding columns by name, running as a table's owner, and the errors
 *		more than one file raises, so that each condition has one wording.
 */
#include "cometchat.h"
#include "compat.h"

#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/*
 * Finds, for each of the n names, the attribute index of the column of that
 * name in desc (att[i]), or -1.  Dropped columns do not count.
 */
void
cc_map_columns(TupleDesc desc, const char *const *names, int n, int *att)
{
	for (int c = 0; c < n; c++)
		att[c] = -1;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attisdropped)
			continue;
		for (int c = 0; c < n; c++)
			if (strcmp(NameStr(a->attname), names[c]) == 0)
				att[c] = i;
	}
}

/*
 * The trigger's statements run as the owner of the table they maintain (as
 * foreign-key checks do), so a receiver needs no grant beyond INSERT on the
 * ledger; and under a search path of pg_catalog alone, so nothing a caller
 * creates in public or pg_temp (a function, an operator, a type, a table) can
 * stand in for what they name.  Both are undone on error by (sub)transaction
 * abort; CcOwnerContext undoes them on success.
 */
void
cc_enter_owner_context(Oid owner, CcOwnerContext *cx)
{
	GetUserIdAndSecContext(&cx->save_userid, &cx->save_sec_context);
	SetUserIdAndSecContext(owner, cx->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	cx->search_path_level = cc_push_safe_search_path();
}

void
cc_leave_owner_context(CcOwnerContext *cx)
{
	cc_pop_safe_search_path(cx->search_path_level);
	SetUserIdAndSecContext(cx->save_userid, cx->save_sec_context);
}

/* ---------------------------------------------------------------------- */
/* Errors raised in more than one place                                    */
/* ---------------------------------------------------------------------- */

/* A relation's name as messages give it: qualified by its schema. */
char *
cc_relation_name(Relation rel)
{
	return psprintf("%s.%s", get_namespace_name(RelationGetNamespace(rel)),
					RelationGetRelationName(rel));
}

/*
 * Raises: a table of the extension is not in its schema.  The extension
 * finds its tables by name, so a renamed or dropped one is missed at once.
 */
void
cc_report_missing_table(Oid namespace, const char *relname)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("relation \"%s.%s\" does not exist", get_namespace_name(namespace), relname),
			 errdetail("cometchat_webhooks finds its tables by name, in the schema of its ledger."),
			 errhint("Give the table back its name, or reinstall the extension.")));
}

/*
 * Raises: an event is being ingested while the lifecycle tables are being
 * written for another (by a trigger on one of them), which would need the
 * store and the batch that are in use.
 */
void
cc_report_nested_apply(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("an event was ingested while another one was being applied"),
			 errdetail("A trigger on a lifecycle table ingests events; that is not supported.")));
}
