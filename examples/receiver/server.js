'use strict';
// Reference receiver for CometChat calling webhooks: one POST, one call of
// cometchat.ingest_raw(), one answer.  CometChat counts any answer but 2xx as
// a failure and, when the webhook has retryOnFailure, delivers again after 10
// and 30 seconds.  So 200 means "committed" (accepted, duplicate or
// quarantined, none of which would change if sent again) and 503 means "not
// stored, send it again".
const http = require('node:http');
const { timingSafeEqual } = require('node:crypto');
const { Pool } = require('pg');

const env = process.env;
if (!env.WEBHOOK_USER || !env.WEBHOOK_PASSWORD) {
  console.error('set WEBHOOK_USER and WEBHOOK_PASSWORD (the Basic Auth credentials given to CometChat)');
  process.exit(2);
}
const expectedAuth = Buffer.from('Basic ' + Buffer.from(`${env.WEBHOOK_USER}:${env.WEBHOOK_PASSWORD}`).toString('base64'));
const maxBody = Number(env.MAX_BODY_BYTES || 1048576);

// The database from PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD: a pgbouncer
// in transaction mode.  The server-side statement_timeout, synchronous_commit
// and cometchat.on_invalid are the role's own settings (ALTER ROLE ... SET, see
// README.md): the receiver SETs nothing, so no server connection carries state
// from one client to the next.
const pool = new Pool({
  max: Number(env.POOL_SIZE || 10),
  connectionTimeoutMillis: 1000, // no connection within 1 s: 503
  query_timeout: 1800, // and an answer within CometChat's 2 s, whatever the server does
});
// An idle connection that breaks (the database or pgbouncer restarted) leaves
// the pool; unhandled, the error would end the process.
pool.on('error', (err) => console.error('idle connection lost:', err.message));

function answer(res, code, text, headers = {}) {
  if (res.headersSent) return;
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(text + '\n');
}

function authorized(req) {
  const got = Buffer.from(req.headers.authorization || '');
  return got.length === expectedAuth.length && timingSafeEqual(got, expectedAuth);
}

async function ingest(res, chunks) {
  // Bytes that are not UTF-8 become U+FFFD, and so does NUL, which a text value
  // cannot hold: such a body is not JSON anyway, and is quarantined instead of
  // failing the statement (a failure would be answered 503 and sent again).
  const body = Buffer.concat(chunks).toString('utf8').replaceAll('\0', '\uFFFD');
  try {
    // One statement outside BEGIN: its result comes after its commit.
    const { rows } = await pool.query('SELECT status, event_id, rejected_id FROM cometchat.ingest_raw($1)', [body]);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(rows[0]) + '\n');
  } catch (err) {
    console.error('not stored, answered 503:', err.message);
    answer(res, 503, 'not stored, send it again', { 'Retry-After': '10' });
  }
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') return answer(res, 405, 'POST only', { Allow: 'POST' });
  if (!authorized(req)) return answer(res, 401, 'unauthorized', { 'WWW-Authenticate': 'Basic realm="webhooks"' });
  const tooLarge = () => answer(res, 413, `body over ${maxBody} bytes`, { Connection: 'close' });
  if (Number(req.headers['content-length']) > maxBody) return tooLarge();
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > maxBody) return tooLarge(); // a body sent without Content-Length
    chunks.push(chunk);
  });
  req.on('end', () => size <= maxBody && ingest(res, chunks));
});

server.listen(Number(env.PORT || 8080), env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`listening on ${address}:${port}`);
});
// Stop taking requests, answer those in flight, then close the pool.
process.on('SIGTERM', () => server.close(() => pool.end()));
