#!/usr/bin/env python3
"""test_tree.py - what `meson install` puts where, and that it is current.

Installs the build tree into a temporary DESTDIR and checks the installed
tree: the three programs, their man pages (current with the commands and
options the programs have, and free of groff warnings), the shell completions,
and the systemd units, which `systemd-analyze verify` must accept without a
word (it runs without systemd as PID 1; it is skipped when not installed) and
which must keep the hardening docs/install.md promises.

    test_tree.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

BUILD, SOURCE = sys.argv[1], sys.argv[2]
PREFIX = "/usr"  # what the build tree was configured with is read below
n = 0
failed = 0


def ok(cond, name, diag=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name))
    if not cond:
        failed += 1
        for line in str(diag).splitlines()[:40]:
            print("#   " + line)
    sys.stdout.flush()


def skip(name, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, name, why))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kw)


def build_option(name):
    r = run(["meson", "introspect", "--buildoptions", BUILD])
    for o in json.loads(r.stdout):
        if o["name"] == name:
            return o["value"]
    return None


T = tempfile.mkdtemp(prefix="vigil-tree.")
DEST = os.path.join(T, "dest")


def path(rel):
    return DEST + rel


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def man_text(p):
    """The page as plain text, and groff's warnings."""
    r = run(["groff", "-man", "-Tutf8", "-ww", "-z", p])
    warn = r.stderr.strip()
    r = run(["groff", "-man", "-Tascii", "-P-cbou", p])
    return r.stdout, warn


