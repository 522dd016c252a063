#!/usr/bin/env python3
"""fake_openai.py - a local OpenAI-compatible chat-completions server that answers from canned files.

Binds 127.0.0.1 on a free port and prints that port as its first stdout line.
POST /v1/chat/completions finds the step from the "Step: <name>" line of the prompt and answers
with the files <step>.*.txt of --answers, round-robin per step (the n-th request for a step gets
file n mod count, files sorted by name); a re-ask (more than one user message) gets <step>.reask.txt,
else the first file. GET /v1/models lists the model. SIGTERM stops it cleanly (exit status 0).
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
    return None


def count_tokens(text):
    return len(re.findall(r"\w+|[^\w\s]", text))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/0.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if raw is None else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
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

    def auth_error(self):
        want = self.server.opts.require_key
        if want is None:
            return None
        got = self.headers.get("Authorization", "")
        if got == "Bearer " + want:
            return None
        if not got.startswith("Bearer ") or got == "Bearer ":
            return "You didn't provide an API key."
        # Real servers echo (part of) the wrong key; echo all of it so clients must scrub it.
        return "Incorrect API key provided: %s." % got[len("Bearer "):]

    def take_failure(self):
        with self.server.count_lock:
            self.server.requests += 1
            return self.server.requests <= self.server.opts.fail_first

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            self.read_body()
            return self.send_json(404, error_body("unknown path %s" % self.path, "invalid_request_error"))
        raw = self.read_body()
        if raw is None:
            self.close_connection = True
            return self.send_json(411, error_body("missing or too large Content-Length", "invalid_request_error"))
        self.log_request_body(raw)
        auth = self.auth_error()
        if auth:
            return self.send_json(401, error_body(auth, "invalid_request_error", "invalid_api_key"))
        if self.take_failure():
            status = self.server.opts.fail_status
            return self.send_json(status, error_body(self.server.opts.fail_message,
                                                     "server_error" if status >= 500 else "requests"))
        try:
            req = json.loads(raw)
        except ValueError:
            return self.send_json(400, error_body("request body is not valid JSON", "invalid_request_error"))
        problem = check_request(req)
        if problem:
            return self.send_json(400, error_body(problem, "invalid_request_error"))
        self.answer(req)

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
        self.send_json(200, reply)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

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

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
