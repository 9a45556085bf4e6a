#!/usr/bin/env python3
"""test_claude_e2e.py - vigil end to end with the REAL Claude Code CLI.  Prints TAP.

    test_claude_e2e.py --build-root BUILD --source-root SRC [--keep]

Installs the pinned Claude Code (scripts/install-claude), makes a scratch HOME, a git
project and a vigil state directory, creates keys, starts the daemon, installs vigil's
hooks with `vigil install --project`, and runs `claude -p` offline against the
stand-in Messages API (standin_api.py), whose scripted session makes the client run
Bash, Read, Write, Edit, Grep, a failing Bash and a subagent (Grep, Glob).  Next to
vigil's hooks a logging hook (settings.local.json, same events) records exactly what
the client fired: the ground truth.  Then it checks that every one of those events
is in the ledger (read here, byte by byte, independently of vigil's code) and in the
index (vigil events/sessions/replay/sql) with the right fields, that the subagent
tree and the Pre/Post pairs are right, that the file hashes match the files on disk,
and that `vigil verify` passes.  docs/testing.md explains it.

Skips (TAP `1..0 # SKIP`) when VIGIL_E2E=0, or when Claude Code cannot be installed
and CI is not set; with CI=true an install failure is a failure.  --keep keeps the
scratch directory and prints where it is.
"""

import argparse
import collections
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_session as es  # noqa: E402
import standin_api as sa  # noqa: E402

# Events vigil must hook (issue 3) and the client fires in this session.
REQUIRED_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure",
                   "SubagentStart", "SubagentStop", "Stop", "SessionEnd"]
# Blocking events: vigil-hook waits for the daemon's decision (--decide) on these only.
DECIDE_EVENTS = ["PreToolUse", "UserPromptSubmit", "PermissionRequest"]
EVENT_TYPE = {"Bash": "command_execution", "Read": "file_read", "Write": "file_write", "Edit": "file_edit",
              "Grep": "code_search", "Glob": "file_search", "Agent": "sub_agent_delegation"}
HOOK_EVENT_TYPE = {"SessionStart": "session_start", "SessionEnd": "session_end", "UserPromptSubmit": "user_prompt",
                   "Stop": "stop", "SubagentStart": "subagent_start", "SubagentStop": "subagent_stop"}
TOOL_HOOKS = ("PreToolUse", "PostToolUse", "PostToolUseFailure")
# How long the index may lag behind the ledger before the test gives up on it.
INDEX_WAIT = 30


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name), flush=True)
        if not cond:
            self.failed += 1
            for line in str(diag or "").splitlines()[:30]:
                print("#   " + line, flush=True)
        return bool(cond)

    def note(self, msg):
        for line in str(msg).splitlines():
            print("# " + line, flush=True)

    def finish(self):
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


def key_of(hook, tool_use_id, agent_id):
    return (hook or "", tool_use_id or "", agent_id or "")


def parse_json_output(text):
    """A command's --json output: one document, or one JSON object per line."""
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            out.append(json.loads(line))
    return out


