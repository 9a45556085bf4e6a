"""e2e_session.py - what the end-to-end test and bench/client_bench share: finding the
pinned Claude Code CLI and vigil's binaries, a scratch project, the stand-in Messages API,
one offline `claude -p` run, the daemon's start and stop, and a ledger reader.

Python standard library only.  Nothing here asserts: callers decide what a result means.
"""

import glob
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import standin_api  # noqa: E402  (the scripted session: tool names, markers, file names)

# The scripted tools the client may run without asking (as root,
# --dangerously-skip-permissions is refused, so the allow list is the way).
ALLOWED_TOOLS = "Bash,Read,Write,Edit,Grep,Glob,Agent"
PROMPT = "E2E main task: exercise the tools, then delegate a search to a subagent."
README = "# e2e project\n\nA scratch project for vigil's end-to-end test.\n"
APP = "def main():\n    # TODO: say something useful\n    print('vigil e2e')\n"
# Claude Code inherits these from a developer's shell; each would change what the
# offline run does (another endpoint, another config dir, telemetry, a proxy).
SCRUB_ENV = ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "CLAUDE_CONFIG_DIR",
             "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_ENABLE_TELEMETRY",
             "CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_PROJECT_DIR", "HTTP_PROXY", "HTTPS_PROXY",
             "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
             "XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CACHE_HOME", "VIGIL_STATE_DIR", "VIGIL_SOCKET",
             "VIGIL_SIGNING_KEY", "VIGIL_MAC_KEY", "VIGIL_HOOK_AUTOSTART", "VIGIL_CONFIG",
             "VIGIL_HOOK_TIMEOUT_MS", "VIGIL_HOOK_FAIL_CLOSED", "VIGIL_HOOK_DEBUG")


