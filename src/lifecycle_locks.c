/*
 * lifecycle_locks.c
 *		The bucket locks: which id an event is applied under, and taking the
 *		locks of a batch's ids in an order that cannot deadlock.
 *
 * Writers of one session id, and of one conversation, are serialized by a
 * transaction-level advisory lock on a hash bucket of (app_id, id); an event
 * that needs both takes them in bucket order, so single-event transactions
 * never deadlock.  Buckets keep a bulk load to at most CC_LOCK_BUCKETS locks.
 */
#include "cometchat.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lmgr.h"

#define CC_LOCK_LIFECYCLE	0xCC02
#define CC_LOCK_BUCKETS		1024

static uint32
lock_bucket(const CcValue *app, const CcValue *id)
{
	uint32		h = hash_bytes((const unsigned char *) app->str, app->len);

	h = hash_combine(h, hash_bytes((const unsigned char *) id->str, id->len));
	return h % CC_LOCK_BUCKETS;
}

/*
 * The id an event is grouped by in a batch (batch.c), and its lock bucket:
 * the conversation of a call message (call_initiated and the outcomes), the
 * session id of every other event.
 */
uint32
cc_lifecycle_group(const CcEvent *ev, const CcValue **id)
{
	static const CcValue none = {0};

	*id = ev->v[SLOT_SESSION].present ? &ev->v[SLOT_SESSION] : &ev->v[SLOT_CONVERSATION];
	if (!(*id)->present)
	{
		*id = &none;
		return 0;
	}
	return lock_bucket(&ev->v[SLOT_APP], *id);
}

static int
bucket_cmp(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return (x > y) - (x < y);
}

/*
 * Takes the locks of every id these events write under (a session id; a
 * conversation, and for call_initiated its session id too), in bucket
 * order, which is what keeps concurrent writers from deadlocking: the
 * events of a batch are applied in another order, and two batches that took
 * their locks as they went could wait for each other.
 */
void
cc_lifecycle_lock_all(CcEvent **evs, int n)
{
	uint32	   *buckets = palloc(sizeof(uint32) * 2 * n);
	int			nb = 0;

	for (int i = 0; i < n; i++)
	{
		const CcEvent *ev = evs[i];
		const CcValue *ids[2] = {&ev->v[SLOT_SESSION], NULL};

		if (ev->spec->kind == CC_UNKNOWN)
			continue;
		if (ev->spec->shape == SHAPE_MESSAGE)
		{
			ids[0] = &ev->v[SLOT_CONVERSATION];
			if (ev->spec->kind == CC_CALL_INITIATED)
				ids[1] = &ev->v[SLOT_SESSION];
		}
		for (int j = 0; j < 2; j++)
			if (ids[j] && ids[j]->present)
				buckets[nb++] = lock_bucket(&ev->v[SLOT_APP], ids[j]);
	}
	qsort(buckets, nb, sizeof(uint32), bucket_cmp);
	for (int i = 0; i < nb; i++)
	{
		LOCKTAG		tag;

		if (i > 0 && buckets[i] == buckets[i - 1])
			continue;
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, buckets[i], 0, CC_LOCK_LIFECYCLE);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
	}
	pfree(buckets);
}
