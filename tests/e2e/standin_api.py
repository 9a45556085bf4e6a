#!/usr/bin/env python3
"""standin_api.py - a stand-in of the Anthropic Messages API for end-to-end tests.

The real Claude Code CLI, pointed at this server with ANTHROPIC_BASE_URL, runs a
scripted session: every answer is decided by the conversation state the client
sends, so the client runs its real tools and fires its real hooks while the
"model" is this file.  Python standard library only.

    standin_api.py --workdir PROJECT [--port 0] [--port-file F] [--log F]
                   [--fail-first 429|529] [--latency-ms N] [--script-file F]

Endpoints:
  POST /v1/messages[?beta=true]   the scripted session; SSE when "stream": true,
                                  one JSON message otherwise
  POST /v1/messages/count_tokens  {"input_tokens": N}
  GET  /v1/models[/ID]            a one-model list / that model
  anything else                   200 {} for POST, 404 JSON error for GET, so the
                                  client never waits on an unanswered request
Every request is appended to the log (--log, one JSON object per line: method,
path, the request body, what kind of answer it got, and for scripted turns the
tool call made), which the tests read to know what the client was told to do.

The session.  A request is a *side request* when it offers no tools (title
generation, quota probes, summaries): it gets a short text answer and never
advances anything.  Otherwise the conversation is the *subagent* when its first
user message contains SUBAGENT_MARKER (the Agent tool's prompt), else the
*main* conversation.  The step is the number of tool_result blocks in the
conversation so far (one tool call per turn), so the answers do not depend on
the order or the number of requests the client makes, and a retried request
gets the same answer.

  main:      Bash (succeeds), Read, Write (creates NOTES), Edit (edits NOTES),
             Grep, Bash (fails, exit 1), Agent (the subagent), then end_turn
  subagent:  Grep, Glob, then end_turn

--script-file F replaces the main conversation's tool calls with the JSON list
in F, [["Bash", {"command": ...}], ["Read", {"file_path": ...}], ...] (at most
MAX_SCRIPT steps), and leaves the subagent with none; the final text is the same.
The rules end-to-end test uses it for its attack script (a destructive command,
a private key read, an upload).

--fail-first 429 (or 529) answers the first scripted request with that error
once (rate_limit_error / overloaded_error, retry-after: 0) to exercise the
client's retries; the log records it.  --latency-ms N waits N ms before answering
each scripted (non-side) request, like a model's time to first token: benchmarks use it
to compare hook overhead with a realistic session as well as with an instant one.
"""

import argparse
import http.server
import json
import os
import socketserver
import sys
import threading
import time

SUBAGENT_MARKER = "E2E-SUBAGENT-TASK"
NOTES = "e2e-notes.txt"
NOTES_CONTENT = "vigil end-to-end notes\nstatus: draft\n"
FAIL_MARKER = "e2e-missing-file.txt"
FINAL_TEXT = "E2E session finished."
SUB_FINAL_TEXT = "E2E subagent found nothing alarming."
# Request bodies above this are refused (413): the client's requests carry the
# system prompt and the tool list, a few hundred KiB at most.
MAX_BODY = 16 * 1024 * 1024
# A --script-file holds at most this many tool calls.
MAX_SCRIPT = 100


def main_script(workdir):
    """The main conversation's tool calls, in order: (tool name, input)."""
    notes = os.path.join(workdir, NOTES)
    return [
        ("Bash", {"command": "echo e2e-hello && ls", "description": "say hello and list the project"}),
        ("Read", {"file_path": os.path.join(workdir, "README.md")}),
        ("Write", {"file_path": notes, "content": NOTES_CONTENT}),
        ("Edit", {"file_path": notes, "old_string": "status: draft", "new_string": "status: final\nreviewed: yes",
                  "replace_all": False}),
        ("Grep", {"pattern": "vigil", "path": workdir, "output_mode": "files_with_matches"}),
        ("Bash", {"command": "cat " + FAIL_MARKER, "description": "read a file that does not exist"}),
        ("Agent", {"description": "look for TODOs",
                   "prompt": SUBAGENT_MARKER + ": look for TODO markers and text files in the project, then report.",
                   "subagent_type": "general-purpose"}),
    ]


def sub_script(workdir):
    """The subagent's tool calls, in order."""
    return [
        ("Grep", {"pattern": "TODO", "path": workdir}),
        ("Glob", {"pattern": "**/*.txt", "path": workdir}),
    ]


