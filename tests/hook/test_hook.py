#!/usr/bin/env python3
"""test_hook.py - behaviour of vigil-hook against a fake daemon (TAP).

    test_hook.py HOOK SPOOL_DUMP FAKE_VIGILD

Each case runs the real vigil-hook binary with its own state directory and,
where a daemon is wanted, tests/hook/fake_vigild.py in one of its modes.  The
spool is decoded with spool_dump (the real spool reader); what the daemon
received is decoded by fake_vigild.py's own parser.
"""
import json
import os
import pty
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HOOK, DUMP, FAKE = sys.argv[1:4]
MAX_PAYLOAD = 8 * 1024 * 1024
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
PAYLOAD = (b'{"session_id":"s-1","transcript_path":"/t.jsonl","cwd":"/w",'
           b'"hook_event_name":"PreToolUse","tool_name":"Bash",'
           b'"tool_input":{"command":"ls \\u00e9"},"tool_use_id":"toolu_1"}\n')

n = 0
failed = 0


def ok(cond, name, diag=None):
    global n, failed
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {name}", flush=True)
    if not cond:
        failed += 1
        if diag is not None:
            for line in str(diag).splitlines()[:20]:
                print(f"#   {line}", flush=True)


def base_env(state):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIGIL_", "CLAUDE_"))}
    env["VIGIL_STATE_DIR"] = state
    return env


def run_hook(state, args=(), stdin=PAYLOAD, env_extra=None, timeout=30, cwd=None, env=None):
    e = env if env is not None else base_env(state)
    if env_extra:
        e.update(env_extra)
    t0 = time.monotonic()
    p = subprocess.run([HOOK, *args], input=stdin, capture_output=True, env=e,
                       timeout=timeout, cwd=cwd)
    return p, time.monotonic() - t0


def dump(path):
    """Records and the damage line of a spool file, via spool_dump."""
    if not os.path.exists(path):
        return [], None
    p = subprocess.run([DUMP, path], capture_output=True, timeout=60)
    lines = [json.loads(line) for line in p.stdout.decode().splitlines()]
    return lines[:-1], lines[-1]


def spool_of(state, name="spool.vgw"):
    return os.path.join(state, "spool", name)


class Fake:
    def __init__(self, state, mode, sock=None):
        self.sock = sock or os.path.join(state, "vigild.sock")
        self.log = os.path.join(state, "fake.log")
        self.p = subprocess.Popen([sys.executable, FAKE, "--socket", self.sock, "--log",
                                   self.log, "--mode", mode], stdout=subprocess.PIPE)
        line = self.p.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError("fake_vigild did not start")

    def received(self, raw=False):
        """The frames received; raw: also the fake's notes (late_send)."""
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            lines = [json.loads(line) for line in f]
        return lines if raw else [r for r in lines if "late_send" not in r]

    def stop(self):
        self.p.kill()
        self.p.wait()


def new_state():
    return tempfile.mkdtemp(prefix="vh-")


# ---- basics -------------------------------------------------------------------

def test_cli():
    p = subprocess.run([HOOK, "--help"], capture_output=True, stdin=subprocess.DEVNULL)
    ok(p.returncode == 0 and b"usage: vigil-hook" in p.stdout and b"--decide" in p.stdout,
       "--help prints usage on stdout, exit 0")
    p = subprocess.run([HOOK, "--version"], capture_output=True, stdin=subprocess.DEVNULL)
    ok(p.returncode == 0 and re.match(rb"^vigil-hook \d+\.\d+\.\d+\n$", p.stdout),
       "--version", p.stdout)


