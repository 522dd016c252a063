#!/usr/bin/env python3
"""fake_medlineplus_connect.py - a local stand-in for the MedlinePlus Connect web service (ICD-9-CM requests).

Binds 127.0.0.1 on a free port and prints that port as its first stdout line.
GET /service?mainSearchCriteria.v.cs=2.16.840.1.113883.6.103&mainSearchCriteria.v.c=CODE
    [&informationRecipient.languageCode.c=en][&knowledgeResponseType=text/xml]
answers like the real service: an Atom feed (XML) of the MedlinePlus topics for the code. The feed for a
code is the file <CODE>.xml of --answers (codes compared without their dot, case ignored); a code with no
file gets a feed with no entries, as the real service gives for codes it does not map. Requests with
another code system, no code, or a response type other than text/xml get HTTP 400. Every request is
appended to --log as one JSON line {"path", "query"}. --mode picks a misbehaviour for error-path tests.
SIGTERM stops it cleanly (exit status 0). Python 3 standard library only.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

ICD9_OID = "2.16.840.1.113883.6.103"
MODES = ("normal", "error", "garbage", "huge", "redirect-away", "redirect-same", "wrong-code", "slow")
HUGE_BYTES = 2 << 20

EMPTY_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xml:base="https://medlineplus.gov/" xml:lang="en">
<title type="text">MedlinePlus Connect</title>
<subtitle type="text">MedlinePlus Connect results for ICD-9-CM {code}</subtitle>
<author><name>U.S. National Library of Medicine</name><uri>https://www.nlm.nih.gov</uri></author>
<updated>{updated}</updated>
<category scheme="mainSearchCriteria.v.c" term={term}/>
<category scheme="mainSearchCriteria.v.cs" term="{oid}"/>
<category scheme="mainSearchCriteria.v.dn" term=""/>
<category scheme="informationRecipient" term="PAT"/>
<id></id>
</feed>
"""


def default_answers():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "data", "medlineplus", "connect")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--answers", default=default_answers(), help="folder of <CODE>.xml Atom answers")
    p.add_argument("--log", metavar="FILE", help="append each request as one JSON line")
    p.add_argument("--mode", choices=MODES, default="normal", help="reply shape, for error-path tests")
    p.add_argument("--delay", type=float, default=2.0, help="seconds to wait in mode slow")
    return p.parse_args(argv)


def undot(code):
    return code.replace(".", "").strip().upper()


class Answers:
    """Atom answers by undotted code, read once at start."""

    def __init__(self, folder):
        self.by_code = {}
        for name in sorted(os.listdir(folder)):
            if name.endswith(".xml"):
                with open(os.path.join(folder, name), "rb") as f:
                    self.by_code[undot(name[:-4])] = f.read()

    def feed(self, code):
        body = self.by_code.get(undot(code))
        if body is not None:
            return body
        updated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(0))
        return EMPTY_FEED.format(code=escape(code), term=quoteattr(code), oid=ICD9_OID,
                                 updated=updated).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeMedlinePlusConnect/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: tests read the JSON log instead
        pass

    def send_body(self, status, body, ctype="text/xml; charset=utf-8", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def record(self, url):
        srv = self.server
        with srv.lock:
            srv.count += 1
            if srv.args.log:
                with open(srv.args.log, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"path": url.path, "query": url.query}) + "\n")

    def do_GET(self):
        url = urlsplit(self.path)
        self.record(url)
        q = parse_qs(url.query, keep_blank_values=True)
        mode = self.server.args.mode
        if url.path not in ("/service", "/service2"):
            return self.send_body(404, b"not found\n", "text/plain")
        cs = q.get("mainSearchCriteria.v.cs", [""])[0]
        code = q.get("mainSearchCriteria.v.c", [""])[0]
        rtype = q.get("knowledgeResponseType", ["text/xml"])[0]
        if cs != ICD9_OID or not code or rtype.lower() != "text/xml":
            return self.send_body(400, b"bad request: this fake answers ICD-9-CM codes as text/xml\n", "text/plain")
        if mode == "error":
            return self.send_body(503, b"<html><body>Service Unavailable</body></html>\n", "text/html")
        if mode == "garbage":
            return self.send_body(200, b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
                                       b"<entry><title>Heart Fail")
        if mode == "huge":
            return self.send_body(200, b"<feed>" + b" " * HUGE_BYTES + b"</feed>")
        if mode == "redirect-away":
            port = self.server.server_address[1]
            return self.send_body(302, b"", extra={"Location": "http://127.0.0.2:%d/service?%s" % (port, url.query)})
        if mode == "redirect-same" and url.path == "/service":
            return self.send_body(302, b"", extra={"Location": "/service2?" + url.query})
        if mode == "slow":
            time.sleep(self.server.args.delay)
        if mode == "wrong-code":
            code = "428.0" if undot(code) != "4280" else "486"
        return self.send_body(200, self.server.answers.feed(code))


def main(argv):
    args = parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.args = args
    server.answers = Answers(args.answers)
    server.lock = threading.Lock()
    server.count = 0
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
