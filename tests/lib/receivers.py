#!/usr/bin/env python3
"""receivers.py - local notification receivers for vigil's tests.

An HTTP receiver (webhooks, Slack, Teams, Grafana) and an SMTP receiver
(email), both on 127.0.0.1, written with the Python standard library only
(http.server, socketserver; not smtpd, which Python 3.12 removed).  Every
request and every mail is appended as one JSON object per line to
OUT/http.jsonl and OUT/smtp.jsonl, flushed at once, so a test can poll them.

Usage:
  receivers.py [--http-port P] [--smtp-port P] --out DIR [--ready-file F]
               [--fail-first N] [--fail-status CODE] [--retry-after SECONDS]
               [--hang-seconds S] [--smtp-user U --smtp-password P]
               [--smtp-fail-first N]

  --http-port P / --smtp-port P   start that receiver on port P (0: any free
                                  port); a receiver whose option is absent is
                                  not started.
  --ready-file F                  once listening, write {"http_port": ...,
                                  "smtp_port": ..., "pid": ...} to F (atomically)
                                  and print "http_port=N smtp_port=M" on stdout.
  --fail-first N                  answer --fail-status (default 500) to the
                                  first N HTTP requests, whatever their path.
  --retry-after S                 the Retry-After header sent with a 429.
  --hang-seconds S                how long /hang requests wait (default 3600;
                                  they end early when the receiver stops).
  --smtp-user/--smtp-password     advertise AUTH PLAIN and require these.
  --smtp-fail-first N             answer 451 (try again later) after DATA for
                                  the first N mails.

HTTP paths choose the answer, so one receiver serves many test cases:
  /status/CODE[/...]   always CODE
  /flaky/N[/...]       500 to the first N requests on this exact path, then 200
  /limited/N[/...]     429 with Retry-After to the first N on this path, then 200
  /hang[/...]          no answer until --hang-seconds pass (tests timeouts)
  anything else        200
Each http.jsonl line: {"n", "time", "method", "path", "query", "headers"
(lower-case names), "body", "json" (the parsed body or null), "status"}.
Each smtp.jsonl line: {"n", "time", "helo", "auth_user", "mail_from",
"rcpt_to", "data" (dot-unstuffed, line endings kept), "crlf" (every line of
the data ended with CRLF), "status"}.

The SMTP state machine knows EHLO/HELO, AUTH PLAIN, MAIL FROM, RCPT TO,
DATA, RSET, NOOP and QUIT; lines are limited to 4 KiB and mails to 10 MiB.
SIGTERM or SIGINT stops it.
"""

import argparse
import base64
import json
import os
import signal
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_LINE = 4096
MAX_MAIL = 10 * 1024 * 1024
MAX_BODY = 10 * 1024 * 1024


