/*
 * payload_rules.c
 *		The payload rules of the 14 CometChat calling webhooks, as data, and
 *		the one pass that checks a payload against them.
 *
 * Each event names a shape; each shape is a table of fields.  A field is
 * looked up in its parent (an earlier row of the same table, or the payload
 * itself), checked, and its value stored in a slot of the CcEvent.  The
 * tables can be read side by side with sections 4, 5 and 8 of
 * shared/reference/cometchat-calling-webhooks.md.
 */
#include "cometchat.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"

typedef enum CcCheck
{
	CK_OBJECT,
	CK_ARRAY,
	CK_TEXT,					/* a non-empty string */
	CK_STRING,					/* any string */
	CK_ENUM,					/* one of choices */
	CK_ID,						/* digits, as a string or a non-negative integer */
	CK_UNIX_TIME,				/* unix seconds as a JSON integer */
	CK_UNIX_TIME_OR_DIGITS,		/* ... or as a string of digits */
	CK_BOOL,					/* "true"/"false" or a JSON boolean */
	CK_DECIMAL,					/* "21.433000" or a non-negative number */
	CK_DATE						/* "YYYY-MM-DD" */
} CcCheck;

#define ROOT	(-1)
#define REQ		true
#define OPT		false

typedef struct CcField
{
	int			parent;			/* row of the containing object, or ROOT */
	const char *key;
	CcCheck		check;
	bool		required;
	CcSlot		slot;
	const char *const *choices;	/* CK_ENUM only */
	int			max_len;		/* strings: at most this many bytes; 0: any */
} CcField;

#define F(parent, key, check, req, slot)	{parent, key, check, req, slot, NULL, 0}
#define E(parent, key, req, slot, choices)	{parent, key, CK_ENUM, req, slot, choices, 0}

/*
 * Strings that become index keys have a bounded length: a B-tree row holds
 * at most about 2.7 kB, and the widest key (a participant: app, session id,
 * name and time) must fit whatever arrives.  CometChat's own ids are far
 * shorter (webhook ids 50 characters, app ids 14, session ids about 80).
 */
#define ID_LEN		255			/* appId, webhook */
#define NAME_LEN	512			/* session ids, names, conversation ids */
#define K(parent, key, req, slot, max_len)	{parent, key, CK_TEXT, req, slot, NULL, max_len}

/* Recording durations above this many seconds (about 31 years) are refused. */
#define MAX_DURATION_DIGITS 9

static const char *const receiver_types[] = {"user", "group", NULL};
static const char *const media_types[] = {"audio", "video", NULL};
static const char *const categories[] = {"call", NULL};

/* Read first, whatever the trigger: it decides everything else. */
static const CcField envelope_fields[] = {
	F(ROOT, "trigger", CK_TEXT, REQ, SLOT_TRIGGER),
	K(ROOT, "appId", REQ, SLOT_APP, ID_LEN),
	K(ROOT, "webhook", REQ, SLOT_WEBHOOK, ID_LEN),
};

/* call_initiated, call_busy, call_cancelled, call_rejected, call_unanswered (ref. 4.1, 4.6-4.9) */
static const CcField message_fields[] = {
	/* 0 */ F(ROOT, "region", CK_TEXT, REQ, SLOT_REGION),
	/* 1 */ F(ROOT, "type", CK_TEXT, OPT, SLOT_TYPE),
	/* 2 */ F(ROOT, "data", CK_OBJECT, REQ, SLOT_NONE),
	/* 3 */ F(2, "call", CK_OBJECT, REQ, SLOT_NONE),
	/* 4 */ F(3, "id", CK_ID, REQ, SLOT_CALL_ID),
	/* 5 */ K(3, "conversationId", REQ, SLOT_CONVERSATION, NAME_LEN),
	/* 6 */ K(3, "sender", REQ, SLOT_SENDER, NAME_LEN),
	/* 7 */ E(3, "receiverType", REQ, SLOT_RECEIVER_TYPE, receiver_types),
	/* 8 */ K(3, "receiver", REQ, SLOT_RECEIVER, NAME_LEN),
	/* 9 */ E(3, "category", REQ, SLOT_NONE, categories),
	/* 10 */ E(3, "type", REQ, SLOT_MEDIA, media_types),
	/* 11 */ F(3, "sentAt", CK_UNIX_TIME, REQ, SLOT_SENT_AT),
	/* 12 */ F(3, "updatedAt", CK_UNIX_TIME, OPT, SLOT_NONE),
	/* 13 */ F(3, "data", CK_OBJECT, REQ, SLOT_NONE),
	/* 14 */ F(13, "action", CK_TEXT, REQ, SLOT_ACTION),
	/* 15 */ F(13, "entities", CK_OBJECT, OPT, SLOT_NONE),
	/* 16 */ F(15, "on", CK_OBJECT, OPT, SLOT_NONE),
	/* 17 */ F(16, "entity", CK_OBJECT, OPT, SLOT_NONE),
	/* 18 */ K(17, "sessionid", OPT, SLOT_SESSION, NAME_LEN),	/* lower-case "id" */
	/* 19 */ F(17, "initiatedAt", CK_UNIX_TIME, OPT, SLOT_NONE),
	/* 20 */ E(17, "type", OPT, SLOT_NONE, media_types),
};

