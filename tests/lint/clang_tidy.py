#!/usr/bin/env python3
"""clang_tidy.py - run clang-tidy over every src/ file of the build; TAP out.

usage: clang_tidy.py --build-root DIR --source-root DIR [--jobs N] [FILE...]

The files and their compiler options come from meson's compile_commands.json
in the build root; only files under src/ are analysed (FILE... narrows that to
the files named).  The checks are the repository's .clang-tidy.  One TAP line
per file: "ok" when clang-tidy reported nothing, else "not ok" followed by each
finding as a TAP comment.  A finding in a header counts once, under the first
file (in the database's order) that reported it.

A finding the analyser gets wrong is suppressed either on its line, with
/* NOLINT(check): why */, or in tests/lint/suppressions (one entry per finding:
the file, the check and a piece of the source line it is on, after a comment
that says why; see that file).  An entry that matched nothing is listed at the
end, so that it can be removed.

clang-tidy: $VIGIL_CLANG_TIDY, else clang-tidy-14, else clang-tidy.  When none is
installed the test skips, except under CI=true, where that is a failure
(scripts/install-deps installs it).  Jobs: --jobs, else $VIGIL_LINT_JOBS, else
the number of CPUs, at most 2.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys

# path:line:col: warning|error: text [check,alias]
FINDING = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): "
                     r"(?P<sev>warning|error): (?P<msg>.*?)(?: \[(?P<check>[\w.,-]+)\])?$")
# Per-file limit on clang-tidy's run; a file that takes longer is a failure.
FILE_TIMEOUT_S = 600
SUPPRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "suppressions")


def load_suppressions(path):
    """Entries of `FILE CHECK TEXT...` lines, each after a '#' comment (its reason)."""
    entries = []
    reason = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                reason = None
                continue
            if line.startswith("#"):
                reason = line.lstrip("# ")
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                raise ValueError(f"{path}:{n}: want FILE CHECK TEXT")
            if not reason:
                raise ValueError(f"{path}:{n}: a suppression needs a '#' line above it saying why")
            entries.append({"file": parts[0], "check": parts[1], "text": parts[2],
                            "where": f"{os.path.basename(path)}:{n}", "used": False})
    return entries


def source_line(path, line, cache={}):
    if path not in cache:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                cache[path] = f.read().splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def suppressed(entries, relpath, abspath, fd):
    checks = (fd["check"] or "").split(",")
    text = source_line(abspath, int(fd["line"]))
    for e in entries:
        if e["file"] == relpath and e["check"] in checks and e["text"] in text:
            e["used"] = True
            return True
    return False


def find_clang_tidy():
    env = os.environ.get("VIGIL_CLANG_TIDY")
    if env:
        return shutil.which(env) or (env if os.access(env, os.X_OK) else None)
    for name in ("clang-tidy-14", "clang-tidy"):
        path = shutil.which(name)
        if path:
            return path
    return None


def load_files(build_root, source_root, only):
    db_path = os.path.join(build_root, "compile_commands.json")
    with open(db_path, encoding="utf-8") as f:
        db = json.load(f)
    src = os.path.join(os.path.realpath(source_root), "src") + os.sep
    files, seen = [], set()
    for entry in db:
        path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
        if not path.startswith(src) or path in seen:
            continue
        seen.add(path)
        files.append(path)
    if only:
        wanted = {os.path.realpath(os.path.join(source_root, f)) for f in only}
        missing = wanted - seen
        if missing:
            raise ValueError("not in the compile database under src/: " + ", ".join(sorted(missing)))
        files = [f for f in files if f in wanted]
    return files


def run_one(tidy, build_root, path):
    """Returns (exit status, the findings as dicts, the other output).

    clang-tidy names files as the compile database does, here relative to the
    build directory: each finding's path is made absolute."""
    cmd = [tidy, "--quiet", "-p", build_root,
           # The database holds gcc's options; clang may not know all of them,
           # and -Werror would turn clang's own warnings into a stopped analysis.
           "--extra-arg=-Wno-unknown-warning-option", "--extra-arg=-Wno-error",
           path]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace", timeout=FILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return -1, [], f"clang-tidy took more than {FILE_TIMEOUT_S} s"
    findings, other = [], []
    for line in (p.stdout + "\n" + p.stderr).splitlines():
        m = FINDING.match(line)
        if m:
            fd = m.groupdict()
            fd["path"] = os.path.realpath(os.path.join(build_root, fd["path"]))
            findings.append(fd)
        elif line.strip() and not re.match(r"^\d+ warnings? (and \d+ errors? )?generated\.$", line):
            other.append(line)
    return p.returncode, findings, "\n".join(other)


def rel(path, source_root):
    r = os.path.relpath(os.path.realpath(path), os.path.realpath(source_root))
    return path if r.startswith("..") else r


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args(argv)

    tidy = find_clang_tidy()
    if not tidy:
        if os.environ.get("CI") == "true":
            print("1..1")
            print("not ok 1 - clang-tidy is not installed (scripts/install-deps installs it)")
            return 1
        print("1..0 # SKIP clang-tidy is not installed (scripts/install-deps installs it)")
        return 0
    try:
        files = load_files(a.build_root, a.source_root, a.files)
    except (OSError, ValueError) as e:
        print("1..1")
        print(f"not ok 1 - cannot read the compile database: {e}")
        return 1
    try:
        entries = load_suppressions(SUPPRESSIONS)
    except (OSError, ValueError) as e:
        print("1..1")
        print(f"not ok 1 - cannot use the suppressions: {e}")
        return 1
    if not files:
        print("1..1")
        print("not ok 1 - the compile database names no file under src/")
        return 1

    jobs = a.jobs or int(os.environ.get("VIGIL_LINT_JOBS", "0") or 0) or min(2, os.cpu_count() or 1)
    version = subprocess.run([tidy, "--version"], capture_output=True, text=True).stdout
    version = " ".join(version.split())
    print(f"# {tidy}: {version}")
    print(f"1..{len(files)}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        results = list(ex.map(lambda f: run_one(tidy, a.build_root, f), files))

    failed, reported = 0, set()
    for n, (path, (rc, findings, other)) in enumerate(zip(files, results), 1):
        name = rel(path, a.source_root)
        lines = []
        for fd in findings:
            relpath = rel(fd["path"], a.source_root)
            where = f"{relpath}:{fd['line']}:{fd['col']}"
            key = (where, fd["check"], fd["msg"])
            if key in reported:
                continue  # a header's finding, already reported under an earlier file
            reported.add(key)
            if suppressed(entries, relpath, fd["path"], fd):
                continue
            lines.append(f"{where}: {fd['sev']}: {fd['msg']} [{fd['check'] or '?'}]")
        # clang-tidy exits non-zero on compiler errors; without a finding line
        # that is a failure of its own (a crash, an unusable command line).
        if rc != 0 and not lines:
            lines.append(f"clang-tidy exited with status {rc}")
            lines += other.splitlines()[:20]
        if lines:
            failed += 1
            print(f"not ok {n} - {name}: {len(lines)} finding(s)")
            for line in lines:
                print(f"# {line}")
        else:
            print(f"ok {n} - {name}")
    analysed = {rel(f, a.source_root) for f in files}
    for e in entries:
        if not e["used"] and e["file"] in analysed:
            print(f"# {e['where']}: this suppression matched no finding; remove it if the "
                  "code changed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
