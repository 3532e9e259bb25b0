/*
 * cometchat.h
 *		What one CometChat calling webhook is, once analyzed.
 *
 * A payload is analyzed once (payload_rules.c) into a CcEvent; the key
 * (idempotency.c), the ingest path (ingest.c) and lifecycle maintenance
 * (lifecycle*.c) all read that struct and never walk the JSONB again.
 */
#ifndef COMETCHAT_H
#define COMETCHAT_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

/* Same order as the SQL enum cometchat.event_kind. */
typedef enum CcKind
{
	CC_CALL_INITIATED,
	CC_CALL_STARTED,
	CC_CALL_PARTICIPANT_JOINED,
	CC_CALL_PARTICIPANT_LEFT,
	CC_CALL_ENDED,
	CC_CALL_BUSY,
	CC_CALL_CANCELLED,
	CC_CALL_REJECTED,
	CC_CALL_UNANSWERED,
	CC_MEETING_STARTED,
	CC_MEETING_PARTICIPANT_JOINED,
	CC_MEETING_PARTICIPANT_LEFT,
	CC_MEETING_ENDED,
	CC_RECORDING_GENERATED,
	CC_UNKNOWN,
	CC_NUM_KINDS
} CcKind;

/* Payload shapes: which fields an event has and which make its key. */
typedef enum CcShape
{
	SHAPE_MESSAGE,				/* data.call, keyed by message id + sentAt */
	SHAPE_START,
	SHAPE_JOIN,
	SHAPE_LEAVE,
	SHAPE_END,
	SHAPE_RECORDING,
	SHAPE_UNKNOWN,
	CC_NUM_SHAPES
} CcShape;

typedef enum CcFlow
{
	FLOW_NONE,					/* recording_generated (either flow), unknown */
	FLOW_RINGING,
	FLOW_SESSION
} CcFlow;

/* Where an extracted value goes. */
typedef enum CcSlot
{
	SLOT_NONE = 0,
	SLOT_TRIGGER,
	SLOT_APP,
	SLOT_WEBHOOK,
	SLOT_REGION,
	SLOT_TYPE,
	SLOT_CALL_ID,
	SLOT_CONVERSATION,
	SLOT_SENDER,
	SLOT_RECEIVER_TYPE,
	SLOT_RECEIVER,
	SLOT_MEDIA,
	SLOT_ACTION,
	SLOT_SENT_AT,
	SLOT_SESSION,
	SLOT_CREATED_AT,
	SLOT_DESTROYED_AT,
	SLOT_JOINED_AT,
	SLOT_LEFT_AT,
	SLOT_NAME,
	SLOT_AUDIO_CALL,
	SLOT_AUDIO_ONLY,
	SLOT_PLATFORM,
	SLOT_SDK,
	SLOT_SDK_VERSION,
	SLOT_OCCUPANTS,
	SLOT_RECORDING_START,
	SLOT_RECORDING_URL,
	SLOT_RECORDING_DURATION,
	SLOT_RECORDING_DATE,
	CC_NUM_SLOTS
} CcSlot;

/*
 * One extracted value.  Strings point into the payload (not NUL-terminated);
 * ids are canonical digit strings; times are unix seconds; booleans are 0/1.
 * (Fields in an order that leaves no padding: an event holds CC_NUM_SLOTS.)
 */
typedef struct CcValue
{
	bool		present;
	bool		flag;
	int			len;
	const char *str;
	int64		num;
	JsonbContainer *container;	/* objects and arrays */
} CcValue;

typedef struct CcOccupant
{
	const char *name;
	int			name_len;
	int64		joined_at;
	int64		left_at;
	bool		has_left;
	bool		has_audio;
	bool		audio_call;
} CcOccupant;

typedef struct CcEventSpec
{
	const char *trigger;
	CcKind		kind;
	CcShape		shape;
	CcFlow		flow;
	const char *type;			/* expected top-level "type", or NULL */
	const char *action;			/* expected data.call.data.action, or NULL */
} CcEventSpec;

typedef struct CcEvent
{
	Jsonb	   *payload;
	const CcEventSpec *spec;	/* never NULL after analysis of a valid envelope */
	CcValue		v[CC_NUM_SLOTS];
	CcOccupant *occupants;
	int			noccupants;
	List	   *problems;		/* of char *, "path: what is wrong" */
	int			nproblems;		/* counts past the cap on the list */
} CcEvent;

