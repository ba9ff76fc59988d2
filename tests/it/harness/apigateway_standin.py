"""A stand-in for what moto does not serve of API Gateway: FlushStageCache and a stage's
invoke URL. It checks what real API Gateway checks: the route, a valid SigV4 signature
(recomputed with botocore) for the right service, and Cache-Control: max-age=0 on an
invalidating request. Everything else (GetRestApis, GetStage, ...) is passed on to moto.

Usage: apigateway_standin.py PORT UPSTREAM ACCESS_KEY SECRET_KEY DIR
DIR/requests.jsonl gets one line per request it answered itself, DIR/forwarded.jsonl one
per request it passed on (method and path); DIR/script.json, if
present, maps a path (without the query) to the statuses to answer in turn (the last one
repeats), e.g. {"/prod/busy": [429, 200], "/prod/secret": [403]}."""

import hmac
import http.client
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

PORT, UPSTREAM, ACCESS_KEY, SECRET_KEY, DIR = sys.argv[1:6]
LOCK = threading.Lock()
SERVED = {}
FLUSH = re.compile(r"^/restapis/([^/]+)/stages/([^/]+)/cache/data$")
AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
    r"SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})"
)


def signature_problem(handler, service, body):
    """None when the request is signed for `service` with the test credentials."""
    m = AUTH.fullmatch(handler.headers.get("Authorization", ""))
    if not m:
        return "no SigV4 Authorization header"
    key, _date, region, signed_for, signed, signature = m.groups()
    if signed_for != service:
        return f"signed for {signed_for}, not {service}"
    if key != ACCESS_KEY:
        return f"unknown access key {key}"
    headers = {}
    for name in signed.split(";"):
        value = handler.headers.get(name)
        if value is None:
            return f"signed header {name} is missing"
        headers[name] = value
    url = f"http://{handler.headers['Host']}{handler.path}"
    request = AWSRequest(method=handler.command, url=url, headers=headers, data=body)
    request.context["timestamp"] = handler.headers.get("X-Amz-Date", "")
    token = handler.headers.get("X-Amz-Security-Token")
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, token), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        return "the signature does not match"
    return None


def scripted(path):
    try:
        with open(os.path.join(DIR, "script.json")) as f:
            script = json.load(f)
    except FileNotFoundError:
        return 200
    statuses = script.get(path)
    if not statuses:
        return 200
    with LOCK:
        n = SERVED.get(path, 0)
        SERVED[path] = n + 1
    return statuses[min(n, len(statuses) - 1)]


def record(entry):
    with LOCK, open(os.path.join(DIR, "requests.jsonl"), "a") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        flush = FLUSH.match(parts.path)
        # What is signed for another service (GetRestApis, CloudFront, ...) is moto's.
        m = AUTH.fullmatch(self.headers.get("Authorization", ""))
        signed_for = m.group(4) if m else "execute-api"
        service = "apigateway" if flush and self.command == "DELETE" else "execute-api"
        if signed_for != "execute-api" and service != "apigateway":
            return self.forward(body)
        problem = signature_problem(self, service, body)
        entry = {
            "at": time.time(),
            "method": self.command,
            "path": parts.path,
            "query": parts.query,
            "cache_control": self.headers.get("Cache-Control"),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "signature": problem or "valid",
        }
        if flush:
            entry["flush"] = {"rest_api_id": flush.group(1), "stage": flush.group(2)}
        if problem:
            entry["status"] = 403
            record(entry)
            return self.answer(403, {"message": problem})
        status = scripted(parts.path)
        entry["status"] = status
        record(entry)
        if flush:
            return self.answer(status if status != 200 else 202, {})
        if status == 403:
            return self.answer(403, {
                "message": "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
                "execute-api:InvalidateCache"})
        if entry["cache_control"] != "max-age=0":
            return self.answer(200, {"cached": True})
        return self.answer(status, {"ok": status < 400})

    def forward(self, body):
        with LOCK, open(os.path.join(DIR, "forwarded.jsonl"), "a") as f:
            f.write(json.dumps({"method": self.command, "path": urlsplit(self.path).path}) + "\n")
        up = urlsplit(UPSTREAM)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request(self.command, self.path, body=body, headers=headers)
        res = conn.getresponse()
        data = res.read()
        self.send_response(res.status)
        for k, v in res.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_any


server = ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler)
print("ready", flush=True)
server.serve_forever()