def test_libc_only():
    out = subprocess.run(["readelf", "-d", HOOK], capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    if not needed:
        ok("There is no dynamic section" in out or "NEEDED" not in out,
           "vigil-hook is static (no shared libraries)")
        return
    # Sanitizer builds (CI) cannot link statically; their runtimes are allowed.
    allowed = [n for n in needed if not re.match(r"^(libc\.so\.6|ld-linux.*|libasan\.so.*|libubsan\.so.*)$", n)]
    ok(not allowed, "vigil-hook links only libc (plus sanitizer runtimes): " + ", ".join(needed),
       allowed)


# ---- no daemon: spool -------------------------------------------------------------

def test_no_daemon():
    state = new_state()
    work = os.path.join(state, "dir with\nnewline %41")
    os.mkdir(work)
    p, _ = run_hook(state, ["--agent", "claude-code", "--event", "PreToolUse"], cwd=work,
                    env_extra={"CLAUDE_PROJECT_DIR": "/proj/x", "CLAUDE_CODE_SESSION_ID": "sess-9"})
    ok(p.returncode == 0 and p.stdout == b"" and p.stderr == b"",
       "no daemon: exit 0, nothing on stdout or stderr", p)
    recs, dmg = dump(spool_of(state))
    ok(len(recs) == 1 and dmg["damage_bytes"] == 0, "no daemon: one record spooled", recs)
    if recs:
        r = recs[0]
        ok(bytes.fromhex(r["payload_hex"]) == PAYLOAD and r["stdin_len"] == len(PAYLOAD)
           and r["flags"] == 0 and r["kind"] == 1, "spooled payload is stdin, kind EVENT")
        ok(UUID7.match(r["id"]) is not None, "event id is a UUIDv7", r["id"])
        ok(abs(r["time_ns"] / 1e9 - time.time()) < 60, "receive time is now", r["time_ns"])
        ok(r["uid"] == os.getuid() and r["ppid"] == os.getpid() and r["pid"] > 0,
           "pid, ppid and uid", r)
        ok(r["cwd"].encode("latin-1") == work.encode(), "cwd with a newline and '%' survives", r["cwd"])
        ok(r["agent"] == "claude-code" and r["event"] == "PreToolUse", "agent and event from argv")
        ok(r["project_dir"] == "/proj/x" and r["session"] == "sess-9",
           "CLAUDE_PROJECT_DIR and CLAUDE_CODE_SESSION_ID")
    mode_dir = stat.S_IMODE(os.stat(os.path.join(state, "spool")).st_mode)
    mode_file = stat.S_IMODE(os.stat(spool_of(state)).st_mode)
    ok(mode_dir == 0o700 and mode_file == 0o600, f"spool dir 0700, file 0600 ({mode_dir:o}, {mode_file:o})")

    p, _ = run_hook(state, ["--decide"])
    recs, _ = dump(spool_of(state))
    ok(p.returncode == 0 and p.stdout == b"" and len(recs) == 2 and recs[1]["kind"] == 2
       and recs[1]["agent"] == "", "no daemon, --decide: spooled as DECIDE, allowed (exit 0)")
    ok(len(recs) == 2 and recs[0]["id"] != recs[1]["id"], "ids differ between events")
    shutil.rmtree(state)


def test_fresh_state_dir():
    root = new_state()
    state = os.path.join(root, "not", "yet")
    p, _ = run_hook(state)
    recs, _ = dump(spool_of(state))
    ok(p.returncode == 0 and len(recs) == 1, "a missing state directory is created for the spool")
    env = base_env(state)
    del env["VIGIL_STATE_DIR"]
    env["XDG_STATE_HOME"] = os.path.join(root, "xdg")
    p, _ = run_hook(state, env=env)
    recs, _ = dump(os.path.join(root, "xdg", "vigil", "spool", "spool.vgw"))
    ok(p.returncode == 0 and len(recs) == 1, "XDG_STATE_HOME/vigil is the state directory")
    shutil.rmtree(root)


def test_spool_fails():
    root = new_state()
    state = os.path.join(root, "file")
    with open(state, "w") as f:
        f.write("not a directory")
    p, _ = run_hook(state)
    ok(p.returncode == 0 and p.stdout == b"" and p.stderr == b"",
       "spool impossible: still exit 0 and silent", p)
    p, _ = run_hook(state, ["--verbose"])
    ok(p.returncode == 0 and p.stdout == b"" and b"spool" in p.stderr,
       "--verbose explains the failure on stderr", p.stderr)
    p, _ = run_hook(state, env_extra={"VIGIL_HOOK_DEBUG": "1"})
    ok(p.returncode == 0 and p.stdout == b"" and b"vigil-hook:" in p.stderr,
       "VIGIL_HOOK_DEBUG=1 too")
    env = base_env(state)
    for k in ("VIGIL_STATE_DIR", "XDG_STATE_HOME", "HOME"):
        env.pop(k, None)
    p, _ = run_hook(state, env=env)
    ok(p.returncode == 0 and p.stdout == b"" and p.stderr == b"",
       "no HOME and no state directory: exit 0, silent", p)
    shutil.rmtree(root)


# ---- with a daemon -----------------------------------------------------------------

def test_ok():
    state = new_state()
    fake = Fake(state, "ok")
    p, _ = run_hook(state, ["--agent", "codex"], env_extra={"CLAUDE_PROJECT_DIR": "/p%q"})
    got = fake.received()
    ok(p.returncode == 0 and p.stdout == b"" and p.stderr == b"", "daemon ok: exit 0, silent", p)
    ok(len(got) == 1 and got[0].get("kind") == 1 and got[0]["payload"].encode() == PAYLOAD,
       "daemon received the frame with the payload", got)
    if got and "env" in got[0]:
        e = got[0]["env"]
        ok(e.get("agent") == "codex" and e.get("project_dir") == "/p%q" and UUID7.match(e.get("id", ""))
           and e.get("uid") == str(os.getuid()) and e.get("stdin_len") == str(len(PAYLOAD)),
           "envelope as parsed by an independent reader", e)
    ok(not os.path.exists(spool_of(state)), "acknowledged: nothing spooled")

    # VIGIL_SOCKET points somewhere else: the state dir's socket is not used.
    other = new_state()
    fake2 = Fake(other, "ok", sock=os.path.join(other, "elsewhere.sock"))
    p, _ = run_hook(state, env_extra={"VIGIL_SOCKET": fake2.sock})
    ok(p.returncode == 0 and len(fake2.received()) == 1 and len(fake.received()) == 1,
       "VIGIL_SOCKET is honoured")
    env = base_env(state)
    for k in ("VIGIL_STATE_DIR", "XDG_STATE_HOME", "HOME"):
        env.pop(k, None)
    env["VIGIL_SOCKET"] = fake2.sock
    p, _ = run_hook(state, env=env)
    ok(p.returncode == 0 and len(fake2.received()) == 2,
       "no state directory: VIGIL_SOCKET still reaches the daemon")
    fake2.stop()
    fake.stop()
    shutil.rmtree(state)
    shutil.rmtree(other)


def test_decide():
    state = new_state()
    fake = Fake(state, "decide")
    p, _ = run_hook(state, ["--agent", "claude-code", "--decide"])
    ok(p.returncode == 2, "decision: exit code from the daemon (2)", p.returncode)
    ok(p.stdout == b'{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny"}}\n',
       "decision: stdout is the daemon's bytes", p.stdout)
    ok(p.stderr == b"blocked by fake rule\n", "decision: stderr is the daemon's bytes", p.stderr)
    got = fake.received()
    ok(len(got) == 1 and got[0].get("kind") == 2, "sent as kind DECIDE", got)
    ok(not os.path.exists(spool_of(state)), "decided: nothing spooled")
    fake.stop()
    shutil.rmtree(state)


def test_staged():
    """A blocking hook gets the decision before the event is durable; what it
    spools afterwards records the decision it applied."""
    state = new_state()
    fake = Fake(state, "staged")
    p, _ = run_hook(state, ["--agent", "claude-code", "--decide"])
    got = fake.received()
    ok(p.returncode == 2 and p.stdout.startswith(b'{"hookSpecificOutput"') and
       p.stderr == b"blocked by fake rule\n", "staged: the decision is applied", p)
    ok(len(got) == 1 and got[0].get("flags", 0) & 0x04, "staged: the request says it takes a staged reply", got)
    ok(not os.path.exists(spool_of(state)), "staged and durable: nothing spooled")
    fake.stop()
    shutil.rmtree(state)

    for mode, reason in (("staged-late", "timeout"), ("staged-failed", "failed")):
        for extra in ((), ("--fail-closed",)):
            state = new_state()
            fake = Fake(state, mode)
            p, _ = run_hook(state, ["--agent", "claude-code", "--decide", "--timeout-ms", "400", *extra])
            recs, _ = dump(spool_of(state))
            label = f"{mode}{' fail-closed' if extra else ''}"
            ok(p.returncode == 2 and p.stderr == b"blocked by fake rule\n",
               f"{label}: vigild's decision is applied, not the failure mode", p)
            ok(len(recs) == 1 and recs[0].get("applied") == "deny" and recs[0].get("applied_by") == "rules"
               and recs[0].get("spool_reason") == reason,
               f"{label}: spooled, saying the agent got vigild's deny ({reason})", recs)
            fake.stop()
            shutil.rmtree(state)

    # vigild answers after the deadline: the hook applied its failure mode,
    # and the kernel tells the daemon so (its send fails).
    for extra, code, applied, by in (((), 0, "allow", "fail-open"),
                                     (("--fail-closed",), 2, "deny", "fail-closed")):
        state = new_state()
        fake = Fake(state, "after-deadline")
        p, _ = run_hook(state, ["--agent", "claude-code", "--decide", "--timeout-ms", "400", *extra])
        deadline = time.monotonic() + 10
        late = []
        while time.monotonic() < deadline and not late:
            late = [r for r in fake.received(raw=True) if "late_send" in r]
            time.sleep(0.05)
        recs, _ = dump(spool_of(state))
        ok(p.returncode == code and b"fake rule" not in p.stderr,
           f"late decision, {by}: the hook applied its failure mode", p)
        ok(len(recs) == 1 and recs[0].get("applied") == applied and recs[0].get("applied_by") == by
           and recs[0].get("spool_reason") == "timeout",
           f"late decision, {by}: the spooled copy says {applied} by {by}", recs)
        ok(late and late[0]["late_send"] in ("EPIPE", "ECONNRESET"),
           f"late decision, {by}: the daemon's send after the deadline fails", late)
        fake.stop()
        shutil.rmtree(state)


def expect_spooled(mode, label, args=("--timeout-ms", "400"), spool_name="spool.vgw", limit=None):
    state = new_state()
    fake = Fake(state, mode)
    p, took = run_hook(state, list(args))
    recs, _ = dump(spool_of(state, spool_name))
    ok(p.returncode == 0 and p.stdout == b"" and p.stderr == b"",
       f"{label}: exit 0, nothing printed", p)
    ok(len(recs) == 1 and bytes.fromhex(recs[0]["payload_hex"]) == PAYLOAD,
       f"{label}: the event is in spool/{spool_name}", recs)
    if limit is not None:
        ok(took < limit, f"{label}: returned in {took:.2f}s (deadline 0.4s, limit {limit}s)")
    fake.stop()
    return state


def test_failures():
    # The slack covers sanitizer start-up on a loaded machine; the hook's own
    # bound is the 0.4 s deadline, and without it the run would last until
    # subprocess's 30 s timeout.
    shutil.rmtree(expect_spooled("hang", "daemon never answers", limit=6.0))
    shutil.rmtree(expect_spooled("silent", "daemon never reads", limit=6.0))
    state = new_state()
    fake = Fake(state, "hang")
    p, took = run_hook(state, env_extra={"VIGIL_HOOK_TIMEOUT_MS": "300"})
    recs, _ = dump(spool_of(state))
    ok(p.returncode == 0 and p.stdout == b"" and took < 6.0 and len(recs) == 1,
       f"VIGIL_HOOK_TIMEOUT_MS bounds the run ({took:.2f}s)")
    fake.stop()
    shutil.rmtree(state)
    shutil.rmtree(expect_spooled("close", "daemon closes early"))
    shutil.rmtree(expect_spooled("failed", "daemon answers FAILED"))
    shutil.rmtree(expect_spooled("garbage", "daemon answers garbage"))
    state = expect_spooled("refused", "daemon answers REFUSED", spool_name="rejected.vgw")
    ok(not os.path.exists(spool_of(state)), "refused: not in spool.vgw (it would be refused again)")
    shutil.rmtree(state)

    # A stale socket file with nobody listening.
    state = new_state()
    fake = Fake(state, "ok")
    fake.stop()
    p, _ = run_hook(state)
    recs, _ = dump(spool_of(state))
    ok(p.returncode == 0 and p.stdout == b"" and len(recs) == 1,
       "stale socket (ECONNREFUSED): spooled")
    shutil.rmtree(state)


# ---- stdin ---------------------------------------------------------------------------

def test_stdin():
    state = new_state()
    fake = Fake(state, "ok")
    big = bytes((i * 7) & 0xFF for i in range(256)) * ((MAX_PAYLOAD + 300000) // 256)
    p, _ = run_hook(state, stdin=big, timeout=60)
    got = fake.received()
    ok(p.returncode == 0 and p.stdout == b"", "stdin over the limit: exit 0, silent")
    ok(len(got) == 1 and got[0].get("payload_len") == MAX_PAYLOAD and got[0]["flags"] & 1
       and got[0]["env"].get("stdin_len") == str(len(big)),
       "sent the first 8 MiB, flagged TRUNCATED, stdin_len is the real total",
       [{k: v for k, v in g.items() if k != "payload"} for g in got])
    fake.stop()

    p, _ = run_hook(state, ["--spool-only"], stdin=big[:MAX_PAYLOAD + 1], timeout=60)
    recs, _ = dump(spool_of(state))
    ok(p.returncode == 0 and len(recs) == 1 and recs[0]["payload_len"] == MAX_PAYLOAD
       and recs[0]["flags"] == 1 and recs[0]["stdin_len"] == MAX_PAYLOAD + 1
       and bytes.fromhex(recs[0]["payload_hex"]) == big[:MAX_PAYLOAD],
       "--spool-only with one byte too many: truncated record in the spool")
    shutil.rmtree(state)

    state = new_state()
    p = subprocess.run([HOOK, "--spool-only"], stdin=subprocess.DEVNULL, capture_output=True,
                       env=base_env(state), timeout=30)
    recs, _ = dump(spool_of(state))
    ok(p.returncode == 0 and len(recs) == 1 and recs[0]["payload_len"] == 0,
       "empty stdin: an empty payload")
    p = subprocess.run(["sh", "-c", 'exec "$0" --spool-only <&-', HOOK], capture_output=True,
                       env=base_env(state), timeout=30)
    recs, _ = dump(spool_of(state))
    ok(p.returncode == 0 and p.stdout == b"" and len(recs) == 2 and recs[1]["payload_len"] == 0,
       "closed stdin: an empty payload, stdout stays clean", p)
    master, slave = pty.openpty()
    t0 = time.monotonic()
    p = subprocess.run([HOOK, "--spool-only"], stdin=slave, capture_output=True,
                       env=base_env(state), timeout=30)
    os.close(slave)
    os.close(master)
    recs, _ = dump(spool_of(state))
    ok(p.returncode == 0 and time.monotonic() - t0 < 5 and len(recs) == 3
       and recs[2]["payload_len"] == 0, "stdin a terminal: not read, empty payload")

    # A writer that never closes stdin: the deadline still ends the run.
    r, w = os.pipe()
    os.write(w, b'{"partial":')
    t0 = time.monotonic()
    p = subprocess.run([HOOK, "--timeout-ms", "300"], stdin=r, capture_output=True,
                       env=base_env(state), timeout=30)
    took = time.monotonic() - t0
    os.close(r)
    os.close(w)
    recs, _ = dump(spool_of(state))
    # Flag 0x08 (WIRE_F_STDIN_OPEN), not 0x01 (TRUNCATED): nothing was cut
    # for size, and the daemon must not say so.
    ok(p.returncode == 0 and took < 6.0 and len(recs) == 4 and recs[3]["flags"] == 0x08
       and bytes.fromhex(recs[3]["payload_hex"]) == b'{"partial":',
       f"stdin never closed: partial payload spooled, flagged stdin-open, {took:.2f}s")
    shutil.rmtree(state)


# ---- usage errors, autostart, concurrency ---------------------------------------------

def test_usage_errors():
    state = new_state()
    p, _ = run_hook(state, ["--agent", "bogus"])
    recs, _ = dump(spool_of(state))
    ok(p.returncode == 1 and p.stdout == b"" and b"unknown agent 'bogus'" in p.stderr,
       "unknown agent: one line on stderr, exit 1 (non-blocking), stdout clean", p)
    ok(len(recs) == 1 and recs[0]["agent"] == "other", "the event is still kept (agent 'other')")
    for args, what in ((["--frobnicate"], b"unknown option '--frobnicate'"),
                       (["--timeout-ms", "0"], b"--timeout-ms '0'"),
                       (["--timeout-ms=abc"], b"--timeout-ms 'abc'"),
                       (["--event", "E" * 64], b"too long"),
                       (["--agent"], b"needs a value")):
        p, _ = run_hook(state, args)
        ok(p.returncode == 1 and p.stdout == b"" and what in p.stderr,
           f"bad arguments {args[0][:20]}: clear error, exit 1", p.stderr)
    p, _ = run_hook(state, env_extra={"VIGIL_HOOK_TIMEOUT_MS": "-5"})
    ok(p.returncode == 1 and b"VIGIL_HOOK_TIMEOUT_MS" in p.stderr, "bad VIGIL_HOOK_TIMEOUT_MS")
    recs, _ = dump(spool_of(state))
    ok(len(recs) == 7, "every misconfigured run still spooled its event", len(recs))
    shutil.rmtree(state)


def test_autostart():
    state = new_state()
    bindir = os.path.join(state, "bin")
    os.mkdir(bindir)
    marker = os.path.join(state, "started.json")
    fake = os.path.join(bindir, "vigild")
    with open(fake, "w") as f:
        f.write(f"""#!{sys.executable}
import json, os, sys, time
info = {{"argv": sys.argv[1:], "sid": os.getsid(0), "pgid": os.getpgid(0),
        "stdio": [os.readlink(f"/proc/self/fd/{{i}}") for i in range(3)],
        "fds": sorted(int(x) for x in os.listdir("/proc/self/fd"))}}
with open({marker!r} + ".tmp", "w") as f:
    json.dump(info, f)
os.rename({marker!r} + ".tmp", {marker!r})
time.sleep(6)  # a daemon slow to come up must not hold the hook
""")
    os.chmod(fake, 0o755)
    env = {"PATH": bindir + ":" + os.environ.get("PATH", "")}
    p, took = run_hook(state, ["--autostart"], env_extra=env)
    ok(p.returncode == 0 and p.stdout == b"" and took < 5.0,
       f"--autostart: exit 0 at once ({took:.2f}s), silent", p)
    recs, _ = dump(spool_of(state))
    ok(len(recs) == 1, "--autostart: the event is spooled first")
    for _ in range(300):
        if os.path.exists(marker):
            break
        time.sleep(0.05)
    info = {}
    if os.path.exists(marker):
        with open(marker) as f:
            info = json.load(f)
    ok(info.get("argv") == ["--state-dir", state, "--daemon"], "vigild started with --state-dir and --daemon", info)
    # Double fork: the daemon is in a new session but not its leader, so it
    # can never acquire a controlling terminal.
    ok(info.get("sid") not in (None, os.getsid(0)) and info.get("sid") != os.getpid()
       and info.get("stdio") == ["/dev/null"] * 3,
       "detached: a session of its own, stdio on /dev/null", info)
    ok([fd for fd in info.get("fds", [99]) if fd > 3] == [],
       "no descriptor of the agent leaks into the daemon", info.get("fds"))

    os.unlink(marker)
    p, _ = run_hook(state, env_extra=env)
    time.sleep(1)
    ok(p.returncode == 0 and not os.path.exists(marker), "without --autostart no daemon is started")
    p, _ = run_hook(state, env_extra=dict(env, VIGIL_HOOK_AUTOSTART="1"))
    for _ in range(300):
        if os.path.exists(marker):
            break
        time.sleep(0.05)
    ok(p.returncode == 0 and os.path.exists(marker), "VIGIL_HOOK_AUTOSTART=1 starts it too")
    shutil.rmtree(state)


def test_concurrent():
    state = new_state()
    env = base_env(state)
    # communicate() feeds them one after the other: a long deadline keeps
    # the last ones from giving up on stdin on a loaded machine.
    procs = [subprocess.Popen([HOOK, "--agent", "claude-code", "--timeout-ms", "60000"],
                              stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
             for _ in range(20)]
    outs = [p.communicate(input=PAYLOAD + b"#%d" % i, timeout=60) for i, p in enumerate(procs)]
    recs, dmg = dump(spool_of(state))
    ok(all(p.returncode == 0 for p in procs) and all(o == (b"", b"") for o in outs),
       "20 concurrent hooks, no daemon: all exit 0, silent")
    payloads = sorted(bytes.fromhex(r["payload_hex"]) for r in recs)
    ok(payloads == sorted(PAYLOAD + b"#%d" % i for i in range(20)) and dmg["damage_bytes"] == 0,
       "20 records, each once, no damage", len(recs))
    ok(len({r["id"] for r in recs}) == 20, "20 distinct ids")
    shutil.rmtree(state)


def main():
    for t in (test_cli, test_libc_only, test_no_daemon, test_fresh_state_dir, test_spool_fails,
              test_ok, test_decide, test_staged, test_failures, test_stdin, test_usage_errors,
              test_autostart, test_concurrent):
        try:
            t()
        except Exception as e:  # a crash of the test itself is a failure, not a pass
            ok(False, f"{t.__name__} raised {type(e).__name__}: {e}")
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
