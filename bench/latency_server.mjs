// latency_server.mjs - a minimal OpenAI chat-completions server for bench/llm_bench.sh: one canned answer per
// step (ANSWERS/<step>.txt, the step named by the prompt's "Step: <name>" line), sent after a fixed delay.
// Node's event loop waits out the delay with a timer, so hundreds of requests in flight cost the server almost
// nothing: the benchmark then measures the client, not the test server (tests/servers/fake_openai.py, with a
// thread per request, is the protocol-complete server the tests use).
// Usage: node bench/latency_server.mjs ANSWERS DELAY_SECONDS   (prints the port on stdout; GET /stats)
import { createServer } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [answersDir, delayArg] = process.argv.slice(2);
const delayMs = Math.round(Number(delayArg ?? '0.2') * 1000);
if (!answersDir || !Number.isFinite(delayMs) || delayMs < 0) {
  process.stderr.write('usage: node latency_server.mjs ANSWERS DELAY_SECONDS\n');
  process.exit(2);
}
const answers = new Map();
for (const name of readdirSync(answersDir)) {
  if (name.endsWith('.txt')) answers.set(name.slice(0, -4), readFileSync(join(answersDir, name), 'utf8'));
}
const stepRe = /^[ \t]*Step:[ \t]*([A-Za-z0-9_]+)[ \t]*$/m;
const stats = { requests: 0, peak_inflight: 0, connections: 0, handler_seconds: 0 };
let inflight = 0;
let replies = 0;

const tokens = (text) => Math.max(1, Math.ceil(text.length / 4));

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function reply(req, res, raw, started) {
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    return send(res, 400, { error: { message: 'request body is not valid JSON', type: 'invalid_request_error' } });
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const step = messages.map((m) => stepRe.exec(String(m.content ?? ''))).find(Boolean)?.[1];
  const text = step && answers.get(step);
  if (!text) return send(res, 400, { error: { message: `no answer for step '${step}'`, type: 'invalid_request_error' } });
  const prompt = messages.reduce((n, m) => n + tokens(String(m.content ?? '')), 0);
  const completion = tokens(text);
  inflight++;
  stats.peak_inflight = Math.max(stats.peak_inflight, inflight);
  setTimeout(() => {
    inflight--;
    stats.requests++;
    replies++;
    send(res, 200, {
      id: `chatcmpl-bench${replies}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000),
      model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    });
    stats.handler_seconds += (performance.now() - started) / 1000;
  }, delayMs);
}

const server = createServer((req, res) => {
  const started = performance.now();
  if (req.method === 'GET' && req.url.replace(/\/$/, '') === '/stats') return send(res, 200, stats);
  if (req.method === 'GET' && req.url.replace(/\/$/, '') === '/v1/models')
    return send(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'bench' }] });
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions')
    return send(res, 404, { error: { message: `unknown path ${req.url}`, type: 'invalid_request_error' } });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => reply(req, res, Buffer.concat(chunks).toString('utf8'), started));
});
server.on('connection', () => stats.connections++);
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
