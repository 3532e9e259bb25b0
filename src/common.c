/*
 * common.c
 *		Helpers every other file may use, and that use no other file:
 *		finding columns by name, and running as a table's owner.
 */
#include "cometchat.h"
#include "compat.h"

#include "miscadmin.h"

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