/* call_started, meeting_started (4.2, 5.1) */
static const CcField start_fields[] = {
	/* 0 */ F(ROOT, "region", CK_TEXT, REQ, SLOT_REGION),
	/* 1 */ F(ROOT, "type", CK_TEXT, OPT, SLOT_TYPE),
	/* 2 */ F(ROOT, "data", CK_OBJECT, REQ, SLOT_NONE),
	/* 3 */ K(2, "sessionId", REQ, SLOT_SESSION, NAME_LEN),
	/* 4 */ F(2, "created_at", CK_UNIX_TIME, REQ, SLOT_CREATED_AT),
};

/* call_participant_joined, meeting_participant_joined (4.3, 5.2) */
static const CcField join_fields[] = {
	/* 0 */ F(ROOT, "region", CK_TEXT, REQ, SLOT_REGION),
	/* 1 */ F(ROOT, "type", CK_TEXT, OPT, SLOT_TYPE),
	/* 2 */ F(ROOT, "data", CK_OBJECT, REQ, SLOT_NONE),
	/* 3 */ K(2, "sessionId", REQ, SLOT_SESSION, NAME_LEN),
	/* 4 */ F(2, "occupant", CK_OBJECT, REQ, SLOT_NONE),
	/* 5 */ F(4, "joined_at", CK_UNIX_TIME, REQ, SLOT_JOINED_AT),
	/* 6 */ K(4, "name", REQ, SLOT_NAME, NAME_LEN),
	/* 7 */ F(4, "audio_call", CK_BOOL, OPT, SLOT_AUDIO_CALL),
	/* 8 */ F(2, "initial_config", CK_OBJECT, OPT, SLOT_NONE),
	/* 9 */ F(8, "is_video_muted", CK_BOOL, OPT, SLOT_NONE),
	/* 10 */ F(8, "start_recording_on_call_start", CK_BOOL, OPT, SLOT_NONE),
	/* 11 */ F(8, "is_audio_muted", CK_BOOL, OPT, SLOT_NONE),
	/* 12 */ F(8, "is_audio_only", CK_BOOL, OPT, SLOT_AUDIO_ONLY),
	/* 13 */ F(8, "call_version", CK_STRING, OPT, SLOT_SDK_VERSION),
	/* 14 */ F(8, "sdk", CK_STRING, OPT, SLOT_SDK),
	/* 15 */ F(8, "platform", CK_STRING, OPT, SLOT_PLATFORM),
	/* 16 */ F(8, "mode", CK_STRING, OPT, SLOT_NONE),
};

/* call_participant_left, meeting_participant_left (4.4, 5.3) */
static const CcField leave_fields[] = {
	/* 0 */ F(ROOT, "region", CK_TEXT, REQ, SLOT_REGION),
	/* 1 */ F(ROOT, "type", CK_TEXT, OPT, SLOT_TYPE),
	/* 2 */ F(ROOT, "data", CK_OBJECT, REQ, SLOT_NONE),
	/* 3 */ K(2, "sessionId", REQ, SLOT_SESSION, NAME_LEN),
	/* 4 */ F(2, "occupant", CK_OBJECT, REQ, SLOT_NONE),
	/* 5 */ F(4, "joined_at", CK_UNIX_TIME, REQ, SLOT_JOINED_AT),
	/* 6 */ F(4, "left_at", CK_UNIX_TIME, REQ, SLOT_LEFT_AT),
	/* 7 */ K(4, "name", REQ, SLOT_NAME, NAME_LEN),
	/* 8 */ F(4, "audio_call", CK_BOOL, OPT, SLOT_AUDIO_CALL),
};

