#!/usr/bin/env python3
"""test_activation.py - vigild takes its socket from systemd (socket activation).

What systemd does for vigild.socket is done here by hand: bind and listen on a
unix socket, then start vigild with the socket as descriptor 3 and LISTEN_PID /
LISTEN_FDS set (sd_listen_fds(3)).  vigild must serve hooks and vigil on it,
leave it in place when it stops (systemd owns it), and a connection made while
it is down must wait in the socket's backlog and be answered once it is back.
A descriptor that is not a listening unix socket, or more than one, is refused.

    test_activation.py BUILD_DIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1]
VIGIL = os.path.join(BUILD, "src/cli/vigil")
VIGILD = os.path.join(BUILD, "src/daemon/vigild")
HOOK = os.path.join(BUILD, "src/hook/vigil-hook")

n = 0
failed = 0


def ok(cond, name, diag=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name))
    if not cond:
        failed += 1
        for line in str(diag).splitlines()[:30]:
            print("#   " + line)
    sys.stdout.flush()


T = tempfile.mkdtemp(prefix="vigil-activation.")
STATE = os.path.join(T, "state")
RUN = os.path.join(T, "run")
SOCK = os.path.join(RUN, "vigild.sock")
ENV = dict(os.environ, VIGIL_STATE_DIR=STATE, VIGIL_SOCKET=SOCK)
for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
    ENV.pop(k, None)
procs = []


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(T, ignore_errors=True)


def activated(fd, nfds=1, pid_offset=0, extra=()):
    """Starts vigild as systemd would: fd as descriptor 3 (and nfds of them)."""
    log = open(os.path.join(T, "vigild-%d.log" % len(procs)), "w")

    def child():
        # In the child, after fork: the descriptors from 3 on.
        for i in range(nfds):
            os.dup2(fd, 3 + i)

    # LISTEN_PID is the pid of the process that execs vigild: sh's $$, kept by exec.
    env = dict(ENV, LISTEN_FDS=str(nfds), PID_OFFSET=str(pid_offset))
    p = subprocess.Popen(
        ["sh", "-c", 'LISTEN_PID=$(($$ + PID_OFFSET)) exec "$@"', "sh",
         VIGILD, "--state-dir", STATE, "--socket", SOCK] + list(extra),
        env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        preexec_fn=child, pass_fds=(fd,), close_fds=True)
    procs.append(p)
    p.logfile = log.name
    return p


def vigil(*args, timeout=30):
    return subprocess.run([VIGIL] + list(args), env=ENV, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def wait_status(p, secs=30):
    end = time.time() + secs
    while time.time() < end:
        if p.poll() is not None:
            return None
        r = vigil("status", "--json")
        if r.returncode == 0:
            return json.loads(r.stdout)
        time.sleep(0.1)
    return None


def log_of(p):
    with open(p.logfile) as f:
        return f.read()


def hook(session, prompt, timeout_ms=2000):
    payload = json.dumps({"session_id": session, "cwd": "/tmp",
                          "hook_event_name": "UserPromptSubmit", "prompt": prompt})
    return subprocess.Popen([HOOK, "--agent", "claude-code", "--timeout-ms", str(timeout_ms)],
                            env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True), payload


def recorded(marker, secs=30):
    """Whether an event whose prompt holds marker is in the ledger (vigil events)."""
    end = time.time() + secs
    while time.time() < end:
        r = vigil("events", "--text", marker, "--json")
        if r.returncode == 0 and marker in r.stdout:
            return True
        time.sleep(0.2)
    return False


def spooled_bytes():
    d = os.path.join(STATE, "spool")
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)) \
        if os.path.isdir(d) else 0


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def main():
    r = vigil("keys", "init")
    if r.returncode != 0:
        ok(False, "vigil keys init", r.stderr)
        return
    os.makedirs(RUN, mode=0o700)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    lsock.bind(SOCK)
    os.umask(old)
    lsock.listen(128)
    lfd = lsock.fileno()

    # ---- vigild serves on the socket it was given -------------------------------
    d = activated(lfd)
    st = wait_status(d)
    ok(st is not None, "vigild started with LISTEN_FDS=1 answers `vigil status` on the passed socket",
       log_of(d))
    ok(st is not None and st.get("socket", SOCK) == SOCK,
       "status names the passed socket's path", json.dumps(st)[:2000])
    hp, payload = hook("act-1", "activationlivemarker")
    out, err = hp.communicate(payload, timeout=30)
    ok(hp.returncode == 0 and spooled_bytes() == 0,
       "vigil-hook's event is acknowledged on it (exit 0, nothing spooled)", err)
    ok(recorded("activationlivemarker"), "the event is in the ledger and the index")

    # ---- stopping leaves the socket to systemd ------------------------------------
    rc = stop(d)
    ok(rc == 0, "vigild stops cleanly on SIGTERM (exit %s)" % rc, log_of(d))
    ok(os.path.exists(SOCK), "the socket file is still there after vigild stopped (systemd owns it)")
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    try:
        c.connect(SOCK)
        connected = True
    except OSError as e:
        connected = e
    c.close()
    ok(connected is True, "while vigild is down, a connection is accepted into the backlog",
       connected)

    # ---- connections made while it is down are served once it is back ----------------
    status_proc = subprocess.Popen([VIGIL, "status", "--json"], env=ENV,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
    hp, payload = hook("act-2", "activationwaitingmarker", timeout_ms=20000)
    hp.stdin.write(payload)
    hp.stdin.close()
    time.sleep(0.5)
    ok(status_proc.poll() is None and hp.poll() is None,
       "`vigil status` and vigil-hook wait (no connection refused) while vigild is down")
    d = activated(lfd)
    try:
        out, err = status_proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        status_proc.kill()
        out, err = status_proc.communicate()
    ok(status_proc.returncode == 0 and '"pid"' in out,
       "the waiting `vigil status` is answered by the restarted vigild", out + err + log_of(d))
    hp.wait(60)
    ok(hp.returncode == 0 and spooled_bytes() == 0,
       "the waiting hook's event is acknowledged live, not spooled", hp.stderr.read())
    ok(recorded("activationwaitingmarker"), "and it is in the ledger")
    ok(stop(d) == 0, "vigild stops cleanly again", log_of(d))

    # ---- what is not ours, or not a socket ---------------------------------------------
    # LISTEN_PID of another process: the variables are not ours; vigild binds its
    # own socket, which it may not do while something listens there.
    other = os.path.join(RUN, "other.sock")
    d = activated(lfd, pid_offset=1, extra=["--socket", other])
    st = wait_status_at(d, other)
    ok(st, "LISTEN_PID of another process: ignored, vigild binds its own socket", log_of(d))
    stop(d)
    with open(os.path.join(T, "plain"), "w") as f:
        f.write("x")
    ffd = os.open(os.path.join(T, "plain"), os.O_RDONLY)
    d = activated(ffd)
    rc = d.wait(30)
    ok(rc == 3 and "not a socket" in log_of(d),
       "descriptor 3 a regular file: refused, exit 3 (%s)" % rc, log_of(d))
    os.close(ffd)
    d = activated(lfd, nfds=2)
    rc = d.wait(30)
    ok(rc == 3 and "exactly one socket" in log_of(d),
       "LISTEN_FDS=2: refused, exit 3 (%s)" % rc, log_of(d))
    lsock.close()


def wait_status_at(p, sock, secs=30):
    env = dict(ENV, VIGIL_SOCKET=sock)
    end = time.time() + secs
    while time.time() < end and p.poll() is None:
        if subprocess.run([VIGIL, "status"], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True).returncode == 0:
            return True
        time.sleep(0.1)
    return False


try:
    main()
finally:
    cleanup()
print("1..%d" % n)
sys.exit(1 if failed else 0)
