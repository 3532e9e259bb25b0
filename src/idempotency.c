/*
 * idempotency.c
 *		The idempotency key of an event: its canonical text and its digest.
 *
 * The key is a JSON array of strings: appId, webhook, trigger, then the
 * parts cc_shape_keys names for the event's shape (CometChat's documented
 * key, widened where it collides).  Every part is a JSON string literal, so
 * no value can imitate a separator, and every part is normalized first:
 * message ids lose leading zeros and times are whole seconds, so "52" and 52,
 * or "1696937627" and 1696937627, give one key.
 *
 * An event of unknown kind is keyed by a digest of its whole payload
 * (jsonb's text form is canonical: keys sorted, duplicates gone).
 *
 * The ledger stores sha256 of the key text: 32 bytes under a unique index.
 */
#include "cometchat.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "utils/builtins.h"

static void
append_part(StringInfo out, const char *str, int len)
{
	appendStringInfoChar(out, ',');
	cc_append_json_string(out, str, len);
}

static void
append_hex(StringInfo out, const uint8 *bytes, int n)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < n; i++)
	{
		appendStringInfoCharMacro(out, hex[bytes[i] >> 4]);
		appendStringInfoCharMacro(out, hex[bytes[i] & 0xF]);
	}
}

static void
sha256(const char *data, size_t len, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		const char *err = pg_cryptohash_error(ctx);

		pg_cryptohash_free(ctx);
		elog(ERROR, "could not compute SHA-256 digest: %s", err);
	}
	pg_cryptohash_free(ctx);
}

/* The canonical key of a valid event (cc_analyze found no problem). */
void
cc_key_text(CcEvent *ev, StringInfo out)
{
	const CcShapeKey *key = &cc_shape_keys[ev->spec->shape];

	appendStringInfoChar(out, '[');
	cc_append_json_string(out, ev->v[SLOT_APP].str, ev->v[SLOT_APP].len);
	append_part(out, ev->v[SLOT_WEBHOOK].str, ev->v[SLOT_WEBHOOK].len);
	append_part(out, ev->v[SLOT_TRIGGER].str, ev->v[SLOT_TRIGGER].len);

	for (int i = 0; i < key->nparts; i++)
	{
		const CcValue *v = &ev->v[key->parts[i]];

		Assert(v->present);
		if (cc_slot_is_time(key->parts[i]))
		{
			char		num[32];
			int			len = snprintf(num, sizeof(num), INT64_FORMAT, v->num);

			append_part(out, num, len);
		}
		else
			append_part(out, v->str, v->len);
	}

	if (ev->spec->shape == SHAPE_UNKNOWN)
	{
		StringInfoData body;
		uint8		digest[PG_SHA256_DIGEST_LENGTH];

		initStringInfo(&body);
		JsonbToCString(&body, &ev->payload->root, VARSIZE(ev->payload));
		sha256(body.data, body.len, digest);
		pfree(body.data);

		appendStringInfoString(out, ",\"sha256:");
		append_hex(out, digest, sizeof(digest));
		appendStringInfoChar(out, '"');
	}
	appendStringInfoChar(out, ']');
}

bytea *
cc_key_digest(const char *key, int len)
{
	bytea	   *result = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	SET_VARSIZE(result, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	sha256(key, len, (uint8 *) VARDATA(result));
	return result;
}