/* call_ended, meeting_ended (4.5, 5.4) */
static const CcField end_fields[] = {
	/* 0 */ F(ROOT, "region", CK_TEXT, REQ, SLOT_REGION),
	/* 1 */ F(ROOT, "type", CK_TEXT, OPT, SLOT_TYPE),
	/* 2 */ F(ROOT, "data", CK_OBJECT, REQ, SLOT_NONE),
	/* 3 */ K(2, "sessionId", REQ, SLOT_SESSION, NAME_LEN),
	/* 4 */ F(2, "created_at", CK_UNIX_TIME, REQ, SLOT_CREATED_AT),
	/* 5 */ F(2, "destroyed_at", CK_UNIX_TIME, REQ, SLOT_DESTROYED_AT),
	/* 6 */ F(2, "all_occupants", CK_ARRAY, REQ, SLOT_OCCUPANTS),
};

/* Each element of data.all_occupants; the slots are the occupant's own. */
static const CcField occupant_fields[] = {
	/* 0 */ F(ROOT, "joined_at", CK_UNIX_TIME, REQ, SLOT_JOINED_AT),
	/* 1 */ F(ROOT, "left_at", CK_UNIX_TIME, OPT, SLOT_LEFT_AT),
	/* 2 */ K(ROOT, "name", REQ, SLOT_NAME, NAME_LEN),
	/* 3 */ F(ROOT, "audio_call", CK_BOOL, OPT, SLOT_AUDIO_CALL),
};

/* recording_generated (5.5): startTime and duration arrive as strings */
static const CcField recording_fields[] = {
	/* 0 */ F(ROOT, "region", CK_TEXT, REQ, SLOT_REGION),
	/* 1 */ F(ROOT, "type", CK_TEXT, OPT, SLOT_TYPE),
	/* 2 */ F(ROOT, "data", CK_OBJECT, REQ, SLOT_NONE),
	/* 3 */ K(2, "sessionId", REQ, SLOT_SESSION, NAME_LEN),
	/* 4 */ F(2, "startTime", CK_UNIX_TIME_OR_DIGITS, REQ, SLOT_RECORDING_START),
	/* 5 */ F(2, "recording_url", CK_TEXT, REQ, SLOT_RECORDING_URL),
	/* 6 */ F(2, "duration", CK_DECIMAL, OPT, SLOT_RECORDING_DURATION),
	/* 7 */ F(2, "recordingDate", CK_DATE, OPT, SLOT_RECORDING_DATE),
};

/* A trigger we do not know: kept as kind "unknown" if the envelope holds. */
static const CcField unknown_fields[] = {
	/* 0 */ F(ROOT, "region", CK_STRING, OPT, SLOT_REGION),
	/* 1 */ F(ROOT, "data", CK_OBJECT, REQ, SLOT_NONE),
};

typedef struct CcShapeRules
{
	const CcField *fields;
	int			nfields;
} CcShapeRules;

#define SHAPE(f)	{f, lengthof(f)}
static const CcShapeRules shape_rules[CC_NUM_SHAPES] = {
	[SHAPE_MESSAGE] = SHAPE(message_fields),
	[SHAPE_START] = SHAPE(start_fields),
	[SHAPE_JOIN] = SHAPE(join_fields),
	[SHAPE_LEAVE] = SHAPE(leave_fields),
	[SHAPE_END] = SHAPE(end_fields),
	[SHAPE_RECORDING] = SHAPE(recording_fields),
	[SHAPE_UNKNOWN] = SHAPE(unknown_fields),
};

/*
 * The 14 events (reference section 3): shape, flow, the top-level "type"
 * they carry, and the data.call.data.action that must match the trigger.
 */
static const CcEventSpec event_specs[] = {
	{"call_initiated", CC_CALL_INITIATED, SHAPE_MESSAGE, FLOW_RINGING, NULL, "initiated"},
	{"call_started", CC_CALL_STARTED, SHAPE_START, FLOW_RINGING, "call", NULL},
	{"call_participant_joined", CC_CALL_PARTICIPANT_JOINED, SHAPE_JOIN, FLOW_RINGING, "call", NULL},
	{"call_participant_left", CC_CALL_PARTICIPANT_LEFT, SHAPE_LEAVE, FLOW_RINGING, "call", NULL},
	{"call_ended", CC_CALL_ENDED, SHAPE_END, FLOW_RINGING, "call", NULL},
	{"call_busy", CC_CALL_BUSY, SHAPE_MESSAGE, FLOW_RINGING, NULL, "busy"},
	{"call_cancelled", CC_CALL_CANCELLED, SHAPE_MESSAGE, FLOW_RINGING, NULL, "cancelled"},
	{"call_rejected", CC_CALL_REJECTED, SHAPE_MESSAGE, FLOW_RINGING, NULL, "rejected"},
	{"call_unanswered", CC_CALL_UNANSWERED, SHAPE_MESSAGE, FLOW_RINGING, NULL, "unanswered"},
	{"meeting_started", CC_MEETING_STARTED, SHAPE_START, FLOW_SESSION, "meet", NULL},
	{"meeting_participant_joined", CC_MEETING_PARTICIPANT_JOINED, SHAPE_JOIN, FLOW_SESSION, "meet", NULL},
	{"meeting_participant_left", CC_MEETING_PARTICIPANT_LEFT, SHAPE_LEAVE, FLOW_SESSION, "meet", NULL},
	{"meeting_ended", CC_MEETING_ENDED, SHAPE_END, FLOW_SESSION, "meet", NULL},
	{"recording_generated", CC_RECORDING_GENERATED, SHAPE_RECORDING, FLOW_NONE, NULL, NULL},
};

