#!/usr/bin/env python3
"""tests/detection/measure.py - how the rules judge the detection corpus.

Runs every entry of tests/detection/corpus/*.jsonl through `vigil rules test`
(the default pack, no config) and reports, per category and form:
  malicious: the share that raised an alert of level medium or higher, and of
             the entries the pack documents as "block", the share denied;
  benign:    the share that raised medium or higher, and the number denied or
             asked (false positives).

Each entry is a session of one or more tool calls (steps).  Every step becomes
a PreToolUse payload; the steps before the last also get their PostToolUse, as
an agent's earlier calls would.  An entry counts as alerted when any of its
events raised medium or higher, and as denied when any was denied.

  measure.py --vigil BUILD/src/cli/vigil [--json] [--misses] [--check]

--check exits 1 unless the targets of docs/detection.md are met.  HOME is set to
/home/dev and the project to /home/dev/proj, the corpus's conventions.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HOME = "/home/dev"
PROJECT = HOME + "/proj"
LEVELS = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
TARGETS = {"alert": 0.95, "block": 0.90, "benign_fp": 0.02}
MAX_ENTRIES = 100000  # a corpus is data from a file: bound what is read


def load(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except ValueError as ex:
                sys.exit(f"{path}:{no}: not JSON: {ex}")
            if not isinstance(e.get("steps"), list) or not e["steps"]:
                sys.exit(f"{path}:{no}: an entry needs a non-empty list of steps")
            out.append(e)
            if len(out) > MAX_ENTRIES:
                sys.exit(f"{path}: more than {MAX_ENTRIES} entries")
    return out


def tool_input(step):
    return {k: v for k, v in step.items() if k != "tool"}


def payloads(entry, sess):
    """The hook payloads of one entry, oldest first, and the index of each step's Pre."""
    out = []
    n = len(entry["steps"])
    for i, step in enumerate(entry["steps"]):
        tu = f"toolu_{sess}_{i}"
        base = {"session_id": sess, "transcript_path": f"{HOME}/.claude/projects/p/{sess}.jsonl",
                "cwd": PROJECT, "permission_mode": "default", "tool_name": step["tool"],
                "tool_input": tool_input(step), "tool_use_id": tu}
        out.append(dict(base, hook_event_name="PreToolUse"))
        if i < n - 1:
            out.append(dict(base, hook_event_name="PostToolUse",
                            tool_response={"stdout": "", "stderr": "", "interrupted": False}))
    return out


def run(vigil, entries, label):
    lines, owner = [], []
    for k, e in enumerate(entries):
        sess = f"{label}-{e.get('id', k)}"
        for p in payloads(e, sess):
            lines.append(json.dumps(p))
            owner.append(k)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "events.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        env = dict(os.environ, HOME=HOME, VIGIL_CONFIG=os.path.join(tmp, "none.yaml"))
        env.pop("XDG_CONFIG_HOME", None)
        with open(env["VIGIL_CONFIG"], "w") as f:
            f.write("{}\n")
        r = subprocess.run([vigil, "rules", "test", "--json", "--no-overrides", path],
                           env=env, capture_output=True, text=True, check=False)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        sys.exit(f"vigil rules test printed no JSON (exit {r.returncode}): {r.stderr.strip()}")
    if doc.get("bad_lines") or doc.get("errors"):
        sys.exit(f"vigil rules test: {doc.get('bad_lines')} bad lines, {doc.get('errors')} errors: "
                 f"{r.stderr.strip()}")
    res = [{"level": -1, "denied": False, "asked": False, "rules": set()} for _ in entries]
    for hit in doc.get("results", []):
        k = owner[hit["line"] - 1]
        for h in hit.get("hits", []):
            res[k]["level"] = max(res[k]["level"], LEVELS.get(h.get("level"), -1))
            res[k]["rules"].add(h.get("name"))
        res[k]["denied"] |= hit.get("decision") == "deny"
        res[k]["asked"] |= hit.get("decision") == "ask"
    return res


