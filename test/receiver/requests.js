'use strict';
// test/receiver/requests.js: the requests the end-to-end test sends, in a
// seeded shuffled order, one JSON line each on stdout:
//   {"id", "kind", "expect" (the HTTP status the receiver must answer),
//    "method", "authorization", "chunked", "body" (base64 of the bytes sent),
//    "text" (what the receiver must hand to cometchat.ingest_raw(); null when refused)}
//
//   node requests.js PREFIX SEED MAX_BODY USER PASSWORD [--refusals] FILE...
//
// FILE: webhook bodies, one per line (demo/stream.ndjson, a generated stream).
// Besides every line once: exact resends and reformatted copies of some
// (duplicates), bodies that are not JSON, JSON that is not a valid payload,
// bodies with a NUL byte or bytes that are not UTF-8; with --refusals also
// wrong or missing credentials, a GET, bodies over MAX_BODY bytes (one with
// Content-Length, one chunked) and one of exactly MAX_BODY bytes.  The bodies
// that must be refused are each a new event of webhook "e2e_refused", so that
// any trace of one in the ledger or the quarantine shows.
const fs = require('node:fs');

const args = process.argv.slice(2);
const [prefix, seedArg, maxBodyArg, user, password] = args.splice(0, 5);
const refusals = args[0] === '--refusals' ? (args.shift(), true) : false;
const maxBody = Number(maxBodyArg);
const goodAuth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

// mulberry32: a small seeded generator, so that a run can be repeated.
let state = Number(seedArg) >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];

const out = [];
function add(kind, expect, bytes, text, extra = {}) {
  out.push({ kind, expect, method: 'POST', authorization: goodAuth, chunked: false,
             body: Buffer.from(bytes).toString('base64'), text, ...extra });
}

const lines = args.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean));
const json = lines.filter((l) => l.startsWith('{'));
for (const l of lines) add('body', 200, l, l);
// Duplicates: byte for byte (a retry), and the same JSON laid out otherwise
// (same jsonb, so whichever copy is stored first, the ledger holds the same).
for (let i = 0; i < lines.length / 20; i++) { const l = pick(lines); add('resent', 200, l, l); }
for (let i = 0; i < lines.length / 50; i++) {
  const l = JSON.stringify(JSON.parse(pick(json)), null, 2);
  add('reformatted', 200, l, l);
}
// Quarantined, answered 200 (a retry would be quarantined again).
for (let i = 0; i < lines.length / 50; i++) {
  const l = pick(json);
  add('not_json', 200, l.slice(0, l.length >> 1), l.slice(0, l.length >> 1));
  const o = JSON.parse(pick(json));
  o.appId = 42;
  add('invalid', 200, JSON.stringify(o), JSON.stringify(o));
}
for (const t of ['<html><body><h1>502 Bad Gateway</h1></body></html>', '', 'null', '[1, 2, 3]', '{}',
                 '{"trigger": ', 'tab\there, backslash \\ and quote "', '{"trigger":"call_started","x":"\\u0000"}',
                 '['.repeat(30000)]) {
  add('invalid', 200, t, t);
}
add('bytes', 200, Buffer.concat([Buffer.from('{"trigger":"call_started"'), Buffer.from([0]), Buffer.from('}')]),
    '{"trigger":"call_started"\uFFFD}');
add('bytes', 200, Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), '\uFFFD\uFFFD{}');

let fresh = 0;
function freshEvent(webhook, padTo) {
  fresh++;
  const at = 1741600000 + fresh;
  const o = { trigger: 'call_initiated',
    data: { call: { id: String(990000000 + fresh), conversationId: 'e2e-a_user_e2e-b', sender: 'e2e-a',
      receiverType: 'user', receiver: 'e2e-b', category: 'call', type: 'audio',
      data: { action: 'initiated' }, sentAt: at, updatedAt: at } },
    appId: '0e2e0e2e0e2e0e', region: 'us', webhook };
  if (padTo) o.padding = 'x'.repeat(padTo - JSON.stringify({ ...o, padding: '' }).length);
  return JSON.stringify(o);
}
if (refusals) {
  const refused = (kind, expect, extra, padTo) => add(kind, expect, freshEvent('e2e_refused', padTo), null, extra);
  refused('wrong_password', 401, { authorization: 'Basic ' + Buffer.from(`${user}:${password}x`).toString('base64') });
  refused('wrong_user', 401, { authorization: 'Basic ' + Buffer.from(`x${user}:${password}`).toString('base64') });
  refused('no_credentials', 401, { authorization: null });
  refused('not_basic', 401, { authorization: 'Bearer ' + password });
  refused('garbled_basic', 401, { authorization: 'Basic !!!' });
  refused('get', 405, { method: 'GET' });
  refused('too_large', 413, {}, maxBody + 1);
  refused('too_large_chunked', 413, { chunked: true }, 3 * maxBody);
  const exact = freshEvent('e2e_at_limit', maxBody);
  add('at_limit', 200, exact, exact);
}

for (let i = out.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [out[i], out[j]] = [out[j], out[i]];
}
out.forEach((q, i) => process.stdout.write(JSON.stringify({ id: `${prefix}${i + 1}`, ...q }) + '\n'));