static const CcEventSpec unknown_spec =
{"unknown", CC_UNKNOWN, SHAPE_UNKNOWN, FLOW_NONE, NULL, NULL};

/*
 * Which slot holds the event's own time, and which slots (after appId,
 * webhook and trigger) make its idempotency key: CometChat's documented key
 * (reference section 3), plus the occupant's name on joins and leaves, and
 * the joined_at of a leave (section 9.8: the documented key collides when two
 * people join or leave in the same second).
 */
const CcShapeKey cc_shape_keys[CC_NUM_SHAPES] = {
	[SHAPE_MESSAGE] = {SLOT_SENT_AT, 2, {SLOT_CALL_ID, SLOT_SENT_AT}},
	[SHAPE_START] = {SLOT_CREATED_AT, 2, {SLOT_SESSION, SLOT_CREATED_AT}},
	[SHAPE_JOIN] = {SLOT_JOINED_AT, 3, {SLOT_SESSION, SLOT_JOINED_AT, SLOT_NAME}},
	[SHAPE_LEAVE] = {SLOT_LEFT_AT, 4, {SLOT_SESSION, SLOT_LEFT_AT, SLOT_NAME, SLOT_JOINED_AT}},
	[SHAPE_END] = {SLOT_DESTROYED_AT, 2, {SLOT_SESSION, SLOT_DESTROYED_AT}},
	[SHAPE_RECORDING] = {SLOT_RECORDING_START, 2, {SLOT_SESSION, SLOT_RECORDING_START}},
	[SHAPE_UNKNOWN] = {SLOT_NONE, 0, {SLOT_NONE}},
};

/* Slots holding unix seconds, rendered as numbers in keys. */
bool
cc_slot_is_time(CcSlot slot)
{
	switch (slot)
	{
		case SLOT_SENT_AT:
		case SLOT_CREATED_AT:
		case SLOT_DESTROYED_AT:
		case SLOT_JOINED_AT:
		case SLOT_LEFT_AT:
		case SLOT_RECORDING_START:
			return true;
		default:
			return false;
	}
}

/* ---------------------------------------------------------------------- */

const char *
cc_kind_name(CcKind kind)
{
	if (kind == CC_UNKNOWN)
		return unknown_spec.trigger;
	Assert(kind >= 0 && kind < lengthof(event_specs));
	return event_specs[kind].trigger;
}

const char *
cc_flow_name(CcFlow flow)
{
	switch (flow)
	{
		case FLOW_RINGING:
			return "ringing";
		case FLOW_SESSION:
			return "session";
		default:
			return NULL;
	}
}

static const CcEventSpec *
find_spec(const char *trigger, int len)
{
	for (int i = 0; i < lengthof(event_specs); i++)
	{
		if (strncmp(event_specs[i].trigger, trigger, len) == 0 &&
			event_specs[i].trigger[len] == '\0')
			return &event_specs[i];
	}
	return &unknown_spec;
}

/* Appends str as a JSON string literal: unambiguous, whatever it holds. */
void
cc_append_json_string(StringInfo out, const char *str, int len)
{
	int			run = 0;		/* where the characters not yet appended start */

	appendStringInfoCharMacro(out, '"');
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) str[i];

		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		/* The plain characters before it in one copy. */
		appendBinaryStringInfo(out, str + run, i - run);
		run = i + 1;
		if (c < 0x20)
			appendStringInfo(out, "\\u%04x", c);
		else
		{
			appendStringInfoCharMacro(out, '\\');
			appendStringInfoCharMacro(out, c);
		}
	}
	appendBinaryStringInfo(out, str + run, len - run);
	appendStringInfoCharMacro(out, '"');
}