def main():
    prefix = build_option("prefix")
    bindir = os.path.join(prefix, build_option("bindir"))
    mandir = os.path.join(prefix, build_option("mandir"))
    datadir = os.path.join(prefix, build_option("datadir"))
    unitdir = build_option("systemdsystemunitdir") or os.path.join(prefix, "lib/systemd/system")
    userdir = build_option("systemduserunitdir") or os.path.join(prefix, "lib/systemd/user")
    bashdir = build_option("bashcompletiondir") or datadir + "/bash-completion/completions"
    zshdir = build_option("zshcompletiondir") or datadir + "/zsh/site-functions"
    fishdir = build_option("fishcompletiondir") or datadir + "/fish/vendor_completions.d"

    r = run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", DEST])
    ok(r.returncode == 0, "meson install --destdir succeeds", r.stdout + r.stderr)
    if r.returncode != 0:
        return

    # ---- the installed tree ---------------------------------------------------------
    want = {
        bindir + "/vigil": 0o755, bindir + "/vigild": 0o755, bindir + "/vigil-hook": 0o755,
        mandir + "/man1/vigil.1": 0o644, mandir + "/man1/vigil-hook.1": 0o644,
        mandir + "/man8/vigild.8": 0o644,
        bashdir + "/vigil": 0o644, zshdir + "/_vigil": 0o644, fishdir + "/vigil.fish": 0o644,
        unitdir + "/vigild.service": 0o644, unitdir + "/vigild.socket": 0o644,
        unitdir + "/vigil-verify.service": 0o644, unitdir + "/vigil-verify.timer": 0o644,
        userdir + "/vigild.service": 0o644,
    }
    bad = ["%s: %s" % (p, "missing" if not os.path.exists(path(p)) else "mode %o" % mode(path(p)))
           for p, m in sorted(want.items())
           if not os.path.exists(path(p)) or mode(path(p)) != m]
    ok(not bad, "the %d files are where they belong, with their modes (%s)" % (len(want), prefix),
       "\n".join(bad))
    installed = sorted(os.path.relpath(os.path.join(d, f), DEST)
                       for d, _, fs in os.walk(DEST) for f in fs)
    extra = [p for p in installed if "/" + p not in want]
    ok(not extra, "nothing else is installed", "\n".join(extra))
    vigil = path(bindir + "/vigil")
    r = run([vigil, "--version"])
    ok(r.returncode == 0 and r.stdout.startswith("vigil "), "the installed vigil runs", r.stderr)
    with open(path(unitdir + "/vigild.service")) as f:
        unit = f.read()
    ok("ExecStart=%s/vigild " % bindir in unit,
       "the units run the installed programs (%s/vigild)" % bindir)

    # ---- man pages: current with the programs -----------------------------------------
    pages = {}
    for rel in ("man1/vigil.1", "man1/vigil-hook.1", "man8/vigild.8"):
        text, warn = man_text(path(mandir + "/" + rel))
        pages[rel] = text
        ok(text and not warn, "%s renders without groff warnings" % rel, warn)
    gen = os.path.join(SOURCE, "completions/gen-completions.py")
    data = json.loads(run([sys.executable, gen, "--vigil", vigil, "--data"]).stdout)
    missing = []
    for c in data["commands"]:
        if c["name"] != "help" and not re.search(r"^   vigil %s\b" % c["name"], pages["man1/vigil.1"],
                                                re.M):
            missing.append("no section for `vigil %s`" % c["name"])
        for k, opts in [(c["name"], c["options"])] + [
                (c["name"] + " " + s["name"], s["options"]) for s in c["subcommands"]]:
            for o in opts:
                if o["long"] and "--" + o["long"] not in pages["man1/vigil.1"]:
                    missing.append("vigil %s --%s" % (k, o["long"]))
    for o in data["global"]:
        if "--" + o["long"] not in pages["man1/vigil.1"]:
            missing.append("vigil --%s" % o["long"])
    ncmd = len(data["commands"])
    nopt = len({o["long"] for c in data["commands"] for o in c["options"]})
    ok(not missing, "vigil(1) has every command (%d) and every option (%d distinct)" % (ncmd, nopt),
       "\n".join(sorted(set(missing))))
    for prog, rel in (("vigild", "man8/vigild.8"), ("vigil-hook", "man1/vigil-hook.1")):
        helptext = run([path(bindir + "/" + prog), "--help"]).stdout
        opts = sorted(set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]*)", helptext, re.M)))
        miss = [o for o in opts if o not in pages[rel]]
        ok(opts and not miss, "%s has every option of `%s --help` (%d)" % (rel, prog, len(opts)),
           " ".join(miss))

    # ---- units ----------------------------------------------------------------------------
    checks = {
        "vigild.service": ["User=vigil", "Group=vigil", "NoNewPrivileges=yes",
                           "ProtectSystem=strict", "ProtectHome=read-only", "PrivateTmp=yes",
                           "StateDirectory=vigil", "RuntimeDirectory=vigil",
                           "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                           "SystemCallFilter=@system-service", "CapabilityBoundingSet=\n",
                           "Requires=vigild.socket"],
        "vigild.socket": ["ListenStream=/run/vigil/vigild.sock"],
        "vigil-verify.service": ["Type=oneshot", "verify", "checkpoint --out-dir",
                                 "CapabilityBoundingSet=CAP_DAC_READ_SEARCH",
                                 "ReadOnlyPaths=/var/lib/vigil", "NoNewPrivileges=yes"],
        "vigil-verify.timer": ["OnCalendar=daily", "Persistent=true"],
    }
    for unit_name, needles in checks.items():
        with open(path(unitdir + "/" + unit_name)) as f:
            text = f.read()
        miss = [x.strip() or x for x in needles if x not in text]
        ok(not miss, "%s has %s" % (unit_name, ", ".join(x.strip() for x in needles)),
           "missing: " + ", ".join(miss))
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        skip("systemd-analyze verify accepts the system units",
             "systemd-analyze not installed (Debian package systemd)")
        skip("systemd-analyze --user verify accepts the user unit", "systemd-analyze not installed")
        return
    # The units name the programs where they will be installed (bindir); they
    # are checked as they are, with those paths pointing into DESTDIR.
    for kind, src, names in (("system", unitdir, sorted(checks)),
                             ("user", userdir, ["vigild.service"])):
        d = os.path.join(T, "units-" + kind)
        os.makedirs(d)
        for name in names:
            with open(path(src + "/" + name)) as f:
                text = f.read().replace(bindir + "/", path(bindir) + "/")
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        xdg = os.path.join(T, "xdg-runtime")
        os.makedirs(xdg, mode=0o700, exist_ok=True)
        env = dict(os.environ, MANPATH=path(mandir), XDG_RUNTIME_DIR=xdg)
        args = [analyze] + (["--user"] if kind == "user" else []) + ["verify"] + \
            [os.path.join(d, x) for x in names]
        r = run(args, env=env, cwd=d)
        out = (r.stdout + r.stderr).strip()
        ok(r.returncode == 0 and not out,
           "systemd-analyze %sverify accepts the %s unit%s (%s), their man pages found, "
           "without a warning" % ("--user " if kind == "user" else "", kind,
                                  "s" if len(names) > 1 else "", ", ".join(names)), out)
    r = run([analyze, "security", "--offline=true", os.path.join(T, "units-system",
                                                                 "vigild.service")])
    m = re.search(r"Overall exposure level for vigild.service: ([0-9.]+)", r.stdout)
    ok(m and float(m.group(1)) <= 2.5,
       "systemd-analyze security rates vigild.service's exposure %s (at most 2.5 of 10)"
       % (m.group(1) if m else "?"), r.stdout[-3000:] + r.stderr)


try:
    main()
finally:
    shutil.rmtree(T, ignore_errors=True)
print("1..%d" % n)
sys.exit(1 if failed else 0)
