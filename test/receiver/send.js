'use strict';
// test/receiver/send.js: POSTs requests to a receiver over real HTTP, N at a
// time, and appends one line per request to RESULTS as its answer comes.
//
//   node send.js URL REQUESTS RESULTS CONCURRENCY          every request, attempt 1
//   node send.js URL REQUESTS RESULTS CONCURRENCY --again  the requests whose latest
//                                                          result is not 200, as the next attempt;
//                                                          exit status 2 unless all are 200 now
//
// A line of REQUESTS (test/receiver/requests.js): {"id", "method", "authorization",
// "chunked", "body" (base64)}.  A line of RESULTS: {"id", "attempt", "status" (0 when
// no answer came), "answer" (its body), "error", "t0", "t1" (ms since the epoch)}.
// Node's own http client only: nothing to install.
const fs = require('node:fs');
const http = require('node:http');

const [url, requestsFile, resultsFile, concurrencyArg, mode] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const timeoutMs = 10000; // the receiver answers within 2 s; this only bounds a broken one
const requests = fs.readFileSync(requestsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

let todo = requests;
let attempt = 1;
if (mode === '--again') {
  const latest = new Map();
  for (const line of fs.readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line);
    if (!latest.has(r.id) || latest.get(r.id).attempt < r.attempt) latest.set(r.id, r);
  }
  todo = requests.filter((q) => !latest.has(q.id) || latest.get(q.id).status !== 200);
  attempt = 1 + Math.max(0, ...[...latest.values()].map((r) => r.attempt));
}

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const out = fs.openSync(resultsFile, 'a');

function send(q) {
  return new Promise((resolve) => {
    const body = Buffer.from(q.body, 'base64');
    const headers = { 'Content-Type': 'application/json' };
    if (q.authorization) headers.Authorization = q.authorization;
    if (!q.chunked) headers['Content-Length'] = body.length;
    const t0 = Date.now();
    let done = false;
    const finish = (status, answer, error) => {
      if (done) return;
      done = true;
      fs.writeSync(out, JSON.stringify({ id: q.id, attempt, status, answer, error, t0, t1: Date.now() }) + '\n');
      resolve(status);
    };
    const req = http.request(url, { method: q.method || 'POST', agent, headers, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => finish(res.statusCode, Buffer.concat(chunks).toString('utf8').trim()));
      res.on('error', (err) => finish(0, null, err.message));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within ' + timeoutMs + ' ms')));
    // An early answer (413) may close the connection while the body is still
    // going out: the answer counts, the write error after it does not.
    req.on('error', (err) => setTimeout(() => finish(0, null, err.message), 50));
    if (q.chunked) {
      for (let i = 0; i < body.length; i += 16384) req.write(body.subarray(i, i + 16384));
      req.end();
    } else {
      req.end(body);
    }
  });
}

async function main() {
  let next = 0;
  const counts = {};
  async function worker() {
    while (next < todo.length) {
      const status = await send(todo[next++]);
      counts[status] = (counts[status] || 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  console.log(`attempt ${attempt}: ${todo.length} requests sent, answers ${JSON.stringify(counts)}`);
  // --again: exit status 2 while some request is still not answered 200.
  if (mode === '--again' && Object.keys(counts).some((s) => s !== '200')) process.exitCode = 2;
}
main();
