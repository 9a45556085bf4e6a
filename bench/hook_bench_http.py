#!/usr/bin/env python3
"""hook_bench_http.py - the local HTTP collector the bash and Python hooks of
bench/hook_bench post to.  Listens on 127.0.0.1 (an ephemeral port), prints
the port on stdout, answers every POST with 204 after reading the body, and
runs until killed."""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
