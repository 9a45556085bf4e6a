#!/usr/bin/env python3
"""hook_bench_hook.py - a Python standard-library hook, for bench/hook_bench:
json.load(sys.stdin), then POST the event to a collector (HOOK_BENCH_URL)."""
import json
import os
import sys
import urllib.request

try:
    event = json.load(sys.stdin)
    req = urllib.request.Request(os.environ["HOOK_BENCH_URL"], data=json.dumps(event).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req, timeout=2).read()
except Exception:  # a hook must never fail the agent
    pass
sys.exit(0)