/* Which slot holds an event's own time, and which slots make its key. */
typedef struct CcShapeKey
{
	CcSlot		occurred_at;
	int			nparts;
	CcSlot		parts[4];
} CcShapeKey;

extern const CcShapeKey cc_shape_keys[CC_NUM_SHAPES];

/* Unix seconds accepted as plausible: 2000-01-01 .. 2099-12-31. */
#define CC_MIN_UNIX_TIME	INT64CONST(946684800)
#define CC_MAX_UNIX_TIME	INT64CONST(4102444799)

/* At most this many problems are listed; the rest are counted. */
#define CC_MAX_PROBLEMS		50

#define CC_KEY_DIGEST_LEN	32

/* payload_rules.c */
extern void cc_analyze(Jsonb *payload, CcEvent *ev);
extern void cc_add_problem(CcEvent *ev, const char *fmt,...) pg_attribute_printf(2, 3);
extern const char *cc_kind_name(CcKind kind);
extern const char *cc_flow_name(CcFlow flow);
extern ArrayType *cc_problems_array(CcEvent *ev);
extern TimestampTz cc_unix_to_timestamptz(int64 secs);
extern char *cc_value_cstring(const CcValue *v);
extern text *cc_value_text(const CcValue *v);
extern bool cc_slot_is_time(CcSlot slot);
extern void cc_append_json_string(StringInfo out, const char *str, int len);

/* idempotency.c */
extern void cc_idempotency_init(void);
extern void cc_key_text(CcEvent *ev, StringInfo out);
extern bytea *cc_key_digest(const char *key, int len);
extern Oid	cc_find_key_index(Relation rel, int key_att, int time_att, bool *timed,
							  bool missing_ok);
extern bool cc_key_exists(Relation rel, Oid indexoid, bool timed, Datum occurred, bool no_time,
						  bytea *digest, int id_att, int64 *existing_id);
extern void cc_release_key_lock(void);

/* common.c */
extern void cc_map_columns(TupleDesc desc, const char *const *names, int n, int *att);

/* Running as a table's owner, under a search path of pg_catalog alone. */
typedef struct CcOwnerContext
{
	Oid			save_userid;
	int			save_sec_context;
	int			search_path_level;	/* compat.h's cc_push_safe_search_path */
} CcOwnerContext;

extern void cc_enter_owner_context(Oid owner, CcOwnerContext *cx);
extern void cc_leave_owner_context(CcOwnerContext *cx);

/* Errors raised in more than one place: the cc_report_ functions raise. */
extern char *cc_relation_name(Relation rel);
extern void cc_report_missing_table(Oid namespace, const char *relname);
extern void cc_report_nested_apply(void);

/* What became of a delivery (cometchat.ingest_status, in its order). */
typedef enum CcStatus
{
	CC_ACCEPTED,
	CC_DUPLICATE,
	CC_REJECTED,
	CC_NUM_STATUSES
} CcStatus;

/* ingest.c */
extern void cc_ingest_init(void);
extern Oid	cc_enum_label(Oid enumtypid, const char *label);

/* lifecycle.c */
extern void cc_lifecycle_apply_many(CcEvent **evs, int n, Oid namespace);

/* lifecycle_locks.c */
extern uint32 cc_lifecycle_group(const CcEvent *ev, const CcValue **id);
extern void cc_lifecycle_lock_all(CcEvent **evs, int n);
extern void cc_lifecycle_release_claims(void);

/* batch.c */
extern void cc_batch_init(void);
extern void cc_batch_add(CcEvent *ev, Oid namespace, Oid owner);
extern void cc_batch_add_unlocked(CcEvent *ev, Oid namespace, Oid owner);
extern void cc_batch_apply_pending(void);

/* ingest_stats.c */
extern void cc_stats_init(void);
extern void cc_stats_count(const CcEvent *ev, CcStatus status);

/* citus_guard.c */
extern void cc_citus_guard_init(void);
extern void cc_citus_guard(Relation ledger);

/* cometchat_webhooks.c: the settings */
typedef enum CcOnInvalid
{
	CC_ON_INVALID_QUARANTINE,
	CC_ON_INVALID_ERROR
} CcOnInvalid;

extern int	cc_on_invalid;
extern int	cc_outcome_window;
extern int	cc_batch_size;
extern int	cc_stats_max;

#endif							/* COMETCHAT_H */
