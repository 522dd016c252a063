#!/usr/bin/env python3
"""fake_openai.py - a local OpenAI-compatible chat-completions server that answers from canned files.

Binds 127.0.0.1 on a free port and prints that port as its first stdout line.
POST /v1/chat/completions finds the step from the "Step: <name>" line of the prompt and answers
with the files <step>.*.txt of --answers, round-robin per step (the n-th request for a step gets
file n mod count, files sorted by name); a re-ask (more than one user message) gets <step>.reask.txt,
else the first file. GET /v1/models lists the model. SIGTERM stops it cleanly (exit status 0).

The same canned answers are served in the wire shapes of other APIs:
  POST /openai/deployments/<deployment>/chat/completions?api-version=V   Azure OpenAI (api-key header)
  POST /api/chat                                                         Ollama native (stream false)
  POST /v1/messages                                                      Anthropic Messages API
                                                                         (x-api-key, anthropic-version)
Fault injection for retry tests: --fault 429,500,slow,garbage,truncated,reset consumes one fault per
completion request, in order, then answers normally (429 carries Retry-After: --retry-after).
"cut" sends the headers (Content-Length of a whole reply) and half the body, then closes the
connection: a server dying mid-reply.
--shapes DIR answers every completion request with DIR/<model>.json verbatim (status from
DIR/index.json), for reply-shape fixtures. GET /stats reports the request counters, the peak number
of requests in flight, the number of TCP connections accepted and the seconds spent in completion
handlers (handler_seconds, --delay included); --stats FILE writes the same JSON on exit.
--echo-auth makes every error body quote the request's credential headers (Authorization, api-key,
x-api-key), as careless servers and proxies do, so tests can check the client never repeats them.
--ratelimit-first makes the first reply say the request window is used up (OpenAI:
x-ratelimit-remaining-requests: 0, x-ratelimit-reset-requests: 1s; Anthropic: the anthropic-ratelimit-*
pair with a reset one second ahead); --time-log FILE appends the arrival time (Unix seconds) of every
completion request, one per line.
Python 3 standard library only.
"""

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_REQUEST = 16 << 20
STEP_RE = re.compile(r"^[ \t]*Step:[ \t]*([A-Za-z0-9_]+)[ \t]*$", re.MULTILINE)
ROLES = ("system", "user", "assistant")
MODES = ("normal", "no-choices", "null-content", "not-json", "length", "no-usage", "huge")
HUGE_BYTES = 9 << 20
FAULTS = ("429", "500", "502", "503", "529", "slow", "garbage", "truncated", "reset", "cut")
AZURE_RE = re.compile(r"^/openai/deployments/([A-Za-z0-9._-]+)/chat/completions$")
ANTHROPIC_VERSIONS = ("2023-06-01", "2023-01-01")


def default_answers():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "data", "openai", "good")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--answers", default=default_answers(), help="folder of <step>.*.txt answers")
    p.add_argument("--fail-first", type=int, default=0, metavar="N",
                   help="answer the first N completion requests with an error")
    p.add_argument("--fail-status", type=int, default=500, help="status of those errors (default 500)")
    p.add_argument("--fail-message", default="The server had an error while processing your request. "
                   "Sorry about that!", help="error.message of those errors")
    p.add_argument("--require-key", metavar="KEY", help="401 unless 'Authorization: Bearer KEY'")
    p.add_argument("--log", metavar="FILE", help="append each request body as one JSON line")
    p.add_argument("--model", default="fake-model", help="model id listed by GET /v1/models")
    p.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each completion")
    p.add_argument("--mode", choices=MODES, default="normal", help="reply shape, for error-path tests")
    p.add_argument("--fault", default="", help="comma list of faults for the first requests: "
                   + ",".join(FAULTS))
    p.add_argument("--retry-after", default="1", help="Retry-After header value of a 429 fault")
    p.add_argument("--slow", type=float, default=3.0, help="seconds a 'slow' fault waits")
    p.add_argument("--shapes", metavar="DIR", help="serve DIR/<model>.json verbatim (see DIR/index.json)")
    p.add_argument("--stats", metavar="FILE", help="write the counters as JSON to FILE on exit")
    p.add_argument("--ratelimit-first", action="store_true",
                   help="the first reply says no requests remain until a reset 1 s later")
    p.add_argument("--time-log", metavar="FILE", help="append each completion request's arrival time")
    p.add_argument("--api-version", default=None, help="azure: require this api-version")
    p.add_argument("--echo-auth", action="store_true", help="error bodies quote the request's credential headers")
    return p.parse_args(argv)