def text_of(content):
    """All the text of a message's content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    out = []
    if isinstance(content, list):
        for b in content:
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str):
                out.append(b["text"])
    return "\n".join(out)


def count_tool_results(messages):
    n = 0
    for m in messages:
        if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), list):
            n += sum(1 for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result")
    return n


def classify(body):
    """('side'|'main'|'subagent', step) for one /v1/messages request body."""
    tools = body.get("tools")
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    if not tools:
        return "side", 0
    first_user = next((m for m in messages if isinstance(m, dict) and m.get("role") == "user"), None)
    conv = "main"
    if first_user is not None and SUBAGENT_MARKER in text_of(first_user.get("content")):
        conv = "subagent"
    return conv, count_tool_results(messages)


class Script:
    """Decides the answer to a request; thread-safe (the client may send requests in parallel)."""

    def __init__(self, workdir, fail_first, latency_ms=0, custom=None):
        self.workdir = workdir
        self.custom = custom  # the --script-file steps, or None for the built-in script
        self.latency = latency_ms / 1000.0
        self.fail_first = fail_first
        self.lock = threading.Lock()
        self.msg_n = 0

    def next_msg_id(self):
        with self.lock:
            self.msg_n += 1
            return "msg_e2e_%04d" % self.msg_n

    def take_failure(self):
        with self.lock:
            f, self.fail_first = self.fail_first, 0
            return f

    def decide(self, body):
        """Returns (kind, blocks, stop_reason, info) for a /v1/messages body."""
        conv, step = classify(body)
        if conv == "side":
            return "side", [{"type": "text", "text": "E2E side answer"}], "end_turn", {}
        if self.custom is not None:
            script = [] if conv == "subagent" else self.custom
        else:
            script = sub_script(self.workdir) if conv == "subagent" else main_script(self.workdir)
        if step >= len(script):
            text = SUB_FINAL_TEXT if conv == "subagent" else FINAL_TEXT
            return conv, [{"type": "text", "text": text}], "end_turn", {"step": step, "final": True}
        name, tool_input = script[step]
        # Ids unique across both conversations (the two run interleaved in one session).
        tid = "toolu_e2e_%s_%02d" % ("sub" if conv == "subagent" else "main", step)
        blocks = [{"type": "text", "text": "Step %d: %s." % (step + 1, name)},
                  {"type": "tool_use", "id": tid, "name": name, "input": tool_input}]
        return conv, blocks, "tool_use", {"step": step, "tool": name, "tool_use_id": tid, "input": tool_input}


def usage_of(body, out_tokens):
    # A rough, deterministic figure: about 4 bytes per token of the request.
    n = max(1, len(json.dumps(body.get("messages", []))) // 4)
    return {"input_tokens": n, "output_tokens": out_tokens,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def chunks(s, n):
    return [s[i:i + n] for i in range(0, len(s), n)] or [""]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vigil-standin/1"

    def log_message(self, fmt, *args):  # the JSON log replaces the default stderr lines
        pass

    def record(self, entry):
        srv = self.server
        entry["t"] = round(time.time(), 3)
        with srv.log_lock:
            if srv.log_file is not None:
                srv.log_file.write(json.dumps(entry) + "\n")
                srv.log_file.flush()

    def send_json(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_e2e_%d" % int(time.time() * 1000))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        try:
            n = int(self.headers.get("content-length") or 0)
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            return None, "bad or oversized content-length"
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return {}, None
        try:
            body = json.loads(raw)
        except ValueError as e:
            return None, "invalid JSON: %s" % e
        if not isinstance(body, dict):
            return None, "the body is not a JSON object"
        return body, None

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        self.record({"method": "GET", "path": self.path, "answer": "models" if path.startswith("/v1/models") else "404"})
        model = {"type": "model", "id": "claude-e2e-standin", "display_name": "E2E stand-in",
                 "created_at": "2026-01-01T00:00:00Z"}
        if path == "/v1/models":
            self.send_json(200, {"data": [model], "has_more": False, "first_id": model["id"], "last_id": model["id"]})
        elif path.startswith("/v1/models/"):
            model["id"] = path.rsplit("/", 1)[1]
            self.send_json(200, model)
        else:
            self.send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "not here"}})

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        body, err = self.read_body()
        if err is not None:
            self.close_connection = True  # the body may be unread: do not reuse the connection
            self.record({"method": "POST", "path": self.path, "answer": "400", "error": err})
            self.send_json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": err}})
            return
        if path == "/v1/messages/count_tokens":
            self.record({"method": "POST", "path": self.path, "answer": "count_tokens"})
            self.send_json(200, {"input_tokens": usage_of(body, 0)["input_tokens"]})
            return
        if path != "/v1/messages":
            self.record({"method": "POST", "path": self.path, "answer": "empty"})
            self.send_json(200, {})
            return
        self.messages(body)

    def messages(self, body):
        script = self.server.script
        kind, blocks, stop, info = script.decide(body)
        entry = {"method": "POST", "path": self.path, "conv": kind, "model": body.get("model"),
                 "stream": bool(body.get("stream")), "n_messages": len(body.get("messages") or []),
                 "has_tools": bool(body.get("tools")), "body": body}
        entry.update(info)
        if kind != "side":
            fail = script.take_failure()
            if fail:
                etype = "rate_limit_error" if fail == 429 else "overloaded_error"
                entry["answer"] = str(fail)
                self.record(entry)
                self.send_json(fail, {"type": "error", "error": {"type": etype, "message": "stand-in: try again"}},
                               {"retry-after": "0", "x-should-retry": "true"})
                return
        if kind != "side" and script.latency > 0:
            time.sleep(script.latency)
        msg = {"id": script.next_msg_id(), "type": "message", "role": "assistant",
               "model": body.get("model") or "claude-e2e-standin", "content": blocks,
               "stop_reason": stop, "stop_sequence": None, "usage": usage_of(body, 12)}
        entry["answer"] = "sse" if body.get("stream") else "json"
        self.record(entry)
        if body.get("stream"):
            self.stream(msg)
        else:
            self.send_json(200, msg)

    def stream(self, msg):
        """Sends msg as the Messages API's server-sent events."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", "req_e2e_%d" % int(time.time() * 1000))
        # No length and no chunking: the stream ends when the connection closes.
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True

        def ev(name, data):
            self.wfile.write(("event: %s\ndata: %s\n\n" % (name, json.dumps(data))).encode())

        usage = msg["usage"]
        start = dict(msg, content=[], stop_reason=None,
                     usage=dict(usage, output_tokens=1))
        ev("message_start", {"type": "message_start", "message": start})
        ev("ping", {"type": "ping"})
        for i, b in enumerate(msg["content"]):
            if b["type"] == "text":
                ev("content_block_start", {"type": "content_block_start", "index": i,
                                           "content_block": {"type": "text", "text": ""}})
                for piece in chunks(b["text"], 16):
                    ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "text_delta", "text": piece}})
            else:
                ev("content_block_start", {"type": "content_block_start", "index": i,
                                           "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"],
                                                             "input": {}}})
                for piece in chunks(json.dumps(b["input"]), 24):
                    ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "input_json_delta", "partial_json": piece}})
            ev("content_block_stop", {"type": "content_block_stop", "index": i})
        ev("message_delta", {"type": "message_delta",
                             "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                             "usage": {"output_tokens": usage["output_tokens"]}})
        ev("message_stop", {"type": "message_stop"})
        self.wfile.flush()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def load_script(path):
    """The steps of a --script-file: a list of [tool name, input object] pairs."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, list) or not 0 < len(doc) <= MAX_SCRIPT:
        raise ValueError("a list of 1 to %d steps is expected" % MAX_SCRIPT)
    steps = []
    for i, st in enumerate(doc):
        if (not isinstance(st, list) or len(st) != 2 or not isinstance(st[0], str) or not st[0]
                or not isinstance(st[1], dict)):
            raise ValueError("step %d: [\"Tool\", {input}] is expected" % i)
        steps.append((st[0], st[1]))
    return steps


def main(argv):
    ap = argparse.ArgumentParser(description="stand-in Anthropic Messages API for vigil's end-to-end tests")
    ap.add_argument("--workdir", required=True, help="the project directory the scripted tool calls act on")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port (see --port-file)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--fail-first", type=int, choices=[0, 429, 529], default=0,
                    help="answer the first scripted request with this error once")
    ap.add_argument("--latency-ms", type=int, default=0,
                    help="wait this long before answering each scripted request (0..60000)")
    ap.add_argument("--script-file", help="the main conversation's tool calls, a JSON list of [tool, input]")
    a = ap.parse_args(argv)
    if not os.path.isabs(a.workdir) or not os.path.isdir(a.workdir):
        ap.error("--workdir must be an existing absolute directory")
    if not 0 <= a.latency_ms <= 60000:
        ap.error("--latency-ms must be 0..60000")
    custom = None
    if a.script_file:
        try:
            custom = load_script(a.script_file)
        except (OSError, ValueError) as e:
            ap.error("--script-file %s: %s" % (a.script_file, e))

    srv = Server((a.host, a.port), Handler)
    srv.script = Script(a.workdir, a.fail_first, a.latency_ms, custom)
    srv.log_lock = threading.Lock()
    srv.log_file = open(a.log, "a", encoding="utf-8") if a.log else None
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)  # readers never see a half-written port
    print("standin_api: listening on http://%s:%d" % (a.host, port), file=sys.stderr, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
