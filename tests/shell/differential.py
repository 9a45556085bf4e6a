#!/usr/bin/env python3
"""differential.py - the oracle is bash itself.

Every command line of the shell corpus (tests/shell/corpus.txt) runs under the
real bash, in a sandbox whose PATH holds recording stubs: each stub appends its
argv and directory to a log and exits (or, for the few programs whose work is
part of the shell's semantics - env, xargs, nice, timeout, cat, base64, tr, ...
- runs the real program after recording, which then runs other stubs).  The
argv bash executed is compared with what src/shell says would run
(tests/shell/sh_dump --json).  TAP: one test per corpus case.

SAFETY.  The corpus holds destructive commands (rm -rf ~, find / -delete, ...).
They run only inside a sandbox that cannot reach the real system:
  - new user (root mapped to the caller), mount, pid, network, ipc and uts
    namespaces (unshare(1)); nothing mounted there is visible outside and all of
    it disappears with the last process;
  - the root is a fresh tmpfs (chroot): bash, its libraries, the stubs and a
    handful of real filter programs copied in, /dev/null bound in, a private
    /proc for /dev/fd; no host directory is visible;
  - no network (only a down loopback); no program that could leave the chroot.
A canary check runs first and must pass before any corpus command runs: a file
on the host must be invisible and untouchable from inside, and every program
path inside must be a stub.  Without namespaces the whole test is skipped: a
partial mode could not guarantee that a destructive command stays contained.

Usage: differential.py --sh-dump PATH [--corpus FILE] [--verbose]
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

HOME = "/home/u"
CWD = "/home/u/proj"
PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

# Shells: the stub records, then runs bash under that name (sh, dash, ... as
# bash in POSIX mode, which is what src/shell models).
SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "rbash", "posh", "yash"}
# Programs that run for real after recording: they only run other (stubbed)
# programs or filter stdin to stdout, inside the sandbox.
REAL = {"env", "nice", "nohup", "timeout", "stdbuf", "setsid", "xargs", "cat", "tee", "base64",
        "base32", "tr", "rev", "seq", "basename", "dirname", "xxd", "openssl"}
# Wrappers whose child the sandbox runs (REAL above, the shells, and bash's
# own builtins that run commands).
TRANSPARENT = (REAL | SHELLS | {"command", "builtin", "exec", "eval", "source", "."}) - {
    "cat", "tee", "base64", "base32", "tr", "rev", "seq", "basename", "dirname", "xxd", "openssl"}
BUILTINS = set(""". : [ alias bg bind break builtin caller cd command compgen complete compopt
continue declare dirs disown echo enable eval exec exit export false fc fg getopts hash help
history jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly return
set shift shopt source suspend test times trap true type typeset ulimit umask unalias unset
wait""".split())
# Names every sandbox gets a stub for, besides those the corpus names.
BASE_STUBS = {"rm", "ls", "git", "npm", "make", "curl", "wget", "sudo", "find", "grep", "sed",
              "awk", "python3", "python", "node", "ssh", "docker", "mkdir", "cp", "mv", "chmod",
              "id", "whoami", "sleep", "touch", "head", "tail", "sort", "uniq", "wc", "echo",
              "printf", "test", "true", "false", "pwd", "kill", "stat", "date"}

F_BG = 1 << 0
F_COND = 1 << 2
F_FUNCTION = 1 << 9
F_SCRIPT = 1 << 12
F_EXEC_STDIN = 1 << 5
U_SCRIPT = 1 << 9
U_SYNTAX = 1 << 11
W_GLOB = 1 << 31
R_IN, R_OUT, R_APPEND, R_CLOBBER, R_RW, R_ALL, R_ALL_APPEND = 0, 1, 2, 3, 4, 7, 8


def read_corpus(path):
    """(id, command, nodiff reason) for each case: '$ cmd', '> more lines', '%nodiff why'."""
    cases, cur, lineno = [], None, 0
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            lineno += 1
            line = line.rstrip("\n")
            if line.startswith("$ ") or line == "$":
                if cur:
                    cases.append(cur)
                cur = {"id": lineno, "cmd": line[2:], "nodiff": None}
            elif cur and (line.startswith("> ") or line == ">"):
                cur["cmd"] += "\n" + line[2:]
            elif cur and line.startswith("%nodiff"):
                cur["nodiff"] = line[len("%nodiff"):].strip() or "marked"
    if cur:
        cases.append(cur)
    return cases


def parse_all(sh_dump, cases):
    data = b"".join(c["cmd"].encode("utf-8", "surrogateescape") + b"\0" for c in cases)
    out = subprocess.run([sh_dump, "--cwd", CWD, "--home", HOME, "--user", "u", "--json", "-"],
                         input=data, stdout=subprocess.PIPE, check=True, timeout=60).stdout
    lines = out.decode("utf-8").splitlines()
    if len(lines) != len(cases):
        raise SystemExit("sh_dump gave %d results for %d cases" % (len(lines), len(cases)))
    return [json.loads(l) for l in lines]


def basename(p):
    return p.rsplit("/", 1)[-1]


def runs_in_sandbox(cmds, i):
    """Whether bash in the sandbox really runs command i (its chain of parents runs
    it), and whether it is executed as a program (else a builtin or function)."""
    c = cmds[i]
    # Is it exec'd, or run inside a shell?
    by_shell = c["via"] in ("top", "eval", "function", "cmdsub", "procsub", "shell") or (
        c["via"] == "wrapper" and c["parent"] >= 0
        and basename(cmds[c["parent"]]["argv"][0]) in ("command", "builtin"))
    program = True
    if c["flags"] & F_FUNCTION:
        program = False
    elif by_shell and "/" not in c["argv"][0] and c["argv"][0] in BUILTINS:
        program = False
    j = i
    while cmds[j]["parent"] >= 0:
        via, p = cmds[j]["via"], cmds[j]["parent"]
        if via in ("wrapper", "shell", "xargs", "find", "remote", "container"):
            if basename(cmds[p]["argv"][0]) not in TRANSPARENT:
                return False, program
        j = p
    return True, program


def sandbox_names(results):
    names, paths = set(BASE_STUBS), set()
    for r in results:
        for c in r["cmds"]:
            if not c["argv"] or c["wunres"][0]:
                continue
            a0 = c["argv"][0]
            if "/" in a0:
                p = a0 if a0.startswith("/") else (os.path.normpath(os.path.join(c["cwd"], a0))
                                                   if c["cwd"] else None)
                if p and not any(ch in p for ch in "\0\n") and len(p) < 200:
                    paths.add(p)
                names.add(basename(a0))
            elif a0 and len(a0) < 100 and "\0" not in a0 and "\n" not in a0:
                names.add(a0)
    return {n for n in names if n and n not in (".", "..")}, paths


STUB = r"""#!/.o/bash
n=0; while [[ -e /.o/log/$$.$n ]]; do n=$((n+1)); done
printf '%s\0' "$PWD" "${0##*/}" "$@" > /.o/log/$$.$n
"""
STUB_REAL = STUB + 'exec -a "${0##*/}" /.o/real/"${0##*/}" "$@"\n'
STUB_SHELL = STUB + 'exec -a "${0##*/}" /.o/bash "$@"\n'
STUB_NONE = STUB + "exit 0\n"

RUNNER = r"""#!/.o/bash
cd /
while IFS= read -r -d '' id && IFS= read -r -d '' settle && IFS= read -r -d '' ndirs; do
  for ((k = 0; k < ndirs; k++)); do
    IFS= read -r -d '' d
    if [[ $d == +* ]]; then [[ -e ${d#+} ]] || : > "${d#+}"; else /.o/real/mkdir -p -- "$d" 2>/dev/null; fi
  done
  IFS= read -r -d '' cmd
  /.o/real/rm -rf /.o/log; /.o/real/mkdir /.o/log
  cd /home/u/proj
  /.o/real/env -i HOME=/home/u USER=u LOGNAME=u PATH="%s" PWD=/home/u/proj SHELL=/bin/bash \
    /.o/real/timeout -s KILL 5 /.o/bash -c "$cmd" </dev/null >/dev/null 2>&1 3>&- 4>&-
  # Background commands get a moment to start; then everything the case left
  # running goes (the runner is the namespace's init: kill -1 spares it).
  [[ $settle == 1 ]] && /.o/real/sleep 0.1
  kill -KILL -1 2>/dev/null
  cd /
  printf 'CASE %%s\n' "$id"
  for f in /.o/log/*; do [[ -e $f ]] && { /.o/real/base64 -w0 "$f"; echo; }; done
  printf 'END\n'
done
""" % PATH

# The canary: runs inside before anything else.  Prints OK only if the host
# file is invisible, writing its path lands in the sandbox, and every program
# directory holds stubs only.
CANARY = r"""#!/.o/bash
c="$1"
[[ -e $c ]] && { echo "canary visible"; exit 1; }
/.o/real/mkdir -p "${c%/*}" && echo pwned > "$c" || { echo "cannot write in sandbox"; exit 1; }
[[ -f /.o/marker ]] || { echo "not in the sandbox root"; exit 1; }
for d in /bin /usr/bin /sbin /usr/sbin /usr/local/bin; do
  for f in "$d"/*; do
    [[ -e $f ]] || continue
    IFS= read -r first < "$f"; [[ $first == '#!/.o/bash' ]] || { echo "not a stub: $f"; exit 1; }
  done
done
exec 3<>/dev/tcp/1.1.1.1/53 2>/dev/null && { echo "network reachable"; exit 1; }
echo OK
"""


def copy_with_libs(src, root, dest, done):
    os.makedirs(os.path.dirname(root + dest), exist_ok=True)
    shutil.copy2(src, root + dest)
    out = subprocess.run(["ldd", src], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout
    for line in out.splitlines():
        for part in line.split():
            if part.startswith("/") and part not in done and os.path.exists(part):
                done.add(part)
                os.makedirs(os.path.dirname(root + part), exist_ok=True)
                shutil.copy2(part, root + part)


def build_tree(stage, names, paths):
    """The sandbox's files, staged in a host directory, copied onto the tmpfs inside."""
    done = set()
    bash = shutil.which("bash") or "/bin/bash"
    copy_with_libs(os.path.realpath(bash), stage, "/.o/bash", done)
    for tool in REAL | {"sleep", "mkdir", "rm"}:
        p = shutil.which(tool)
        if p:
            copy_with_libs(os.path.realpath(p), stage, "/.o/real/" + tool, done)
    # stdbuf preloads a library of coreutils
    for lib in ("/usr/libexec/coreutils/libstdbuf.so", "/usr/lib/coreutils/libstdbuf.so"):
        if os.path.exists(lib):
            os.makedirs(os.path.dirname(stage + lib), exist_ok=True)
            shutil.copy2(lib, stage + lib)
    for d in ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/home/u/proj", "/root", "/home/alice",
              "/tmp", "/etc", "/dev", "/proc", "/.o/log"):
        os.makedirs(stage + d, exist_ok=True)
    os.symlink("usr/bin", stage + "/bin")
    os.symlink("usr/sbin", stage + "/sbin")
    os.chmod(stage + "/tmp", 0o1777)
    with open(stage + "/etc/passwd", "w") as f:
        f.write("root:x:0:0:root:/root:/bin/bash\nu:x:1000:1000::/home/u:/bin/bash\n"
                "alice:x:1001:1001::/home/alice:/bin/bash\n")
    with open(stage + "/.o/marker", "w") as f:
        f.write("sandbox\n")

    def stub(path, name):
        body = STUB_SHELL if name in SHELLS else STUB_REAL if name in REAL else STUB_NONE
        full = stage + path
        if os.path.lexists(full) or not os.path.isdir(os.path.dirname(full)):
            return
        with open(full, "w") as f:
            f.write(body)
        os.chmod(full, 0o755)

    for n in sorted(names):
        if "/" in n or n.startswith("."):
            continue
        stub("/usr/bin/" + n, n)
    for p in sorted(paths):
        parts = p.split("/")
        if any(x in ("", ".", "..", ".o", "proc", "dev") for x in parts[1:]) or p.startswith("/.o"):
            continue
        d = os.path.dirname(p)
        if d in ("/bin", "/sbin"):
            continue  # symlinks to usr/
        os.makedirs(stage + d, exist_ok=True)
        stub(p, basename(p))
    with open(stage + "/.o/runner", "w") as f:
        f.write(RUNNER)
    with open(stage + "/.o/canary", "w") as f:
        f.write(CANARY)


SETUP = r"""set -eu
stage="$1"; root="$2"; shift 2
mount -t tmpfs -o size=256m,mode=755 tmpfs "$root"
cp -a "$stage"/. "$root"/
touch "$root/dev/null"; mount --bind /dev/null "$root/dev/null"
mount -t proc proc "$root/proc"
ln -s /proc/self/fd "$root/dev/fd"
exec chroot "$root" /.o/bash "$@"
"""


def unshare_cmd():
    return ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--net", "--ipc",
            "--uts", "--propagation", "private"]


def namespaces_work():
    try:
        r = subprocess.run(unshare_cmd() + ["true"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=20)
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def sandbox_proc(stage, args, root_name="root"):
    """A process running args in a new sandbox built from stage (see SETUP)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write(SETUP)
        setup = f.name
    root = os.path.join(os.path.dirname(stage), root_name)
    os.makedirs(root, exist_ok=True)
    p = subprocess.Popen(unshare_cmd() + ["bash", setup, stage, root] + args,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.setup_file = setup
    return p


def in_sandbox(stage, args, stdin=b"", timeout=120):
    p = sandbox_proc(stage, args)
    try:
        out, err = p.communicate(stdin, timeout=timeout)
    finally:
        os.unlink(p.setup_file)
    return subprocess.CompletedProcess(args, p.returncode, out, err)


def canary(stage, tmp):
    host = os.path.join(tmp, "canary-dir", "canary")
    os.makedirs(os.path.dirname(host))
    with open(host, "w") as f:
        f.write("untouched\n")
    r = in_sandbox(stage, ["/.o/canary", host])
    with open(host) as f:
        intact = f.read() == "untouched\n"
    alone = os.listdir(os.path.dirname(host)) == ["canary"]
    ok = r.returncode == 0 and r.stdout.strip() == b"OK" and intact and alone
    return ok, (r.stdout + r.stderr).decode(errors="replace").strip()


def run_cases(stage, cases, results, jobs=2):
    blobs = [b""] * jobs
    for n, (c, r) in enumerate(zip(cases, results)):
        if c["nodiff"]:
            continue  # never run: see its reason in the corpus
        # background commands and process substitutions finish after the case's bash
        bg = any(x["flags"] & F_BG or x["via"] == "procsub" for x in r.get("cmds", []))
        dirs = {x["cwd"] for x in r.get("cmds", []) if x.get("cwd")
                and x["cwd"].startswith("/") and "\0" not in x["cwd"]}
        files = set()
        for x in r.get("cmds", []):
            for rd in x.get("redirs", []):
                t = rd["target"]
                if not x.get("cwd") or rd["net"] or not t or t.startswith("/dev") or "\0" in t:
                    continue
                p = os.path.normpath(os.path.join(x["cwd"], t))
                if rd["op"] in (R_OUT, R_APPEND, R_CLOBBER, R_ALL, R_ALL_APPEND, R_RW):
                    dirs.add(os.path.dirname(p))
                elif rd["op"] == R_IN:
                    dirs.add(os.path.dirname(p))
                    files.add(p)
        dirs = sorted(dirs) + ["+" + f for f in sorted(files)]
        blob = (str(c["id"]).encode() + b"\0" + (b"1" if bg else b"0") + b"\0" +
                str(len(dirs)).encode() + b"\0")
        for d in dirs:
            blob += d.encode("utf-8", "surrogateescape") + b"\0"
        blob += c["cmd"].encode("utf-8", "surrogateescape") + b"\0"
        blobs[n % jobs] += blob
    # Two sandboxes side by side, each with every other case: the machines this
    # runs on have two cores, and each case is mostly process start-up.
    procs = [sandbox_proc(stage, ["/.o/runner"], "root%d" % j) for j in range(len(blobs))]
    threads, outs = [], [None] * len(procs)

    def talk(j):
        outs[j] = procs[j].communicate(blobs[j], timeout=600)

    for j in range(len(procs)):
        threads.append(threading.Thread(target=talk, args=(j,)))
        threads[-1].start()
    for t in threads:
        t.join()
    for p in procs:
        os.unlink(p.setup_file)
    logs, cur = {}, None
    for out, _ in outs:
        for line in out.split(b"\n"):
            if line.startswith(b"CASE "):
                cur = int(line[5:])
                logs[cur] = []
            elif line == b"END":
                cur = None
            elif cur is not None and line:
                rec = base64.b64decode(line).split(b"\0")[:-1]
                logs[cur].append([x.decode("utf-8", "surrogateescape") for x in rec])
    return logs, b"".join(e for _, e in outs).decode(errors="replace")


def glob_match(pattern, words):
    """How many of words (from the start) a parser glob word stands for: the literal
    pattern when nothing matched, else one or more matching words."""
    import fnmatch
    if words and words[0] == pattern:
        yield 1
    n = 0
    while n < len(words) and fnmatch.fnmatchcase(words[n], pattern):
        n += 1
        yield n


def args_match(c, k, got, j):
    """Whether parser words c.argv[k:] match got[j:] (glob words stand for files)."""
    if k == len(c["argv"]):
        return j == len(got)
    if c["wunres"][k] == W_GLOB:
        return any(args_match(c, k + 1, got, j + n) for n in glob_match(c["argv"][k], got[j:]))
    if j >= len(got) or c["wunres"][k] or c["argv"][k] != got[j]:
        return False
    return args_match(c, k + 1, got, j + 1)


def compare(res, log):
    """'exact', 'unresolved' (matched where the parser said it could not know, or a
    glob bash expanded) or a text saying how they differ."""
    cmds = res.get("cmds", [])
    want = []
    unknown_code = False
    for i, c in enumerate(cmds):
        if not c["argv"]:
            continue
        runs, program = runs_in_sandbox(cmds, i)
        if runs and program:
            want.append(i)
        if runs and (c["unres"] & U_SCRIPT):
            unknown_code = True  # it runs code the parser says it cannot know
    got = [dict(cwd=rec[0], argv=[rec[1]] + rec[2:]) for rec in log]
    used = [False] * len(got)
    matched, loose = set(), False

    def same_place(c, g):
        return c["cwd"] is None or c["cwd"] == g["cwd"]

    def exact(c, g):
        return (basename(c["argv"][0]) == basename(g["argv"][0]) and not any(c["wunres"]) and
                c["argv"][1:] == g["argv"][1:] and same_place(c, g))

    def globbed(c, g):
        return (not c["wunres"][0] and basename(c["argv"][0]) == basename(g["argv"][0]) and
                all(u in (0, W_GLOB) for u in c["wunres"]) and args_match(c, 1, g["argv"], 1) and
                same_place(c, g))

    def fuzzy(c, g):
        if c["wunres"][0]:
            return True  # the program is not known: any
        return basename(c["argv"][0]) == basename(g["argv"][0]) and (c["unres"] or any(c["wunres"]))

    for test, is_loose in ((exact, False), (globbed, True), (fuzzy, True)):
        for i in want:
            if i in matched:
                continue
            for k, g in enumerate(got):
                if not used[k] and test(cmds[i], g):
                    used[k] = True
                    matched.add(i)
                    loose = loose or is_loose
                    break
    problems = []
    ran = {(tuple(g["argv"]), g["cwd"]) for k, g in enumerate(got) if used[k]}
    for k, g in enumerate(got):
        if not used[k]:
            if (tuple(g["argv"]), g["cwd"]) in ran:
                continue  # the same command again: a loop or repeated runs
            if unknown_code:
                loose = True
                continue
            problems.append("bash ran %s in %s, not reported" % (g["argv"], g["cwd"]))
    for i in want:
        c = cmds[i]
        # A background job may be killed before it runs (a trap on EXIT, the
        # shell ending first): whether bash got to it is a race, not the
        # parser's answer.
        optional = ((c["flags"] & (F_COND | F_BG)) or c["unres"] or
                    any(r["net"] for r in c["redirs"]))
        if i not in matched and not optional:
            problems.append("reported %s in %s, bash did not run it" % (c["argv"], c["cwd"]))
    if problems:
        text = "; ".join(problems)
        return text if len(text) < 2000 else text[:2000] + " ..."
    return "unresolved" if loose else "exact"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sh-dump", required=True)
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "corpus.txt"))
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()

    if not shutil.which("unshare") or not namespaces_work():
        print("1..0 # SKIP no user/mount/pid/net namespaces here: the corpus's destructive "
              "commands cannot be contained, so bash does not run them")
        return 0
    cases = read_corpus(a.corpus)
    results = parse_all(a.sh_dump, cases)
    names, paths = sandbox_names(results)
    tmp = tempfile.mkdtemp(prefix="vigil-diff-")
    try:
        stage = os.path.join(tmp, "stage")
        build_tree(stage, names, paths)
        ok, why = canary(stage, tmp)
        print("%s 1 - sandbox canary: host file untouched, no host path visible, stubs only%s" %
              ("ok" if ok else "not ok", "" if ok else " (%s)" % why))
        if not ok:
            print("1..1")
            return 1
        logs, err = run_cases(stage, cases, results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n, failed, stats = 1, 0, {"exact": 0, "unresolved": 0, "skip": 0, "differ": 0}
    for c, r in zip(cases, results):
        n += 1
        first = c["cmd"].split("\n")[0][:70]
        if c["nodiff"]:
            stats["skip"] += 1
            print("ok %d - line %d: %s # SKIP %s" % (n, c["id"], first, c["nodiff"]))
            continue
        if c["id"] not in logs:
            failed += 1
            stats["differ"] += 1
            print("not ok %d - line %d: %s (no result from the sandbox)" % (n, c["id"], first))
            continue
        if r.get("unres") and "syntax" in r.get("unres", ""):
            stats["skip"] += 1
            print("ok %d - line %d: %s # SKIP a syntax error: bash runs nothing" % (n, c["id"], first))
            continue
        v = compare(r, logs[c["id"]])
        if v in ("exact", "unresolved"):
            stats[v] += 1
            print("ok %d - line %d: %s (%s)" % (n, c["id"], first, v))
        else:
            failed += 1
            stats["differ"] += 1
            print("not ok %d - line %d: %s" % (n, c["id"], first))
            print("#   " + v)
    print("# %d cases: %d exact, %d agree where the parser reports unresolved, %d skipped, %d differ" %
          (len(cases), stats["exact"], stats["unresolved"], stats["skip"], stats["differ"]))
    if a.verbose and err:
        print("# sandbox stderr: " + err.replace("\n", "\n# "))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