def find_claude(source_root):
    """(path, None) for the pinned claude, installing it if needed; (None, reason) when impossible.

    VIGIL_CLAUDE names a claude binary to use instead (any version: the caller decides)."""
    explicit = os.environ.get("VIGIL_CLAUDE")
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit, None
        return None, "VIGIL_CLAUDE=%s is not an executable" % explicit
    script = os.path.join(source_root, "scripts", "install-claude")
    try:
        p = subprocess.run([script], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "scripts/install-claude: %s" % e
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines or not os.access(lines[-1], os.X_OK):
        err = p.stderr.strip().splitlines()[-6:] or ["exit %d" % p.returncode]
        return None, "scripts/install-claude failed: " + "\n".join(err)
    return lines[-1], None


def find_binary(build_root, name, subdirs):
    """The built binary `name` under build_root (its usual place first), else None."""
    for d in subdirs:
        p = os.path.join(build_root, d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    for p in glob.glob(os.path.join(build_root, "src", "*", name)):
        if os.access(p, os.X_OK):
            return p
    return None


def find_vigil(build_root):
    return {
        "vigil": find_binary(build_root, "vigil", ["src/cli"]),
        "vigild": find_binary(build_root, "vigild", ["src/daemon"]),
        "vigil-hook": find_binary(build_root, "vigil-hook", ["src/hook"]),
    }


def base_env(home):
    """The environment of every process the test starts: a private HOME, no agent config."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
    env["HOME"] = home
    env["NO_COLOR"] = "1"
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def claude_env(home, port):
    env = base_env(home)
    env.update({
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:%d" % port,
        "ANTHROPIC_API_KEY": "test",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
    })
    return env


def make_project(path):
    """A git repository with a README and one source file holding a TODO."""
    os.makedirs(os.path.join(path, "src"), exist_ok=True)
    with open(os.path.join(path, "README.md"), "w") as f:
        f.write(README)
    with open(os.path.join(path, "src", "app.py"), "w") as f:
        f.write(APP)
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(git + args, cwd=path, check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Standin:
    """The stand-in Messages API as a child process on a free loopback port."""

    def __init__(self, workdir, log, fail_first=0, latency_ms=0, script_file=None):
        self.log = log
        port_file = log + ".port"
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = [sys.executable, os.path.join(HERE, "standin_api.py"), "--workdir", workdir,
               "--port-file", port_file, "--log", log]
        if fail_first:
            cmd += ["--fail-first", str(fail_first)]
        if latency_ms:
            cmd += ["--latency-ms", str(latency_ms)]
        if script_file:
            cmd += ["--script-file", script_file]
        self.err = open(log + ".stderr", "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err)
        deadline = time.monotonic() + 15
        self.port = None
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with open(port_file) as f:
                    self.port = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        if self.port is None:
            self.stop()
            raise RuntimeError("the stand-in API did not start (see %s.stderr)" % log)

    def requests(self):
        out = []
        try:
            with open(self.log) as f:
                for line in f:
                    out.append(json.loads(line))
        except OSError:
            pass
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def run_claude(claude, project, env, timeout=180, prompt=PROMPT, max_turns=30, stream_path=None):
    """Runs one scripted session; returns a dict: rc, events (the stream-json objects),
    result (the final result event or None), session_id, stderr, seconds, timed_out."""
    cmd = [claude, "-p", prompt, "--output-format", "stream-json", "--verbose",
           "--allowedTools", ALLOWED_TOOLS, "--max-turns", str(max_turns)]
    t0 = time.monotonic()
    # Its own process group, so a timeout also ends the tools and hooks it started.
    p = subprocess.Popen(cmd, cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    secs = time.monotonic() - t0
    if stream_path:
        with open(stream_path, "wb") as f:
            f.write(out)
    events = []
    for line in out.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    result = next((e for e in reversed(events) if e.get("type") == "result"), None)
    sid = result.get("session_id") if result else None
    if sid is None:
        sid = next((e.get("session_id") for e in events if e.get("session_id")), None)
    return {"rc": p.returncode, "events": events, "result": result, "session_id": sid,
            "stderr": err.decode("utf-8", "replace"), "seconds": secs, "timed_out": timed_out}


def run(cmd, env, timeout=60, cwd=None):
    """(rc, stdout, stderr) of a short command with no stdin; rc -1 on timeout or exec failure."""
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return -1, "", "timed out after %ds: %s" % (timeout, " ".join(cmd))
    except OSError as e:
        return -1, "", "%s: %s" % (cmd[0], e)


def vigil_has(vigil, command, env):
    """Whether this vigil build has COMMAND (its help exits 0)."""
    rc, _, _ = run([vigil, "help", command], env, timeout=20)
    return rc == 0


class Daemon:
    """vigild for one state directory: `vigil up`/`vigil down` when the CLI has them,
    else vigild --foreground as a child."""

    def __init__(self, bins, state, env, log):
        self.bins, self.state, self.env, self.log = bins, state, env, log
        self.proc = None
        self.how = None
        self.failed = None  # why start() failed, for stop() to report

    def start(self):
        self.failed = self._start()
        return self.failed

    def _start(self):
        vigil, vigild = self.bins["vigil"], self.bins["vigild"]
        if vigil and vigil_has(vigil, "up", self.env):
            rc, out, err = run([vigil, "--state-dir", self.state, "up"], self.env, timeout=30)
            self.how = "vigil up"
            if rc != 0:
                return "vigil up exited %d: %s" % (rc, (err or out).strip()[:300])
            return None
        if not vigild:
            return "neither 'vigil up' nor a vigild binary is built"
        self.how = "vigild --foreground"
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([vigild, "--state-dir", self.state, "--foreground"], env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf)
        return self.wait_ready()

    def wait_ready(self, timeout=15):
        """Waits for the daemon's socket to appear in the state directory."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return "vigild exited %d at start (see %s)" % (self.proc.returncode, self.log)
            if glob.glob(os.path.join(self.state, "*.sock")) or glob.glob(os.path.join(self.state, "*", "*.sock")):
                return None
            time.sleep(0.05)
        return "vigild made no socket in %s within %ds" % (self.state, timeout)

    def stop(self):
        """Stops the daemon; returns None or what went wrong."""
        vigil = self.bins["vigil"]
        if self.failed:
            return "it never started: %s" % self.failed
        if self.how == "vigil up":
            rc, out, err = run([vigil, "--state-dir", self.state, "down"], self.env, timeout=60)
            self.how = None
            return None if rc == 0 else "vigil down exited %d: %s" % (rc, (err or out).strip()[:300])
        if self.proc is None:
            return None
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                return "vigild ignored SIGTERM for 30 s"
        self.logf.close()
        return None if p.returncode == 0 else "vigild exited %d (see %s)" % (p.returncode, self.log)


# ---- the ledger, read independently of vigil's code (docs/ledger-format.md) ------------
SEG_HEADER = 96
FRAME_FIXED = 60
REC_EVENT = 1


def read_ledger(ledger_dir):
    """Every record of every segment, in order: dicts {seq, type, time_ns, payload (bytes)}.

    Stops a segment at the first frame whose length or CRC is wrong (a torn tail) and
    reports it in the returned `problems` list; the test wants none."""
    records, problems = [], []
    segs = sorted(glob.glob(os.path.join(ledger_dir, "*.seg")))
    if not segs:
        problems.append("no segment files in %s" % ledger_dir)
    for seg in segs:
        with open(seg, "rb") as f:
            data = f.read()
        if len(data) < SEG_HEADER or data[:8] != b"VIGILLOG":
            problems.append("%s: no segment header" % os.path.basename(seg))
            continue
        off = SEG_HEADER
        while off + FRAME_FIXED <= len(data):
            (flen,) = struct.unpack_from("<I", data, off)
            if flen < FRAME_FIXED or off + flen > len(data):
                problems.append("%s: bad frame length %d at offset %d" % (os.path.basename(seg), flen, off))
                break
            body = data[off:off + flen - 4]
            (crc,) = struct.unpack_from("<I", data, off + flen - 4)
            if zlib.crc32(body) & 0xFFFFFFFF != crc:
                problems.append("%s: CRC mismatch at offset %d" % (os.path.basename(seg), off))
                break
            rtype = body[4]
            seq, tns = struct.unpack_from("<QQ", body, 8)
            records.append({"seq": seq, "type": rtype, "time_ns": tns, "payload": body[56:]})
            off += flen
        if off != len(data) and not problems:
            problems.append("%s: %d trailing bytes" % (os.path.basename(seg), len(data) - off))
    return records, problems


def ledger_events(ledger_dir):
    """The event records' payloads as parsed JSON objects, and the reader's problems."""
    records, problems = read_ledger(ledger_dir)
    events = []
    for r in records:
        if r["type"] != REC_EVENT:
            continue
        try:
            events.append(json.loads(r["payload"]))
        except ValueError as e:
            problems.append("seq %d: payload is not JSON: %s" % (r["seq"], e))
    return events, problems


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)