def as_rows(doc, *names):
    """The list of objects in a --json answer: the document itself when it is a list,
    else the first of names that holds a list."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for n in names:
            if isinstance(doc.get(n), list):
                return doc[n]
        return [doc]  # one object per line, and there was one line
    return []


def walk(doc):
    """Every dict inside a JSON document."""
    stack = [doc]
    while stack:
        d = stack.pop()
        if isinstance(d, dict):
            yield d
            stack.extend(d.values())
        elif isinstance(d, list):
            stack.extend(d)


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


def write_logger(path, log):
    """The ground-truth hook: appends its stdin as one line with one write()."""
    with open(path, "w") as f:
        f.write("#!%s\n" % sys.executable)
        f.write("import os, sys\n"
                "data = sys.stdin.buffer.read().replace(b'\\n', b' ') + b'\\n'\n"
                "fd = os.open(%r, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)\n"
                "os.write(fd, data)\n" % log)
    os.chmod(path, 0o755)


def hook_commands(settings, event):
    out = []
    for group in (settings.get("hooks") or {}).get(event) or []:
        for h in group.get("hooks") or []:
            if isinstance(h, dict) and isinstance(h.get("command"), str):
                out.append(h["command"])
    return out


def fallback_settings(path, hook, state):
    """Used only when this build has no `vigil install`: vigil-hook on the required events."""
    hooks = {}
    for ev in REQUIRED_EVENTS:
        cmd = "VIGIL_STATE_DIR='%s' '%s' --agent claude-code" % (state, hook)
        if ev in DECIDE_EVENTS:
            cmd += " --decide"
        hooks[ev] = [{"matcher": "*", "hooks": [{"type": "command", "command": cmd, "timeout": 30}]}]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"hooks": hooks}, f, indent=2)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args(argv)
    build_root = os.path.abspath(a.build_root)
    source_root = os.path.abspath(a.source_root)

    if os.environ.get("VIGIL_E2E") == "0":
        print("1..0 # SKIP VIGIL_E2E=0")
        return 0
    claude, why = es.find_claude(source_root)
    if claude is None:
        # A VIGIL_CLAUDE that names nothing runnable is a mistake, not a missing tool.
        if os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get("VIGIL_CLAUDE"):
            print("not ok 1 - the pinned Claude Code CLI is installed")
            for line in why.splitlines():
                print("#   " + line)
            print("1..1")
            return 1
        print("1..0 # SKIP %s (CI would fail here)" % why.splitlines()[-1])
        return 0

    tap = Tap()
    top = tempfile.mkdtemp(prefix="vigil-e2e-")
    live = {}  # what run_test started, stopped here whatever happens
    try:
        run_test(tap, claude, es.find_vigil(build_root), top, live)
    finally:
        for name in ("standin", "standin2"):
            if live.get(name):
                live[name].stop()
        if live.get("daemon"):
            live["daemon"].stop()
        if a.keep:
            tap.note("kept %s" % top)
        else:
            es.rmtree(top)
    return tap.finish()


def run_test(tap, claude, bins, top, live):
    home, proj, state = (os.path.join(top, d) for d in ("home", "project", "state"))
    os.makedirs(home)
    os.makedirs(state, mode=0o700)
    es.make_project(proj)
    proj = os.path.realpath(proj)
    env = es.base_env(home)
    vigil = bins["vigil"]
    tap.note("claude: %s; vigil: %s; vigild: %s; vigil-hook: %s" % (claude, vigil, bins["vigild"], bins["vigil-hook"]))
    if not tap.ok(vigil is not None, "the vigil CLI is built"):
        return

    def V(*args, timeout=60):
        return es.run([vigil, "--state-dir", state] + list(args), env, timeout=timeout, cwd=proj)

    # ---- keys, daemon, hooks ------------------------------------------------------------
    verify_key = os.path.join(top, "verify.key")
    rc, out, err = V("keys", "init", "--verify-key-out", verify_key)
    tap.ok(rc == 0, "vigil keys init", err)

    daemon = live["daemon"] = es.Daemon(bins, state, env, os.path.join(top, "vigild.log"))
    problem = daemon.start()
    tap.ok(problem is None, "the daemon starts (%s)" % daemon.how, problem)

    settings_path = os.path.join(proj, ".claude", "settings.json")
    if es.vigil_has(vigil, "install", env):
        # In a build tree vigil-hook is not next to vigil (src/hook vs src/cli): name it.
        hook_args = ["--hook", bins["vigil-hook"]] if bins["vigil-hook"] else []
        rc, out, err = V("install", "--project", "--dir", proj, *hook_args)
        tap.ok(rc == 0, "vigil install --project adds the hooks", err or out)
    else:
        tap.ok(False, "vigil install --project adds the hooks", "this build has no 'vigil install'")
        if bins["vigil-hook"]:
            fallback_settings(settings_path, bins["vigil-hook"], state)
    try:
        with open(settings_path) as f:
            settings = json.load(f)
    except (OSError, ValueError) as e:
        settings = {}
        tap.ok(False, "%s is valid JSON" % os.path.relpath(settings_path, proj), e)
    hooked = sorted((settings.get("hooks") or {}).keys())
    missing = [ev for ev in REQUIRED_EVENTS if not any("vigil-hook" in c for c in hook_commands(settings, ev))]
    tap.ok(not missing, "settings.json hooks vigil-hook on every event that matters", "missing: %s" % missing)
    bad = [] if any("vigil-hook" in c for ev in hooked for c in hook_commands(settings, ev)) else ["no vigil-hook"]
    for ev in hooked:
        for c in hook_commands(settings, ev):
            if "vigil-hook" not in c:
                continue
            if "--agent claude-code" not in c:
                bad.append("%s: no --agent claude-code: %s" % (ev, c))
            if (ev in DECIDE_EVENTS) != ("--decide" in c):
                bad.append("%s: --decide %s: %s" % (ev, "missing" if ev in DECIDE_EVENTS else "unexpected", c))
            if state not in c:
                bad.append("%s: the command does not name the state directory: %s" % (ev, c))
    tap.ok(not bad, "each hook command is vigil-hook --agent claude-code (--decide on blocking events), "
           "with the state directory", "\n".join(bad))

    # The ground truth: a logging hook on every event vigil hooked, in the file Claude
    # Code merges with settings.json.
    truth_log = os.path.join(top, "fired.jsonl")
    logger = os.path.join(top, "log-hook.py")
    write_logger(logger, truth_log)
    local = {"hooks": {ev: [{"matcher": "*", "hooks": [{"type": "command", "command": logger}]}]
                       for ev in sorted(set(hooked) | set(REQUIRED_EVENTS))}}
    os.makedirs(os.path.join(proj, ".claude"), exist_ok=True)
    with open(os.path.join(proj, ".claude", "settings.local.json"), "w") as f:
        json.dump(local, f, indent=2)

    # ---- the session ----------------------------------------------------------------------
    api_log = os.path.join(top, "api.jsonl")
    standin = live["standin"] = es.Standin(proj, api_log)
    r = es.run_claude(claude, proj, es.claude_env(home, standin.port), timeout=240,
                      stream_path=os.path.join(top, "stream.jsonl"))
    tap.ok(r["rc"] == 0 and not r["timed_out"], "claude -p exits 0 within the time limit (%.1f s)" % r["seconds"],
           "rc %s, timed out %s\n%s" % (r["rc"], r["timed_out"], r["stderr"][-2000:]))
    res = r["result"] or {}
    tap.ok(res.get("subtype") == "success" and res.get("is_error") is False and res.get("result") == sa.FINAL_TEXT,
           "stream-json ends with a successful result carrying the scripted final text",
           json.dumps(res)[:1500] or "no result event")
    tap.ok(res.get("permission_denials") == [], "no tool call was denied (vigil allows until rules exist)",
           json.dumps(res.get("permission_denials")))
    sid = r["session_id"]
    tap.ok(bool(sid), "stream-json names the session id", None)
    # Claude Code reports SessionStart hooks in stream-json: vigil-hook must say nothing
    # (its stdout would go into the model's context) and exit 0.
    answers = [e for e in r["events"] if e.get("type") == "system" and e.get("subtype") == "hook_response"]
    tap.ok(answers and all(e.get("exit_code") == 0 and not e.get("stdout") and not e.get("stderr") for e in answers),
           "the SessionStart hooks exit 0 with no output (%d hook responses in stream-json)" % len(answers),
           json.dumps(answers)[:1500])

    reqs = standin.requests()
    calls = [q for q in reqs if q.get("tool")]
    main_calls = [q for q in calls if q["conv"] == "main"]
    sub_calls = [q for q in calls if q["conv"] == "subagent"]
    finals = [q for q in reqs if q.get("final")]
    want_main = [t for t, _ in sa.main_script(proj)]
    want_sub = [t for t, _ in sa.sub_script(proj)]
    got_main = [q["tool"] for q in sorted(main_calls, key=lambda q: q["step"])]
    got_sub = [q["tool"] for q in sorted(sub_calls, key=lambda q: q["step"])]
    # A retried request repeats a step: count distinct steps.
    tap.ok(sorted({q["step"] for q in main_calls}) == list(range(len(want_main))) and
           sorted({q["step"] for q in sub_calls}) == list(range(len(want_sub))) and
           {q["conv"] for q in finals} == {"main", "subagent"},
           "the client went through every scripted turn (main: %s; subagent: %s)" %
           (", ".join(want_main), ", ".join(want_sub)), "main %s, subagent %s" % (got_main, got_sub))
    tool_calls = {}
    for q in calls:
        tool_calls[q["tool_use_id"]] = q
    agent_call = next((q["tool_use_id"] for q in main_calls if q["tool"] == "Agent"), None)
    fail_call = next((q["tool_use_id"] for q in main_calls if q["tool"] == "Bash" and sa.FAIL_MARKER in
                      q["input"]["command"]), None)

    notes = os.path.join(proj, sa.NOTES)
    edited = sa.NOTES_CONTENT.replace("status: draft", "status: final\nreviewed: yes")
    try:
        disk = open(notes).read()
    except OSError as e:
        disk = "(%s)" % e
    tap.ok(disk == edited, "the real Write and Edit tools changed the file on disk", repr(disk))

    # What the client fired, from the logging hook.
    fired = []
    try:
        with open(truth_log) as f:
            fired = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        tap.note("cannot read %s: %s" % (truth_log, e))
    fired = [p for p in fired if p.get("session_id") == sid]
    counts = collections.Counter((p.get("hook_event_name"), p.get("tool_name")) for p in fired)
    want = collections.Counter()
    want[("SessionStart", None)] = 1
    want[("UserPromptSubmit", None)] = 1
    for q in tool_calls.values():
        want[("PreToolUse", q["tool"])] += 1
        want[("PostToolUseFailure" if q["tool_use_id"] == fail_call else "PostToolUse", q["tool"])] += 1
    for ev in ("SubagentStart", "SubagentStop", "Stop", "SessionEnd"):
        want[(ev, None)] = 1
    diff = {"%s/%s" % k: (counts.get(k, 0), v) for k, v in want.items() if counts.get(k, 0) != v}
    tap.ok(not diff, "the client fired SessionStart, UserPromptSubmit, a Pre and a Post per scripted tool call "
           "(PostToolUseFailure for the failing Bash), SubagentStart/Stop, Stop and SessionEnd",
           "event/tool: (fired, expected) %s" % diff)
    sub_start = next((p for p in fired if p.get("hook_event_name") == "SubagentStart"), {})
    agent_id = sub_start.get("agent_id")

    # ---- the index (the daemon writes it after the ledger commit) ------------------------
    index_db = os.path.join(state, "index.db")
    n_fired = len(fired)
    deadline = time.monotonic() + INDEX_WAIT
    indexed = -1
    while time.monotonic() < deadline:
        try:
            con = sqlite3.connect("file:%s?mode=ro" % index_db, uri=True, timeout=5)
            indexed = con.execute("SELECT count(*) FROM events WHERE session_id = ?", (sid,)).fetchone()[0]
            con.close()
        except sqlite3.Error:
            indexed = -1
        if indexed >= n_fired:
            break
        time.sleep(0.2)
    tap.ok(indexed >= n_fired, "the index holds the session's events within %d s (%d of %d)" %
           (INDEX_WAIT, max(indexed, 0), n_fired), "index.db %s" % ("missing" if indexed < 0 else "behind"))
    check_index(tap, V, sid, fired, tool_calls, agent_call, fail_call, agent_id, proj)

    # ---- a second session whose first model request is refused once (529) ----------------
    retry = retry_session(tap, V, bins, claude, home, top, state, hooked, live)

    # ---- stop, then the ledger and verify -------------------------------------------------
    problem = daemon.stop()
    tap.ok(problem is None, "the daemon stops cleanly", problem)
    events, problems = es.ledger_events(os.path.join(state, "ledger"))
    tap.ok(not problems, "the ledger's frames all read back with good CRCs (%d events)" % len(events),
           "\n".join(problems))
    sessions = {e.get("session_id") for e in events if e.get("hook") != "vigil"}
    want_sessions = {sid, retry["sid"]} if retry else {sid}
    tap.ok(sessions == want_sessions, "ledger: the events belong to the sessions run, no others (%d)" % len(sessions),
           "got %s, want %s" % (sorted(map(str, sessions)), sorted(map(str, want_sessions))))
    check_events(tap, "ledger", events, sid, fired, tool_calls, agent_call, fail_call, agent_id, proj)
    if retry:
        got = collections.Counter(key_of(e.get("hook"), e.get("tool_use_id"), e.get("agent_id")) for e in events
                                  if e.get("session_id") == retry["sid"] and e.get("hook") != "vigil")
        want = collections.Counter(key_of(p.get("hook_event_name"), p.get("tool_use_id"), p.get("agent_id"))
                                   for p in retry["fired"])
        tap.ok(got == want and sum(want.values()) > 0,
               "ledger: the retried session's events are all there once (%d)" % sum(want.values()),
               "lost: %s\nextra: %s" % (sorted((want - got).elements()), sorted((got - want).elements())))

    rc, out, err = V("verify", timeout=120)
    tap.ok(rc == 0, "vigil verify passes (exit 0)", "exit %d\n%s%s" % (rc, out[-1500:], err[-500:]))
    rc, out, err = V("verify", "--mac-key", "file:" + verify_key, "--quiet", timeout=120)
    tap.ok(rc == 0, "vigil verify --mac-key (the forward-secure MAC) passes", "exit %d\n%s%s" % (rc, out, err))
    rc, out, err = V("reindex", timeout=120)
    if tap.ok(rc == 0, "vigil reindex rebuilds the index from the ledger", err or out):
        rc, out, err = V("events", "--session", sid, "--limit", "10000", "--json")
        rows = as_rows(parse_json_output(out) if rc == 0 else None, "events")
        tap.ok(collections.Counter(key_of(e.get("hook"), e.get("tool_use_id"), e.get("agent_id")) for e in rows) ==
               collections.Counter(key_of(e.get("hook"), e.get("tool_use_id"), e.get("agent_id")) for e in events
                                   if e.get("session_id") == sid),
               "after reindex, vigil events lists exactly the ledger's events", err)


def retry_session(tap, V, bins, claude, home, top, state, hooked, live):
    """Runs the scripted session once more in a second project, the stand-in refusing the
    first model request with 529 (overloaded): the client retries, and vigil must record
    the session once, with no event lost or doubled.  Returns {sid, fired} or None."""
    proj = os.path.join(top, "project2")
    es.make_project(proj)
    proj = os.path.realpath(proj)
    hook_args = ["--hook", bins["vigil-hook"]] if bins["vigil-hook"] else []
    rc, out, err = V("install", "--project", "--dir", proj, *hook_args)
    if not tap.ok(rc == 0, "vigil install --project in a second project", err or out):
        return None
    log = os.path.join(top, "fired2.jsonl")
    write_logger(os.path.join(top, "log-hook2.py"), log)
    with open(os.path.join(proj, ".claude", "settings.local.json"), "w") as f:
        json.dump({"hooks": {ev: [{"matcher": "*", "hooks": [{"type": "command",
                                                              "command": os.path.join(top, "log-hook2.py")}]}]
                             for ev in sorted(set(hooked) | set(REQUIRED_EVENTS))}}, f)
    standin = live["standin2"] = es.Standin(proj, os.path.join(top, "api2.jsonl"), fail_first=529)
    r = es.run_claude(claude, proj, es.claude_env(home, standin.port), timeout=240,
                      stream_path=os.path.join(top, "stream2.jsonl"))
    standin.stop()
    res = r["result"] or {}
    retries = [e for e in r["events"] if e.get("type") == "system" and e.get("subtype") == "api_retry"]
    refused = [q for q in standin.requests() if q.get("answer") == "529"]
    tap.ok(r["rc"] == 0 and res.get("subtype") == "success" and len(refused) == 1 and retries and
           retries[0].get("error_status") == 529,
           "after one 529 the client retries (stream-json api_retry) and the session succeeds",
           "rc %s, result %s, retries %s, refused %d" % (r["rc"], json.dumps(res)[:300], json.dumps(retries)[:300],
                                                        len(refused)))
    fired = []
    try:
        with open(log) as f:
            fired = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        pass
    n_pre = sum(1 for p in fired if p.get("hook_event_name") == "PreToolUse")
    tap.ok(n_pre == len(sa.main_script(proj)) + len(sa.sub_script(proj)),
           "the retried session ran every scripted tool call once (%d PreToolUse)" % n_pre, None)
    return {"sid": r["session_id"], "fired": [p for p in fired if p.get("session_id") == r["session_id"]]}


def check_events(tap, where, events, sid, fired, tool_calls, agent_call, fail_call, agent_id, proj):
    """The per-field checks, over schema-v1 event objects from the ledger or the index."""
    # This session's events; synthetic ones (hook "vigil": tool_abandoned) aside.
    real = [e for e in events if e.get("hook") != "vigil" and e.get("session_id") == sid]
    if not tap.ok(real, "%s: holds events (%d)" % (where, len(real)), "none: the checks of its fields are skipped"):
        return
    ids = [e.get("id") for e in real]
    tap.ok(len(ids) == len(set(ids)) and all(ids), "%s: every event has an id, none twice" % where,
           "%d ids, %d distinct" % (len(ids), len(set(ids))))
    got = collections.Counter(key_of(e.get("hook"), e.get("tool_use_id"), e.get("agent_id")) for e in real)
    want = collections.Counter(key_of(p.get("hook_event_name"), p.get("tool_use_id"), p.get("agent_id"))
                               for p in fired)
    lost = want - got
    extra = got - want
    tap.ok(not lost and not extra, "%s: every event the client fired is there once (%d), and nothing else" %
           (where, sum(want.values())), "lost: %s\nextra: %s" % (sorted(lost.elements()), sorted(extra.elements())))

    by_key = collections.defaultdict(list)
    for e in real:
        by_key[(e.get("hook"), e.get("tool_use_id"))].append(e)

    bad = []
    for e in real:
        hook = e.get("hook")
        if hook in TOOL_HOOKS and e.get("tool") in EVENT_TYPE:
            if e.get("event_type") != EVENT_TYPE[e["tool"]]:
                bad.append("%s %s: event_type %s" % (hook, e["tool"], e.get("event_type")))
        elif hook in HOOK_EVENT_TYPE and e.get("event_type") != HOOK_EVENT_TYPE[hook]:
            bad.append("%s: event_type %s" % (hook, e.get("event_type")))
    tap.ok(not bad, "%s: event_type is right for every hook and tool" % where, "\n".join(bad))

    bad = []
    for tid, q in tool_calls.items():
        want_target = {"Bash": q["input"].get("command"), "Read": q["input"].get("file_path"),
                       "Write": q["input"].get("file_path"), "Edit": q["input"].get("file_path"),
                       "Grep": q["input"].get("pattern"), "Glob": q["input"].get("pattern")}.get(q["tool"])
        for hook in TOOL_HOOKS:
            for e in by_key.get((hook, tid), []):
                if e.get("tool") != q["tool"]:
                    bad.append("%s %s: tool %s" % (hook, tid, e.get("tool")))
                if want_target is not None and e.get("target") != want_target:
                    bad.append("%s %s: target %r, want %r" % (hook, tid, e.get("target"), want_target))
    tap.ok(not bad, "%s: tool and target are right on every Pre and Post" % where, "\n".join(bad))

    posts = [e for e in real if e.get("hook") in ("PostToolUse", "PostToolUseFailure")]
    failing = [e for e in posts if e.get("tool_use_id") == fail_call]
    tap.ok(len(failing) == 1 and failing[0].get("hook") == "PostToolUseFailure" and
           failing[0].get("outcome") == "failure" and "Exit code 1" in (failing[0].get("error") or ""),
           "%s: the failing Bash is outcome failure with the client's error" % where,
           json.dumps(failing)[:1500])
    bad = ["%s %s: outcome %s" % (e.get("tool"), e.get("tool_use_id"), e.get("outcome"))
           for e in posts if e.get("tool_use_id") != fail_call and e.get("outcome") != "success"]
    bad += ["%s %s: duration_ms %r" % (e.get("tool"), e.get("tool_use_id"), e.get("duration_ms"))
            for e in posts if not isinstance(e.get("duration_ms"), int) or e["duration_ms"] < 0]
    tap.ok(not bad and posts, "%s: the other Posts are outcome success, every Post has a duration" % where,
           "\n".join(bad))

    sub_tids = {tid for tid, q in tool_calls.items() if q["conv"] == "subagent"}
    bad = []
    for e in real:
        # Events with neither a tool call nor a subagent hook (PostToolBatch fires in both
        # conversations) are covered by the match against the ground truth above.
        inside = e.get("tool_use_id") in sub_tids or e.get("hook") in ("SubagentStart", "SubagentStop")
        if not inside and e.get("tool_use_id") not in tool_calls:
            continue
        if inside and e.get("agent_id") != agent_id:
            bad.append("%s %s: agent_id %r, want %r" % (e.get("hook"), e.get("tool_use_id"), e.get("agent_id"),
                                                        agent_id))
        if not inside and e.get("agent_id"):
            bad.append("%s %s: main-agent event with agent_id %r" % (e.get("hook"), e.get("tool_use_id"),
                                                                     e.get("agent_id")))
    tap.ok(agent_id and not bad, "%s: the subagent's events (and only they) carry its agent_id" % where,
           "\n".join(bad))
    start = [e for e in real if e.get("hook") == "SubagentStart"]
    tap.ok(len(start) == 1 and start[0].get("parent_tool_use_id") == agent_call,
           "%s: SubagentStart's parent_tool_use_id is the Agent call's tool_use_id (%s)" % (where, agent_call),
           json.dumps(start)[:1500])
    inner = [e for e in real if e.get("tool_use_id") in sub_tids]
    tap.ok(inner and all(e.get("parent_tool_use_id") == agent_call for e in inner),
           "%s: the subagent's tool events name the Agent call as parent" % where,
           "\n".join("%s %s: %r" % (e.get("hook"), e.get("tool"), e.get("parent_tool_use_id")) for e in inner))

    # File changes: the hashes must be those of the real bytes.
    writes = [e for e in posts if e.get("tool") == "Write"]
    edits = [e for e in posts if e.get("tool") == "Edit"]
    disk = es.sha256_file(os.path.join(proj, sa.NOTES))
    wfc = (writes[0].get("file_change") if writes else None) or {}
    efc = (edits[0].get("file_change") if edits else None) or {}
    tap.ok(wfc.get("created") is True and wfc.get("after_sha256") == sha256(sa.NOTES_CONTENT) and
           wfc.get("lines_added") == sa.NOTES_CONTENT.count("\n") and "before_sha256" not in wfc,
           "%s: the Write's file_change: created, after_sha256 of the written bytes, lines added" % where,
           json.dumps(wfc))
    tap.ok(efc.get("before_sha256") == sha256(sa.NOTES_CONTENT) and efc.get("after_sha256") == disk and
           efc.get("lines_added") == 2 and efc.get("lines_removed") == 1,
           "%s: the Edit's file_change: before = the written file, after = sha256 of the file on disk, +2 -1" % where,
           json.dumps(efc))

    bad = []
    for e in real:
        if (e.get("project") or {}).get("root") != proj:
            bad.append("%s %s: project %r" % (e.get("hook"), e.get("tool"), e.get("project")))
        if e.get("tool") in ("Read", "Write", "Edit") and e.get("outside_project_scope") is not False:
            bad.append("%s %s: outside_project_scope %r" % (e.get("hook"), e.get("tool"),
                                                            e.get("outside_project_scope")))
        if len(e.get("payload_sha256") or "") != 64 or not isinstance(e.get("payload"), dict):
            bad.append("%s %s: payload / payload_sha256 missing" % (e.get("hook"), e.get("tool")))
    tap.ok(not bad, "%s: project root is the git root, file tools are in scope, payload kept with its sha256" % where,
           "\n".join(bad[:20]))


def check_index(tap, V, sid, fired, tool_calls, agent_call, fail_call, agent_id, proj):
    """The query commands over the live index."""
    rc, out, err = V("events", "--session", sid, "--limit", "10000", "--json")
    rows = []
    try:
        rows = as_rows(parse_json_output(out), "events") if rc == 0 else []
    except ValueError as e:
        err = "bad JSON: %s" % e
    tap.ok(rc == 0 and rows, "vigil events --session --json lists the session (%d events)" % len(rows), err)
    if rows:
        check_events(tap, "index", rows, sid, fired, tool_calls, agent_call, fail_call, agent_id, proj)
        tap.ok(all(isinstance(e.get("seq"), int) and e["seq"] > 0 for e in rows),
               "index: every listed event has its ledger seq", None)

    rc, out, err = V("events", "--session", sid, "--tool", "Bash", "--json")
    try:
        bash = as_rows(parse_json_output(out), "events") if rc == 0 else []
    except ValueError:
        bash = []
    n_bash = sum(1 for p in fired if p.get("tool_name") == "Bash")
    tap.ok(len(bash) == n_bash and all(e.get("tool") == "Bash" for e in bash),
           "vigil events --tool Bash filters (%d of %d)" % (len(bash), n_bash), err)

    rc, out, err = V("sessions", "--json")
    try:
        srows = as_rows(parse_json_output(out), "sessions") if rc == 0 else []
    except ValueError:
        srows = []
    s = next((x for x in srows if x.get("session_id") == sid), None)
    tap.ok(s is not None and s.get("tool_calls") == len(tool_calls) and s.get("failures", 0) >= 1 and
           s.get("subagents") == 1, "vigil sessions --json: the session with %d tool calls, a failure, one subagent"
           % len(tool_calls), json.dumps(s) if s else (err or out[:500]))

    rc, out, err = V("replay", sid, "--json")
    try:
        doc = parse_json_output(out) if rc == 0 else None
    except ValueError as e:
        doc, err = None, "bad JSON: %s" % e
    nodes = list(walk(doc)) if doc is not None else []
    bad = []
    for tid, q in tool_calls.items():
        mine = [d for d in nodes if d.get("tool_use_id") == tid and "duration_ms" in d]
        want = "failure" if tid == fail_call else "success"
        if not any(isinstance(d.get("duration_ms"), int) and d["duration_ms"] >= 0 and d.get("outcome") == want
                   for d in mine):
            bad.append("%s %s: no paired entry with duration and outcome %s" % (q["tool"], tid, want))
    tap.ok(doc is not None and not bad, "vigil replay --json pairs every Pre/Post with a duration and outcome",
           "\n".join(bad) or err)
    sub = [d for d in nodes if d.get("agent_id") == agent_id and d.get("parent_tool_use_id") == agent_call]
    tap.ok(bool(sub), "vigil replay --json places the subagent under the Agent call", err)

    q = ("SELECT tool_use_id, tool, agent_id, pre_seq, post_seq, duration_ms, outcome FROM tool_calls "
         "WHERE session_id = '%s' ORDER BY pre_seq" % sid)
    rc, out, err = V("sql", "--json", q)
    try:
        trows = as_rows(parse_json_output(out), "rows") if rc == 0 else []
    except ValueError:
        trows = []
    bad = []
    seen = {r.get("tool_use_id") for r in trows if isinstance(r, dict)}
    if seen != set(tool_calls):
        bad.append("tool_use_ids %s, want %s" % (sorted(seen, key=str), sorted(tool_calls)))
    for r in trows:
        if not isinstance(r, dict):
            bad.append("row is not an object: %r" % (r,))
            continue
        want = "failure" if r.get("tool_use_id") == fail_call else "success"
        if not r.get("pre_seq") or not r.get("post_seq") or r.get("duration_ms") is None or r.get("outcome") != want:
            bad.append(json.dumps(r))
        inside = tool_calls.get(r.get("tool_use_id"), {}).get("conv") == "subagent"
        if (r.get("agent_id") or None) != (agent_id if inside else None):
            bad.append("agent_id: %s" % json.dumps(r))
    tap.ok(rc == 0 and not bad, "vigil sql: tool_calls has every call paired (pre_seq, post_seq, duration, outcome)",
           "\n".join(bad) or err)
    rc, out, err = V("sql", "--json", "SELECT agent_id, parent_tool_use_id FROM agents WHERE session_id = '%s'" % sid)
    try:
        arows = as_rows(parse_json_output(out), "rows") if rc == 0 else []
    except ValueError:
        arows = []
    tap.ok(any(isinstance(r, dict) and r.get("agent_id") == agent_id and r.get("parent_tool_use_id") == agent_call
               for r in arows), "vigil sql: the agents table has the subagent under the Agent call", err or out[:500])
    rc, out, err = V("sql", "DELETE FROM events")
    tap.ok(rc != 0 and err.strip() and "no such command" not in err, "vigil sql refuses a write with a message",
           "exit %d: %s" % (rc, err.strip()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
