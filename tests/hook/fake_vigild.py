#!/usr/bin/env python3
"""fake_vigild.py - a stand-in for vigild's hook socket, for vigil-hook's tests.

    fake_vigild.py --socket PATH --log FILE --mode MODE

It listens on the unix socket PATH, prints "ready" on stdout, and for each
connection reads one request frame (src/wire/wire.h), parses it independently
of libwire (a second implementation, so the two check each other), appends a
JSON line describing it to FILE, and answers according to MODE:

    ok        WIRE_OK, exit code 0, no output (a durable event)
    decide    WIRE_OK, exit code 2, stdout {"decision":"deny"...}, stderr a reason
    hang      reads the frame and never answers (the hook must give up)
    close     reads the header, then closes without a reply
    failed    WIRE_FAILED (the daemon could not record it)
    refused   WIRE_REFUSED with a reason on stderr
    garbage   a reply with a bad magic
    silent    accepts and reads nothing, never answers
    staged    WIRE_DECIDED (deny, exit 2) at once, then WIRE_OK (durable)
    staged-late    WIRE_DECIDED (deny), then never the durable reply
    staged-failed  WIRE_DECIDED (deny), then WIRE_FAILED
    after-deadline sleeps 1.5 s (past a 0.4 s hook deadline), then tries to
              send WIRE_DECIDED and logs {"late_send": "ok"|"EPIPE"|...}:
              the hook's shutdown must make that send fail

A malformed frame is logged as {"error": ...}.  It runs until killed.
"""
import argparse
import errno
import json
import os
import socket
import struct
import sys
import threading
import time

HDR = struct.Struct("<4sBBHII")
MAX_ENV = 16384
MAX_PAYLOAD = 8 * 1024 * 1024
DECISION = b'{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny"}}\n'
REASON = b"blocked by fake rule\n"


def recv_exact(conn, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def unescape(value):
    out = bytearray()
    i = 0
    while i < len(value):
        c = value[i]
        if c == ord("%"):
            out.append(int(value[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return out.decode("utf-8", "surrogateescape")


def parse_envelope(text):
    env = {}
    if text and not text.endswith(b"\n"):
        raise ValueError("envelope does not end with a newline")
    for line in text.split(b"\n")[:-1]:
        key, sep, value = line.partition(b"=")
        if not sep:
            raise ValueError(f"line without '=': {line!r}")
        env[key.decode()] = unescape(value)
    return env


def ack(status, code=0, out=b"", err=b"", decision=0):
    return struct.pack("<4sBBHII", b"VGA1", status, decision, code, len(out), len(err)) + out + err


DECIDED, DENY = 3, 2


def handle(conn, mode, log, lock):
    try:
        if mode == "silent":
            threading.Event().wait()
        hdr = recv_exact(conn, HDR.size)
        magic, kind, flags, _, env_len, payload_len = HDR.unpack(hdr)
        if mode == "close":
            return
        if magic != b"VGW1" or not 1 <= kind <= 4 or env_len > MAX_ENV or payload_len > MAX_PAYLOAD:
            raise ValueError(f"bad header {hdr!r}")
        env = parse_envelope(recv_exact(conn, env_len))
        payload = recv_exact(conn, payload_len)
        rec = {"kind": kind, "flags": flags, "env": env, "payload_len": len(payload),
               "payload": payload.decode("utf-8", "replace") if len(payload) < 65536 else None}
        with lock:
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
        if mode == "ok":
            conn.sendall(ack(0))
        elif mode == "decide":
            conn.sendall(ack(0, 2, DECISION, REASON))
        elif mode == "failed":
            conn.sendall(ack(2))
        elif mode == "refused":
            conn.sendall(ack(1, 0, b"", b"malformed request\n"))
        elif mode == "garbage":
            conn.sendall(b"XXXX" + bytes(12))
        elif mode == "hang":
            threading.Event().wait()
        elif mode.startswith("staged"):
            conn.sendall(ack(DECIDED, 2, DECISION, REASON, DENY))
            if mode == "staged":
                conn.sendall(ack(0))
            elif mode == "staged-failed":
                conn.sendall(ack(2))
            else:
                threading.Event().wait()
        elif mode == "after-deadline":
            time.sleep(1.5)
            try:
                conn.sendall(ack(DECIDED, 2, DECISION, REASON, DENY))
                res = "ok"
            except OSError as e:
                res = errno.errorcode.get(e.errno, str(e.errno))
            with lock:
                with open(log, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"late_send": res}) + "\n")
    except (ValueError, EOFError, OSError) as e:
        with lock:
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"error": str(e)}) + "\n")
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", required=True,
                    choices=["ok", "decide", "hang", "close", "failed", "refused", "garbage", "silent",
                             "staged", "staged-late", "staged-failed", "after-deadline"])
    a = ap.parse_args()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(a.socket)
    except FileNotFoundError:
        pass
    srv.bind(a.socket)
    os.chmod(a.socket, 0o600)
    srv.listen(64)
    lock = threading.Lock()
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, a.mode, a.log, lock), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