void
cc_add_problem(CcEvent *ev, const char *fmt,...)
{
	StringInfoData buf;

	ev->nproblems++;
	if (ev->nproblems > CC_MAX_PROBLEMS)
		return;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	ev->problems = lappend(ev->problems, buf.data);
}

ArrayType *
cc_problems_array(CcEvent *ev)
{
	int			n = list_length(ev->problems);
	int			extra = ev->nproblems - n;
	Datum	   *elems = palloc(sizeof(Datum) * (n + 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, ev->problems)
		elems[i++] = CStringGetTextDatum((char *) lfirst(lc));
	if (extra > 0)
		elems[i++] = CStringGetTextDatum(psprintf("(and %d more problems)", extra));
	return construct_array(elems, i, TEXTOID, -1, false, TYPALIGN_INT);
}

/* "data.all_occupants[3].name": only built when there is a problem to report */
static char *
field_path(const char *prefix, const CcField *fields, int i)
{
	const char *parts[16];
	int			n = 0;
	StringInfoData buf;

	for (; i >= 0 && n < lengthof(parts); i = fields[i].parent)
		parts[n++] = fields[i].key;

	initStringInfo(&buf);
	if (prefix)
		appendStringInfoString(&buf, prefix);
	while (n-- > 0)
	{
		if (buf.len > 0)
			appendStringInfoChar(&buf, '.');
		appendStringInfoString(&buf, parts[n]);
	}
	return buf.data;
}

/* "string \"abc\"", "number 1.5", "object": what a value was, briefly */
static char *
describe_value(const JsonbValue *jv)
{
	StringInfoData buf;

	initStringInfo(&buf);
	switch (jv->type)
	{
		case jbvNull:
			appendStringInfoString(&buf, "null");
			break;
		case jbvBool:
			appendStringInfoString(&buf, jv->val.boolean ? "boolean true" : "boolean false");
			break;
		case jbvNumeric:
			{
				char	   *num = DatumGetCString(DirectFunctionCall1(numeric_out,
																	  NumericGetDatum(jv->val.numeric)));
				int			len = strlen(num);

				appendStringInfoString(&buf, "number ");
				appendBinaryStringInfo(&buf, num, Min(len, 40));
				if (len > 40)
					appendStringInfoString(&buf, "...");
				break;
			}
		case jbvString:
			{
				int			len = jv->val.string.len;
				int			clip = pg_mbcliplen(jv->val.string.val, len, 40);

				appendStringInfoString(&buf, "string ");
				cc_append_json_string(&buf, jv->val.string.val, clip);
				if (clip < len)
					appendStringInfoString(&buf, "...");
				break;
			}
		case jbvBinary:
			appendStringInfoString(&buf,
								   JsonContainerIsArray(jv->val.binary.data) ? "array" : "object");
			break;
		default:
			appendStringInfoString(&buf, "a value of unexpected type");
			break;
	}
	return buf.data;
}

static bool
all_digits(const char *s, int len)
{
	if (len == 0)
		return false;
	for (int i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * A JSON number as int64, if it was written as a whole number (52, not 52.0)
 * and fits.  jsonb keeps numbers as numeric, which keeps the written scale.
 */
static bool
numeric_to_int64(Numeric num, int64 *result, char **text_out)
{
	char	   *txt = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
	const char *p = txt;
	int			len;

	*text_out = txt;
	if (*p == '-')
		p++;
	len = strlen(p);
	if (!all_digits(p, len) || len > 18)
		return false;
	*result = strtoi64(txt, NULL, 10);
	return true;
}

/* Digits without leading zeros: "052" and 52 name the same message. */
static void
set_canonical_digits(CcValue *v, const char *s, int len)
{
	while (len > 1 && *s == '0')
	{
		s++;
		len--;
	}
	v->str = s;
	v->len = len;
}

static char *field_path(const char *prefix, const CcField *fields, int i);

static bool
check_unix_time(CcEvent *ev, const char *prefix, const CcField *fields, int i, int64 secs)
{
	if (secs < CC_MIN_UNIX_TIME || secs > CC_MAX_UNIX_TIME)
	{
		cc_add_problem(ev, "%s: " INT64_FORMAT " is not a plausible unix time in seconds (expected " INT64_FORMAT " to " INT64_FORMAT "%s)",
					   field_path(prefix, fields, i), secs, CC_MIN_UNIX_TIME, CC_MAX_UNIX_TIME,
					   secs > CC_MAX_UNIX_TIME * 100 ? "; it looks like milliseconds" : "");
		return false;
	}
	return true;
}

static bool
parse_date(const char *s, int len, DateADT *result)
{
	int			y,
				m,
				d;
	int			jd,
				y2,
				m2,
				d2;

	if (len != 10 || s[4] != '-' || s[7] != '-' ||
		!all_digits(s, 4) || !all_digits(s + 5, 2) || !all_digits(s + 8, 2))
		return false;
	y = atoi(pnstrdup(s, 4));
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	jd = date2j(y, m, d);
	j2date(jd, &y2, &m2, &d2);
	if (y2 != y || m2 != m || d2 != d)
		return false;
	*result = jd - POSTGRES_EPOCH_JDATE;
	return true;
}

static bool
is_decimal(const char *s, int len)
{
	int			i = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0 || i > MAX_DURATION_DIGITS)
		return false;
	if (i == len)
		return true;
	if (s[i] != '.' || i + 1 == len)
		return false;
	return all_digits(s + i + 1, len - i - 1);
}

/*
 * Checks one value against its rule and stores it in its slot.  Returns
 * false when the value is unusable (its children are then not looked at).
 */
#define PATH()	field_path(prefix, fields, i)

static bool
check_value(CcEvent *ev, const char *prefix, const CcField *fields, int i,
			JsonbValue *jv, CcValue *out)
{
	const CcField *f = &fields[i];
	const char *expected = NULL;

	switch (f->check)
	{
		case CK_OBJECT:
		case CK_ARRAY:
			if (jv->type == jbvBinary &&
				(f->check == CK_OBJECT ? JsonContainerIsObject(jv->val.binary.data)
				 : JsonContainerIsArray(jv->val.binary.data)))
			{
				out->container = jv->val.binary.data;
				out->present = true;
				return true;
			}
			expected = f->check == CK_OBJECT ? "an object" : "an array";
			break;

		case CK_TEXT:
		case CK_STRING:
			if (jv->type != jbvString)
			{
				expected = "a string";
				break;
			}
			if (f->check == CK_TEXT && jv->val.string.len == 0)
			{
				cc_add_problem(ev, "%s: must not be empty", PATH());
				return false;
			}
			if (f->max_len > 0 && jv->val.string.len > f->max_len)
			{
				cc_add_problem(ev, "%s: is %d bytes long; at most %d are accepted",
							   PATH(), jv->val.string.len, f->max_len);
				return false;
			}
			out->str = jv->val.string.val;
			out->len = jv->val.string.len;
			out->present = true;
			return true;

		case CK_ENUM:
			if (jv->type == jbvString)
			{
				for (const char *const *c = f->choices; *c; c++)
				{
					if (strlen(*c) == jv->val.string.len &&
						memcmp(*c, jv->val.string.val, jv->val.string.len) == 0)
					{
						out->str = *c;
						out->len = jv->val.string.len;
						out->present = true;
						return true;
					}
				}
			}
			{
				StringInfoData buf;

				initStringInfo(&buf);
				for (const char *const *c = f->choices; *c; c++)
					appendStringInfo(&buf, "%s\"%s\"", c == f->choices ? "" : ", ", *c);
				cc_add_problem(ev, "%s: expected %s%s, got %s", PATH(),
							   f->choices[1] ? "one of " : "", buf.data, describe_value(jv));
			}
			return false;

		case CK_ID:
			if (jv->type == jbvString && jv->val.string.len <= 32 &&
				all_digits(jv->val.string.val, jv->val.string.len))
			{
				set_canonical_digits(out, jv->val.string.val, jv->val.string.len);
				out->present = true;
				return true;
			}
			if (jv->type == jbvNumeric)
			{
				int64		id;
				char	   *txt;

				if (numeric_to_int64(jv->val.numeric, &id, &txt) && id >= 0)
				{
					set_canonical_digits(out, txt, strlen(txt));
					out->present = true;
					return true;
				}
			}
			expected = "a string of digits or a non-negative integer";
			break;

		case CK_UNIX_TIME:
		case CK_UNIX_TIME_OR_DIGITS:
			{
				int64		secs = 0;
				char	   *txt;

				if (jv->type == jbvNumeric)
				{
					if (!numeric_to_int64(jv->val.numeric, &secs, &txt))
					{
						expected = "whole unix seconds";
						break;
					}
				}
				else if (f->check == CK_UNIX_TIME_OR_DIGITS && jv->type == jbvString &&
						 jv->val.string.len <= 18 &&
						 all_digits(jv->val.string.val, jv->val.string.len))
					secs = strtoi64(pnstrdup(jv->val.string.val, jv->val.string.len), NULL, 10);
				else
				{
					expected = f->check == CK_UNIX_TIME
						? "unix seconds as a JSON integer"
						: "unix seconds as a string of digits or a JSON integer";
					break;
				}
				if (!check_unix_time(ev, prefix, fields, i, secs))
					return false;
				out->num = secs;
				out->present = true;
				return true;
			}

		case CK_BOOL:
			if (jv->type == jbvBool)
			{
				out->flag = jv->val.boolean;
				out->present = true;
				return true;
			}
			if (jv->type == jbvString)
			{
				bool		is_true = jv->val.string.len == 4 &&
					memcmp(jv->val.string.val, "true", 4) == 0;
				bool		is_false = jv->val.string.len == 5 &&
					memcmp(jv->val.string.val, "false", 5) == 0;

				if (is_true || is_false)
				{
					out->flag = is_true;
					out->present = true;
					return true;
				}
			}
			expected = "\"true\", \"false\" or a JSON boolean";
			break;

		case CK_DECIMAL:
			if (jv->type == jbvString && is_decimal(jv->val.string.val, jv->val.string.len) &&
				jv->val.string.len <= 40)
			{
				out->str = jv->val.string.val;
				out->len = jv->val.string.len;
				out->present = true;
				return true;
			}
			if (jv->type == jbvNumeric)
			{
				char	   *txt = DatumGetCString(DirectFunctionCall1(numeric_out,
																	  NumericGetDatum(jv->val.numeric)));

				if (is_decimal(txt, strlen(txt)) && strlen(txt) <= 40)
				{
					out->str = txt;
					out->len = strlen(txt);
					out->present = true;
					return true;
				}
			}
			expected = "non-negative decimal seconds below 1e9, such as \"21.433000\"";
			break;

		case CK_DATE:
			if (jv->type == jbvString)
			{
				DateADT		date;

				if (parse_date(jv->val.string.val, jv->val.string.len, &date))
				{
					out->num = date;
					out->present = true;
					return true;
				}
			}
			expected = "a date as \"YYYY-MM-DD\"";
			break;
	}

	cc_add_problem(ev, "%s: expected %s, got %s", PATH(), expected, describe_value(jv));
	return false;
}

/*
 * Checks every field of one table against container, in table order, so a
 * parent is always resolved before its children.  Returns, through found,
 * the JSON value of each field that passed (for arrays).
 */
static void
check_fields(CcEvent *ev, JsonbContainer *container, const char *prefix,
			 const CcField *fields, int nfields, CcValue *slots, JsonbValue *found)
{
	bool		ok[32];

	Assert(nfields <= lengthof(ok));
	for (int i = 0; i < nfields; i++)
	{
		const CcField *f = &fields[i];
		JsonbContainer *parent = container;
		CcValue		discard;

		ok[i] = false;
		if (f->parent != ROOT)
		{
			if (!ok[f->parent])
				continue;		/* parent missing or wrong: already reported */
			parent = found[f->parent].val.binary.data;
		}

		if (getKeyJsonValueFromContainer(parent, f->key, strlen(f->key), &found[i]) == NULL)
		{
			if (f->required)
				cc_add_problem(ev, "%s: is missing", field_path(prefix, fields, i));
			continue;
		}
		memset(&discard, 0, sizeof(discard));
		ok[i] = check_value(ev, prefix, fields, i, &found[i],
							f->slot == SLOT_NONE ? &discard : &slots[f->slot]);
	}
}

static void
check_order(CcEvent *ev, const char *prefix, const CcValue *earlier, const char *earlier_name,
			const CcValue *later, const char *later_name)
{
	if (earlier->present && later->present && later->num < earlier->num)
		cc_add_problem(ev, "%s%s: " INT64_FORMAT " is before %s%s " INT64_FORMAT,
					   prefix, later_name, later->num, prefix, earlier_name, earlier->num);
}

static void
check_occupants(CcEvent *ev, JsonbContainer *array)
{
	int			n = JsonContainerSize(array);

	ev->occupants = palloc0(sizeof(CcOccupant) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		JsonbValue	elem;
		JsonbValue	found[lengthof(occupant_fields)];
		CcValue		slots[CC_NUM_SLOTS];
		char		prefix[48];
		CcOccupant *occ;
		JsonbValue *e;

		snprintf(prefix, sizeof(prefix), "data.all_occupants[%d]", i);
		e = getIthJsonbValueFromContainer(array, i);
		if (e == NULL)
			continue;
		elem = *e;
		if (elem.type != jbvBinary || !JsonContainerIsObject(elem.val.binary.data))
		{
			cc_add_problem(ev, "%s: expected an object, got %s", prefix, describe_value(&elem));
			continue;
		}
		memset(slots, 0, sizeof(slots));
		check_fields(ev, elem.val.binary.data, prefix, occupant_fields,
					 lengthof(occupant_fields), slots, found);
		check_order(ev, prefix, &slots[SLOT_JOINED_AT], ".joined_at", &slots[SLOT_LEFT_AT], ".left_at");

		if (!slots[SLOT_NAME].present || !slots[SLOT_JOINED_AT].present)
			continue;
		occ = &ev->occupants[ev->noccupants++];
		occ->name = slots[SLOT_NAME].str;
		occ->name_len = slots[SLOT_NAME].len;
		occ->joined_at = slots[SLOT_JOINED_AT].num;
		occ->has_left = slots[SLOT_LEFT_AT].present;
		occ->left_at = slots[SLOT_LEFT_AT].num;
		occ->has_audio = slots[SLOT_AUDIO_CALL].present;
		occ->audio_call = slots[SLOT_AUDIO_CALL].flag;
	}
}

static bool
value_equals(const CcValue *v, const char *s)
{
	return v->present && strlen(s) == v->len && memcmp(v->str, s, v->len) == 0;
}

/*
 * The one pass: everything ingest, keys and lifecycle need, and every
 * problem, each naming its JSON path.
 */
void
cc_analyze(Jsonb *payload, CcEvent *ev)
{
	JsonbContainer *root = &payload->root;
	JsonbValue	found[32];
	const CcShapeRules *rules;

	memset(ev, 0, sizeof(*ev));
	ev->payload = payload;

	if (!JB_ROOT_IS_OBJECT(payload))
	{
		JsonbValue	scalar;

		if (JB_ROOT_IS_SCALAR(payload) && JsonbExtractScalar(root, &scalar))
			cc_add_problem(ev, "payload: expected a JSON object, got %s", describe_value(&scalar));
		else
			cc_add_problem(ev, "payload: expected a JSON object, got array");
		return;
	}

	check_fields(ev, root, NULL, envelope_fields, lengthof(envelope_fields), ev->v, found);
	if (!ev->v[SLOT_TRIGGER].present)
		return;					/* without a trigger nothing else can be judged */

	ev->spec = find_spec(ev->v[SLOT_TRIGGER].str, ev->v[SLOT_TRIGGER].len);
	rules = &shape_rules[ev->spec->shape];
	check_fields(ev, root, NULL, rules->fields, rules->nfields, ev->v, found);

	/* Cross-field rules. */
	if (ev->spec->action && ev->v[SLOT_ACTION].present &&
		!value_equals(&ev->v[SLOT_ACTION], ev->spec->action))
		cc_add_problem(ev, "data.call.data.action: %s does not match trigger \"%s\" (expected \"%s\")",
					   describe_value(&(JsonbValue) {.type = jbvString,.val.string = {ev->v[SLOT_ACTION].len, (char *) ev->v[SLOT_ACTION].str}}),
					   ev->spec->trigger, ev->spec->action);
	if (ev->spec->type && ev->v[SLOT_TYPE].present &&
		!value_equals(&ev->v[SLOT_TYPE], ev->spec->type))
		cc_add_problem(ev, "type: %s does not match trigger \"%s\" (expected \"%s\")",
					   describe_value(&(JsonbValue) {.type = jbvString,.val.string = {ev->v[SLOT_TYPE].len, (char *) ev->v[SLOT_TYPE].str}}),
					   ev->spec->trigger, ev->spec->type);
	check_order(ev, "data.occupant.", &ev->v[SLOT_JOINED_AT], "joined_at", &ev->v[SLOT_LEFT_AT], "left_at");
	check_order(ev, "data.", &ev->v[SLOT_CREATED_AT], "created_at", &ev->v[SLOT_DESTROYED_AT], "destroyed_at");

	if (ev->spec->shape == SHAPE_END && ev->v[SLOT_OCCUPANTS].present)
		check_occupants(ev, ev->v[SLOT_OCCUPANTS].container);
}

TimestampTz
cc_unix_to_timestamptz(int64 secs)
{
	return (TimestampTz) ((secs - ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)) * USECS_PER_SEC);
}

char *
cc_value_cstring(const CcValue *v)
{
	return pnstrdup(v->str, v->len);
}

text *
cc_value_text(const CcValue *v)
{
	return cstring_to_text_with_len(v->str, v->len);
}