def pct(a, b):
    return f"{100.0 * a / b:5.1f} %" if b else "    -  "


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "corpus"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--misses", action="store_true", help="list every entry that missed")
    ap.add_argument("--check", action="store_true", help="exit 1 unless the targets are met")
    a = ap.parse_args()
    mal = load(os.path.join(a.corpus, "malicious.jsonl"))
    ben = load(os.path.join(a.corpus, "benign.jsonl"))
    rm, rb = run(a.vigil, mal, "m"), run(a.vigil, ben, "b")

    groups = {}
    for e, r in zip(mal, rm):
        for key in ("all", "category:" + e["category"], "form:" + e["form"]):
            g = groups.setdefault(key, {"n": 0, "alerted": 0, "block": 0, "denied": 0})
            g["n"] += 1
            g["alerted"] += r["level"] >= LEVELS["medium"]
            if e["expect"] == "block":
                g["block"] += 1
                g["denied"] += r["denied"]
    fp = [e for e, r in zip(ben, rb) if r["level"] >= LEVELS["medium"] or r["denied"] or r["asked"]]
    blocked = [e for e, r in zip(ben, rb) if r["denied"]]
    al = groups["all"]
    summary = {
        "malicious": len(mal), "alerted": al["alerted"], "alert_rate": al["alerted"] / len(mal),
        "block_expected": al["block"], "denied": al["denied"],
        "block_rate": al["denied"] / al["block"] if al["block"] else 1.0,
        "benign": len(ben), "false_positives": len(fp), "fp_rate": len(fp) / len(ben),
        "benign_denied": len(blocked), "groups": groups,
    }
    ok = (summary["alert_rate"] >= TARGETS["alert"] and summary["block_rate"] >= TARGETS["block"]
          and summary["fp_rate"] <= TARGETS["benign_fp"] and not blocked)
    summary["targets_met"] = ok
    misses = [{"id": e["id"], "expect": e["expect"], "why": "no medium+ alert" if r["level"] < 2
               else "not denied", "steps": e["steps"]}
              for e, r in zip(mal, rm)
              if r["level"] < 2 or (e["expect"] == "block" and not r["denied"])]
    fps = [{"id": e["id"], "rules": sorted(r["rules"] - {None}), "steps": e["steps"]}
           for e, r in zip(ben, rb) if e in fp]
    if a.json:
        summary["misses"], summary["benign_flagged"] = misses, fps
        print(json.dumps(summary, indent=2))
    else:
        print(f"{'group':<28} {'n':>4}  {'alerted':>8}  {'denied/block':>14}")
        for key in sorted(groups, key=lambda k: (k != "all", k)):
            g = groups[key]
            print(f"{key:<28} {g['n']:>4}  {pct(g['alerted'], g['n'])}  "
                  f"{pct(g['denied'], g['block'])} of {g['block']:>3}")
        print(f"benign: {len(ben)} entries, {len(fp)} medium-or-higher or asked/denied "
              f"({pct(len(fp), len(ben)).strip()}), {len(blocked)} denied")
        if a.misses:
            for m in misses:
                print(f"MISS {m['id']} ({m['expect']}, {m['why']}): "
                      + " ; then ".join(s.get("command") or f"{s['tool']} {s.get('file_path') or s.get('url') or ''}"
                                        for s in m["steps"]))
            for f_ in fps:
                print(f"FP   {f_['id']} {','.join(f_['rules'])}: "
                      + " ; then ".join(s.get("command") or s["tool"] for s in f_["steps"]))
        print("targets " + ("met" if ok else "NOT met") +
              f": alerted >= {TARGETS['alert']:.0%}, denied >= {TARGETS['block']:.0%} of block, "
              f"benign <= {TARGETS['benign_fp']:.0%} and none denied")
    return 1 if a.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
