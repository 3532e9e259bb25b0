'use strict';
// test/bench/receiver/load.js: autocannon against the receiver, each request
// the next body of BODIES (one per line, each sent once), for SECONDS.
//
//   node load.js URL AUTHORIZATION BODIES CONNECTIONS SECONDS
//
// Prints one JSON line: the bodies handed out (sent, the first ones of
// BODIES), answers by class, requests/s and latency percentiles in ms.
const fs = require('node:fs');
const autocannon = require('autocannon');

const [url, authorization, bodiesFile, connections, seconds] = process.argv.slice(2);
const bodies = fs.readFileSync(bodiesFile, 'utf8').split('\n').filter(Boolean);
let next = 0;

autocannon({
  url,
  method: 'POST',
  headers: { authorization, 'content-type': 'application/json' },
  connections: Number(connections),
  duration: Number(seconds),
  timeout: 10,
  requests: [{
    setupRequest: (req) => {
      if (next >= bodies.length) throw new Error(`all ${bodies.length} bodies sent: generate more`);
      return { ...req, body: bodies[next++] };
    },
  }],
}, (err, r) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.log(JSON.stringify({
    sent: next, answered: r.requests.total, ok2xx: r['2xx'], non2xx: r.non2xx, errors: r.errors,
    timeouts: r.timeouts, seconds: r.duration, rps: r.requests.total / r.duration,
    p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max,
  }));
});