class Recorder:
    """Appends JSON lines to a file, one writer at a time, numbered from 1."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.n = 0
        open(path, "a").close()

    def write(self, rec):
        with self.lock:
            self.n += 1
            rec = dict(rec, n=self.n, time=time.time())
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec, sort_keys=True) + "\n")
                f.flush()
            return self.n


class State:
    def __init__(self, args):
        self.args = args
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.http_seen = 0
        self.per_path = {}
        self.smtp_mails = 0
        self.http_rec = Recorder(os.path.join(args.out, "http.jsonl"))
        self.smtp_rec = Recorder(os.path.join(args.out, "smtp.jsonl"))

    def http_answer(self, path):
        """(status, extra headers, hang) for a request on path."""
        with self.lock:
            self.http_seen += 1
            seen = self.http_seen
            self.per_path[path] = self.per_path.get(path, 0) + 1
            on_path = self.per_path[path]
        retry = {"Retry-After": str(self.args.retry_after)}
        if seen <= self.args.fail_first:
            code = self.args.fail_status
            return code, retry if code == 429 else {}, False
        parts = path.split("/")
        try:
            if len(parts) > 2 and parts[1] == "status":
                return int(parts[2]), {}, False
            if len(parts) > 2 and parts[1] == "flaky":
                return (500 if on_path <= int(parts[2]) else 200), {}, False
            if len(parts) > 2 and parts[1] == "limited":
                if on_path <= int(parts[2]):
                    return 429, retry, False
                return 200, {}, False
        except ValueError:
            return 400, {}, False
        if len(parts) > 1 and parts[1] == "hang":
            return 0, {}, True
        return 200, {}, False


def make_http_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "vigil-test-receiver"

        def log_message(self, fmt, *a):  # keep the test output clean
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            status, extra, hang = state.http_answer(path)
            text = body.decode("utf-8", "replace")
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
            state.http_rec.write({
                "method": self.command, "path": path, "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": text, "json": parsed,
                "status": "hang" if hang else status,
            })
            if hang:
                state.stop.wait(state.args.hang_seconds)
                self.close_connection = True
                return
            # Like many servers, an error answer quotes the path (which, for
            # Slack and Teams, is a secret the client must not log).
            answer = b"ok" if status < 300 else (
                "receiver says %d for %s" % (status, path)).encode()
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = handle_any

    return Handler


def make_smtp_handler(state):
    args = state.args

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line):
            self.wfile.write((line + "\r\n").encode())
            self.wfile.flush()

        def readline(self):
            line = self.rfile.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise ValueError("line too long")
            return line

        def reset(self):
            self.mail_from = None
            self.rcpt = []

        def handle(self):
            self.helo = None
            self.auth_user = None
            self.reset()
            self.reply("220 vigil-test-receiver ESMTP")
            while not state.stop.is_set():
                try:
                    raw = self.readline()
                except (ValueError, OSError):
                    self.reply("500 5.5.2 line too long")
                    return
                if not raw:
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb, _, rest = line.partition(" ")
                verb = verb.upper()
                if verb == "EHLO":
                    self.helo = rest
                    self.reset()
                    self.wfile.write(b"250-vigil-test-receiver\r\n")
                    if args.smtp_user is not None:
                        self.wfile.write(b"250-AUTH PLAIN\r\n")
                    self.wfile.write(b"250-8BITMIME\r\n")
                    self.reply("250 SIZE %d" % MAX_MAIL)
                elif verb == "HELO":
                    self.helo = rest
                    self.reset()
                    self.reply("250 vigil-test-receiver")
                elif verb == "AUTH":
                    self.auth(rest)
                elif verb == "MAIL":
                    if self.helo is None:
                        self.reply("503 5.5.1 EHLO first")
                    elif args.smtp_user is not None and self.auth_user is None:
                        self.reply("530 5.7.0 authentication required")
                    elif not rest.upper().startswith("FROM:"):
                        self.reply("501 5.5.4 syntax: MAIL FROM:<address>")
                    else:
                        self.reset()
                        self.mail_from = rest[5:].split(" ")[0].strip()
                        self.reply("250 2.1.0 ok")
                elif verb == "RCPT":
                    if self.mail_from is None:
                        self.reply("503 5.5.1 MAIL first")
                    elif not rest.upper().startswith("TO:"):
                        self.reply("501 5.5.4 syntax: RCPT TO:<address>")
                    else:
                        self.rcpt.append(rest[3:].strip())
                        self.reply("250 2.1.5 ok")
                elif verb == "DATA":
                    if not self.rcpt:
                        self.reply("503 5.5.1 RCPT first")
                    else:
                        self.data()
                elif verb == "RSET":
                    self.reset()
                    self.reply("250 2.0.0 ok")
                elif verb == "NOOP":
                    self.reply("250 2.0.0 ok")
                elif verb == "QUIT":
                    self.reply("221 2.0.0 bye")
                    return
                else:
                    self.reply("502 5.5.2 command not recognised")

        def auth(self, rest):
            mech, _, initial = rest.partition(" ")
            if args.smtp_user is None or mech.upper() != "PLAIN":
                self.reply("504 5.5.4 mechanism not supported")
                return
            if not initial:
                self.reply("334 ")
                initial = self.readline().decode("ascii", "replace").strip()
            try:
                _, user, password = base64.b64decode(initial).decode().split("\0")
            except (ValueError, UnicodeDecodeError):
                self.reply("501 5.5.2 cannot decode")
                return
            if user == args.smtp_user and password == args.smtp_password:
                self.auth_user = user
                self.reply("235 2.7.0 authenticated")
            else:
                self.reply("535 5.7.8 authentication failed")

        def data(self):
            self.reply("354 end with <CRLF>.<CRLF>")
            lines, size, crlf = [], 0, True
            while True:
                raw = self.readline()
                if not raw:
                    return
                if raw in (b".\r\n", b".\n"):
                    break
                if not raw.endswith(b"\r\n"):
                    crlf = False
                if raw.startswith(b"."):
                    raw = raw[1:]  # undo dot-stuffing
                size += len(raw)
                if size > MAX_MAIL:
                    self.reply("552 5.3.4 message too big")
                    return
                lines.append(raw)
            with state.lock:
                state.smtp_mails += 1
                fail = state.smtp_mails <= args.smtp_fail_first
            status = 451 if fail else 250
            state.smtp_rec.write({
                "helo": self.helo, "auth_user": self.auth_user,
                "mail_from": self.mail_from, "rcpt_to": list(self.rcpt),
                "data": b"".join(lines).decode("utf-8", "replace"),
                "crlf": crlf, "status": status,
            })
            self.reset()
            self.reply("451 4.3.0 try again later" if fail else "250 2.0.0 queued")

    return Handler


class SMTPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--http-port", type=int)
    ap.add_argument("--smtp-port", type=int)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ready-file")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--fail-status", type=int, default=500)
    ap.add_argument("--retry-after", type=int, default=1)
    ap.add_argument("--hang-seconds", type=float, default=3600.0)
    ap.add_argument("--smtp-user")
    ap.add_argument("--smtp-password")
    ap.add_argument("--smtp-fail-first", type=int, default=0)
    args = ap.parse_args()
    if args.http_port is None and args.smtp_port is None:
        ap.error("give --http-port, --smtp-port or both")
    if (args.smtp_user is None) != (args.smtp_password is None):
        ap.error("--smtp-user and --smtp-password go together")
    os.makedirs(args.out, exist_ok=True)
    state = State(args)

    servers, ports = [], {"pid": os.getpid()}
    if args.http_port is not None:
        httpd = ThreadingHTTPServer(("127.0.0.1", args.http_port), make_http_handler(state))
        httpd.daemon_threads = True
        servers.append(httpd)
        ports["http_port"] = httpd.server_address[1]
    if args.smtp_port is not None:
        smtpd = SMTPServer(("127.0.0.1", args.smtp_port), make_smtp_handler(state))
        servers.append(smtpd)
        ports["smtp_port"] = smtpd.server_address[1]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()

    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(ports, f)
        os.replace(tmp, args.ready_file)
    print("http_port=%s smtp_port=%s" % (ports.get("http_port", ""),
                                         ports.get("smtp_port", "")), flush=True)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    state.stop.set()
    for s in servers:
        s.shutdown()
        s.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
