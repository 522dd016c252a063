// h2_openai.mjs - an OpenAI chat-completions server over TLS with HTTP/2 (node:http2, HTTP/1.1 allowed too):
// one canned answer per step (ANSWERS/<step><SUFFIX>, the step named by the prompt's "Step: <name>" line, as in
// bench/latency_server.mjs), sent after an optional delay so that requests overlap. GET /stats reports what the
// tests assert: chat requests, sessions (connections that carried one), the peak of concurrent streams on one
// session and overall, the negotiated protocol (ALPN) of each request, and failed TLS handshakes.
// GET /stats?reset=1 returns the counters and zeroes them. /stats requests are not counted.
// Usage: node h2_openai.mjs --answers DIR --cert PEM --key PEM [--delay SECONDS] [--suffix .prose.txt]
// Prints the port on stdout once listening on 127.0.0.1 (a free port).
import { createSecureServer } from 'node:http2';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function parseArgs(argv) {
  const a = { answers: null, cert: null, key: null, delay: '0', suffix: '.prose.txt' };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in a) || i + 1 >= argv.length) {
      process.stderr.write(`h2_openai: bad argument ${argv[i]}\n`);
      process.exit(2);
    }
    a[name] = argv[i + 1];
  }
  return a;
}

const args = parseArgs(process.argv.slice(2));
const delayMs = Math.round(Number(args.delay) * 1000);
if (!args.answers || !args.cert || !args.key || !Number.isFinite(delayMs) || delayMs < 0) {
  process.stderr.write('usage: node h2_openai.mjs --answers DIR --cert PEM --key PEM [--delay S] [--suffix X]\n');
  process.exit(2);
}
const answers = new Map();
for (const name of readdirSync(args.answers)) {
  if (name.endsWith(args.suffix)) answers.set(name.slice(0, -args.suffix.length), readFileSync(join(args.answers, name), 'utf8'));
}
if (answers.size === 0) {
  process.stderr.write(`h2_openai: no *${args.suffix} answers in ${args.answers}\n`);
  process.exit(2);
}

const stepRe = /^[ \t]*Step:[ \t]*([A-Za-z0-9_]+)[ \t]*$/m;
const fresh = () => ({ requests: 0, sessions: 0, peak_session_streams: 0, peak_inflight: 0, protocols: {},
                       tls_errors: 0, bad_requests: 0 });
let stats = fresh();
let inflight = 0;
let replies = 0;
let epoch = 0; // bumped by a reset: a connection counted before it is counted again when reused
const conns = new WeakMap(); // session (h2) or socket (HTTP/1.1) -> { inflight, epoch }

const tokens = (text) => Math.max(1, Math.ceil(text.length / 4));

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

// The connection a request came on, counted as a session the first time it carries a chat request.
function connOf(req) {
  const key = req.stream ? req.stream.session : req.socket;
  let c = conns.get(key);
  if (!c) {
    c = { inflight: 0, epoch: -1 };
    conns.set(key, c);
  }
  if (c.epoch !== epoch) {
    c.epoch = epoch;
    stats.sessions++;
  }
  return c;
}

function protocolOf(req) {
  const sock = req.stream ? req.stream.session.socket : req.socket;
  return (sock && sock.alpnProtocol) || `http/${req.httpVersion}`;
}

function reply(req, res, raw) {
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    stats.bad_requests++;
    return send(res, 400, { error: { message: 'request body is not valid JSON', type: 'invalid_request_error' } });
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const step = messages.map((m) => stepRe.exec(String(m.content ?? ''))).find(Boolean)?.[1];
  const text = step && answers.get(step);
  if (!text) {
    stats.bad_requests++;
    return send(res, 400, { error: { message: `no answer for step '${step}'`, type: 'invalid_request_error' } });
  }
  const conn = connOf(req);
  const proto = protocolOf(req);
  stats.protocols[proto] = (stats.protocols[proto] ?? 0) + 1;
  conn.inflight++;
  inflight++;
  stats.peak_session_streams = Math.max(stats.peak_session_streams, conn.inflight);
  stats.peak_inflight = Math.max(stats.peak_inflight, inflight);
  const prompt = messages.reduce((n, m) => n + tokens(String(m.content ?? '')), 0);
  const completion = tokens(text);
  setTimeout(() => {
    conn.inflight--;
    inflight--;
    stats.requests++;
    replies++;
    send(res, 200, {
      id: `chatcmpl-h2-${replies}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000),
      model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    });
  }, delayMs);
}

function handle(req, res) {
  const path = req.url.split('?')[0].replace(/\/$/, '');
  if (req.method === 'GET' && path === '/stats') {
    send(res, 200, stats);
    if (/[?&]reset=1\b/.test(req.url)) {
      stats = fresh();
      epoch++;
    }
    return;
  }
  if (req.method !== 'POST' || path !== '/v1/chat/completions')
    return send(res, 404, { error: { message: `unknown path ${req.url}`, type: 'invalid_request_error' } });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => reply(req, res, Buffer.concat(chunks).toString('utf8')));
}

const server = createSecureServer({
  key: readFileSync(args.key), cert: readFileSync(args.cert), allowHTTP1: true,
  settings: { maxConcurrentStreams: 100 },
}, handle);
server.on('tlsClientError', () => stats.tls_errors++);
server.on('sessionError', () => {});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