class Answers:
    """Canned answers per step and the per-step request counters (thread-safe)."""

    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.Lock()
        self.counts = {}

    def files(self, step):
        prefix, reask = step + ".", step + ".reask.txt"
        try:
            names = sorted(os.listdir(self.folder))
        except OSError:
            return [], None
        pool = [n for n in names if n.startswith(prefix) and n.endswith(".txt") and n != reask]
        return pool, (reask if reask in names else None)

    def pick(self, step, is_reask):
        pool, reask = self.files(step)
        if is_reask and reask:
            name = reask
        elif not pool:
            return None
        elif is_reask:
            name = pool[0]
        else:
            with self.lock:
                n = self.counts.get(step, 0)
                self.counts[step] = n + 1
            name = pool[n % len(pool)]
        with open(os.path.join(self.folder, name), encoding="utf-8") as f:
            return f.read()


def error_body(message, etype, code=None, param=None):
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


def check_request(req):
    """Validates a chat-completions request like a real server; returns an error message or None."""
    if not isinstance(req, dict):
        return "request body must be a JSON object"
    if not isinstance(req.get("model"), str) or not req["model"]:
        return "you must provide a model parameter"
    msgs = req.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "'messages' must be a non-empty array"
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            return "messages[%d] must have a role in %s and a string content" % (i, "/".join(ROLES))
    t = req.get("temperature", 1)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 2:
        return "'temperature' must be a number between 0 and 2"
    for key in ("seed", "max_tokens"):
        v = req.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            return "'%s' must be an integer" % key
    if req.get("max_tokens") is not None and req["max_tokens"] < 1:
        return "'max_tokens' must be at least 1"
    rf = req.get("response_format")
    if rf is not None:
        js = rf.get("json_schema") if isinstance(rf, dict) else None
        if rf.get("type") != "json_schema" or not isinstance(js, dict) or not isinstance(js.get("name"), str) \
                or not isinstance(js.get("schema"), dict):
            return "'response_format' must be {type: json_schema, json_schema: {name, schema}}"
    return None


def request_schema(req):
    """The JSON schema a request asks the answer to follow (OpenAI response_format or Ollama format)."""
    rf = req.get("response_format")
    if isinstance(rf, dict):
        return rf["json_schema"]["schema"]
    fmt = req.get("format")
    return fmt if isinstance(fmt, dict) else None


def schema_problem(schema, text):
    """Why text is not a JSON object in the schema (as a strict server guarantees), or None."""
    try:
        obj = json.loads(text)
    except ValueError:
        return "not JSON"
    props = schema.get("properties", {})
    if not isinstance(obj, dict) or set(obj) - set(props) or set(schema.get("required", [])) - set(obj):
        return "keys %s do not match the schema's %s" % (sorted(obj), sorted(props))
    for k, v in obj.items():
        want = props[k].get("type")
        if (want == "string" and not isinstance(v, str)) or (want == "array" and not isinstance(v, list)):
            return "'%s' is not a %s" % (k, want)
    return None


def check_anthropic(req):
    """The Messages API's own checks: model, max_tokens, alternating user/assistant messages."""
    if not isinstance(req, dict) or not isinstance(req.get("model"), str):
        return "model: Field required"
    if isinstance(req.get("max_tokens"), bool) or not isinstance(req.get("max_tokens"), int):
        return "max_tokens: Field required"
    msgs = req.get("messages")
    if not isinstance(msgs, list) or not msgs or msgs[0].get("role") != "user":
        return "messages: first message must use the \"user\" role"
    for i, m in enumerate(msgs):
        if m.get("role") not in ("user", "assistant") or not isinstance(m.get("content"), str):
            return "messages.%d: role must be user or assistant with string content" % i
    t = req.get("temperature", 1)
    if not isinstance(t, (int, float)) or not 0 <= t <= 1:
        return "temperature: must be between 0 and 1"
    if "system" in req and not isinstance(req["system"], str):
        return "system: must be a string"
    return None


def ollama_reply(req, text, prompt_tokens, completion_tokens):
    """POST /api/chat with stream false, as Ollama answers it."""
    return {"model": req["model"], "created_at": "2026-01-01T00:00:00.000000Z",
            "message": {"role": "assistant", "content": text}, "done_reason": "stop", "done": True,
            "total_duration": 5191566416, "load_duration": 2154458, "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": 383809000, "eval_count": completion_tokens, "eval_duration": 4799921000}


def anthropic_reply(req, text, prompt_tokens, completion_tokens, n):
    """POST /v1/messages, as the Messages API answers it."""
    return {"id": "msg_fake%06d" % n, "type": "message", "role": "assistant", "model": req["model"],
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}


def count_tokens(text):
    return len(re.findall(r"\w+|[^\w\s]", text))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # reply headers and body go out at once (no 40 ms delayed-ACK stall)
    server_version = "fake-openai/0.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with self.server.count_lock:
            self.server.connections += 1  # one handler per accepted TCP connection (keep-alive reuses it)

    def send_json(self, status, obj, raw=None, headers=None):
        data = raw if raw is not None else json.dumps(obj).encode("utf-8")
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json" if raw is None else "text/plain")
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/") == "/stats":
            return self.send_json(200, self.server.stats())
        if self.path.rstrip("/") != "/v1/models":
            return self.send_json(404, error_body("unknown path %s" % self.path, "invalid_request_error"))
        model = {"id": self.server.opts.model, "object": "model", "created": 0, "owned_by": "llmsyn-tests"}
        return self.send_json(200, {"object": "list", "data": [model]})

    def read_body(self):
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit() or int(length) > MAX_REQUEST:
            return None
        return self.rfile.read(int(length))

    def log_request_body(self, raw):
        if not self.server.opts.log:
            return
        try:
            line = json.dumps(json.loads(raw), separators=(",", ":"))
        except ValueError:
            line = json.dumps({"unparsed_body": raw.decode("utf-8", "replace")})
        with self.server.log_lock, open(self.server.opts.log, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def echoed(self, message):
        """message, plus the request's credential headers under --echo-auth."""
        if not self.server.opts.echo_auth:
            return message
        names = ("Authorization", "api-key", "x-api-key")
        creds = ["%s: %s" % (h, self.headers[h]) for h in names if self.headers.get(h)]
        return "%s (request had %s)" % (message, "; ".join(creds) or "no credentials")

    def auth_error(self):
        want = self.server.opts.require_key
        if want is None:
            return None
        got = self.headers.get("Authorization", "")
        if got == "Bearer " + want:
            return None
        if not got.startswith("Bearer ") or got == "Bearer ":
            return self.echoed("You didn't provide an API key.")
        # Real servers echo (part of) the wrong key; echo all of it so clients must scrub it.
        return self.echoed("Incorrect API key provided: %s." % got[len("Bearer "):])

    def api_error(self, message, etype, code=None):
        """An error body in the API's own shape: Ollama answers {"error": "..."}, the others error.message."""
        return {"error": message} if self.api == "ollama" else error_body(message, etype, code)

    def take_failure(self):
        with self.server.count_lock:
            self.server.requests += 1
            return self.server.requests <= self.server.opts.fail_first

    def do_POST(self):
        started = time.monotonic()
        if self.server.opts.time_log:
            with self.server.log_lock, open(self.server.opts.time_log, "a", encoding="utf-8") as f:
                f.write("%.6f\n" % time.time())
        with self.server.count_lock:
            self.server.completions += 1
            self.server.inflight += 1
            self.server.peak = max(self.server.peak, self.server.inflight)
        try:
            self.route_post()
        finally:
            with self.server.count_lock:
                self.server.inflight -= 1
                self.server.handler_seconds += time.monotonic() - started

    def route_post(self):
        path, _, query = self.path.partition("?")
        azure = AZURE_RE.match(path)
        if path == "/api/chat":
            self.api = "ollama"
        elif path == "/v1/messages":
            self.api = "anthropic"
        elif azure:
            self.api = "azure"
        elif path == "/v1/chat/completions":
            self.api = "openai"
        else:
            self.read_body()
            return self.send_json(404, error_body("unknown path %s" % self.path, "invalid_request_error"))
        if azure:
            problem = self.azure_problem(query)
            if problem:
                self.read_body()
                return self.send_json(problem[0], problem[1])
            self.deployment = azure.group(1)
        self.chat()

    def azure_problem(self, query):
        """Azure's own checks: api-version present (and the expected one) and the api-key header."""
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        want = self.server.opts.api_version
        if "api-version" not in params or (want and params["api-version"] != want):
            return 404, {"error": {"code": "404", "message": "Resource not found"}}
        key = self.server.opts.require_key
        if key is not None and self.headers.get("api-key") != key:
            return 401, {"error": {"code": "401", "message": self.echoed(
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
                "valid key for an active subscription and use a correct regional API endpoint for your resource.")}}
        return None

    def anthropic_problem(self):
        if self.headers.get("anthropic-version") not in ANTHROPIC_VERSIONS:
            return 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                     "message": "anthropic-version: header is required"}}
        key = self.server.opts.require_key
        if key is not None and self.headers.get("x-api-key") != key:
            return 401, {"type": "error", "error": {"type": "authentication_error",
                                                     "message": self.echoed("invalid x-api-key")}}
        return None

    def take_fault(self):
        with self.server.count_lock:
            if self.server.faults:
                return self.server.faults.pop(0)
        return None

    def send_fault(self, fault):
        if fault == "slow":
            # Too late for a client with a shorter timeout; answers no canned text, so the per-step
            # round-robin stays where it was and a retried run matches a clean one.
            time.sleep(self.server.opts.slow)
            self.send_json(504, error_body("injected slow reply", "server_error"))
            return True
        if fault == "reset":
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if fault == "garbage":
            self.send_json(200, None, raw=b"\x00\x01 this is not json {{{")
            return True
        if fault == "cut":
            # Headers promise a whole reply; half of it is sent, then the connection closes. No canned
            # text is used, so the per-step round-robin stays where it was.
            data = json.dumps({"id": "chatcmpl-cut", "object": "chat.completion", "model": "cut",
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": "x" * 2000}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if fault == "truncated":
            body = json.dumps({"id": "chatcmpl-cut", "object": "chat.completion",
                               "choices": [{"index": 0, "message": {"role": "assistant", "content": "abc"}}]})
            data = body[: len(body) // 2].encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        status = int(fault)
        headers = {"Retry-After": self.server.opts.retry_after} if status == 429 else {}
        etype = "rate_limit_exceeded" if status == 429 else "server_error"
        self.send_json(status, error_body("injected fault %s" % fault, etype), headers=headers)
        return True

    def chat(self):
        raw = self.read_body()
        if raw is None:
            self.close_connection = True
            return self.send_json(411, error_body("missing or too large Content-Length", "invalid_request_error"))
        self.log_request_body(raw)
        if self.api == "anthropic":
            problem = self.anthropic_problem()
            if problem:
                return self.send_json(problem[0], problem[1])
        auth = self.auth_error() if self.api in ("openai", "ollama") else None
        if auth:
            return self.send_json(401, self.api_error(auth, "invalid_request_error", "invalid_api_key"))
        fault = self.take_fault()
        if fault and self.send_fault(fault):
            return
        if self.take_failure():
            status = self.server.opts.fail_status
            return self.send_json(status, self.api_error(self.echoed(self.server.opts.fail_message),
                                                         "server_error" if status >= 500 else "requests"))
        try:
            req = json.loads(raw)
        except ValueError:
            return self.send_json(400, error_body("request body is not valid JSON", "invalid_request_error"))
        if self.server.opts.shapes:
            return self.send_shape(req)
        problem = check_request(req) if self.api != "anthropic" else check_anthropic(req)
        if self.api == "azure" and isinstance(req, dict):
            req.setdefault("model", self.deployment)
            problem = check_request(req)
        if problem:
            return self.send_json(400, error_body(problem, "invalid_request_error"))
        if self.api == "anthropic":
            req = dict(req, messages=([{"role": "system", "content": req["system"]}] if "system" in req else [])
                       + req["messages"])
        self.answer(req)

    def send_shape(self, req):
        """--shapes: the fixture named by the request's model, verbatim, with its status from index.json."""
        name = req.get("model", "") if isinstance(req, dict) else ""
        entry = self.server.shapes.get(name)
        if entry is None or not re.match(r"^[A-Za-z0-9_.-]+$", name):
            return self.send_json(404, error_body("no fixture '%s'" % name, "invalid_request_error"))
        with open(os.path.join(self.server.opts.shapes, entry["file"]), "rb") as f:
            data = f.read()
        return self.send_json(entry.get("status", 200), None, raw=data,
                              headers={"Content-Type": "application/json"})

    def answer(self, req):
        users = [m["content"] for m in req["messages"] if m["role"] == "user"]
        found = STEP_RE.search(users[0]) if users else None
        for m in req["messages"]:
            found = found or STEP_RE.search(m["content"])
        if not found:
            return self.send_json(400, error_body("the prompt has no 'Step: <name>' line", "invalid_request_error"))
        text = self.server.answers.pick(found.group(1), len(users) > 1)
        if text is None:
            return self.send_json(400, error_body("no canned answer for step '%s'" % found.group(1),
                                                  "invalid_request_error"))
        schema = request_schema(req)
        problem = schema_problem(schema, text) if schema else None
        if problem:
            return self.send_json(500, error_body("canned answer breaks the schema: " + problem, "server_error"))
        if self.server.opts.delay > 0:
            time.sleep(self.server.opts.delay)
        self.send_reply(req, text)

    def send_reply(self, req, text):
        mode = self.server.opts.mode
        if mode == "not-json":
            return self.send_json(200, None, raw=b"<html><body>Bad Gateway</body></html>")
        if mode == "huge":
            text = "x" * HUGE_BYTES
        with self.server.count_lock:
            self.server.replies += 1
            n = self.server.replies
        prompt_tokens = sum(count_tokens(m["content"]) for m in req["messages"])
        completion_tokens = count_tokens(text)
        choice = {"index": 0, "message": {"role": "assistant", "content": text},
                  "logprobs": None, "finish_reason": "length" if mode == "length" else "stop"}
        if mode == "null-content":
            choice["message"] = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
        reply = {"id": "chatcmpl-fake%06d" % n, "object": "chat.completion", "created": int(time.time()),
                 "model": req["model"], "choices": [] if mode == "no-choices" else [choice],
                 "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                           "total_tokens": prompt_tokens + completion_tokens},
                 "system_fingerprint": "fp_fake"}
        if mode == "no-usage":
            del reply["usage"]
        if self.api == "ollama":
            reply = ollama_reply(req, text, prompt_tokens, completion_tokens)
        elif self.api == "anthropic":
            reply = anthropic_reply(req, text, prompt_tokens, completion_tokens, n)
        with self.server.count_lock:
            self.server.prompt_tokens += prompt_tokens
            self.server.completion_tokens += completion_tokens
        self.send_json(200, reply, headers=self.ratelimit_headers(n))

    def ratelimit_headers(self, n):
        if not self.server.opts.ratelimit_first or n != 1:
            return None
        if self.api == "anthropic":
            at = time.time() + 1.0
            reset = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + ".%03dZ" % int(at % 1.0 * 1000)
            return {"Content-Type": "application/json", "anthropic-ratelimit-requests-remaining": "0",
                    "anthropic-ratelimit-requests-reset": reset}
        return {"Content-Type": "application/json", "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-tokens": "149000",
                "x-ratelimit-reset-tokens": "6m0s"}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def stats(self):
        with self.count_lock:
            return {"requests": self.completions, "peak_inflight": self.peak,
                    "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                    "faults_left": len(self.faults), "connections": self.connections,
                    "handler_seconds": round(self.handler_seconds, 6)}

    def handle_error(self, request, client_address):
        # A client that gave up (timeout, cap reached) is expected in tests; anything else is reported.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def main(argv):
    opts = parse_args(argv)
    if not os.path.isdir(opts.answers):
        print("fake_openai.py: error: no answers folder '%s'" % opts.answers, file=sys.stderr)
        return 2
    server = Server(("127.0.0.1", 0), Handler)
    server.opts = opts
    server.answers = Answers(opts.answers)
    server.log_lock = threading.Lock()
    server.count_lock = threading.Lock()
    server.requests = 0
    server.replies = 0
    server.completions = server.inflight = server.peak = 0
    server.connections = 0
    server.handler_seconds = 0.0
    server.prompt_tokens = server.completion_tokens = 0
    server.faults = [f for f in opts.fault.split(",") if f]
    if any(f not in FAULTS for f in server.faults):
        print("fake_openai.py: error: --fault takes %s" % ",".join(FAULTS), file=sys.stderr)
        return 2
    server.shapes = {}
    if opts.shapes:
        with open(os.path.join(opts.shapes, "index.json"), encoding="utf-8") as f:
            server.shapes = {e["name"]: e for e in json.load(f)["fixtures"]}

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if opts.stats:
            with open(opts.stats, "w", encoding="utf-8") as f:
                json.dump(server.stats(), f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
