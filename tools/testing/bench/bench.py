#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The host half of "make bench": boot, gather, tabulate, plot, compare.

  bench.py run --kernel K --initrd I [--iommu intel,amd] [--out DIR]
               [--rounds N] [--scale F] [--max-size MIB] [--quick]
  bench.py table FILE.json
  bench.py plot FILE.json DIR
  bench.py compare BASE.json NEW.json [--threshold PCT]
  bench.py validate FILE.json            (make check: well-formed, sane)

"run" boots one guest per IOMMU; in it vfio-bench (vfio_bench.c) measures
our VFIO and the kernel's in alternating rounds and prints one JSON line per
case and stack.  This script puts them into one JSON document (schema
SCHEMA, described in Documentation/dev-tools/testing.rst "Benchmarks"),
prints a table per case group with both stacks and the speedup, and draws
PNGs with gnuplot.  Python 3 standard library only.
"""

import argparse
import datetime
import json
import math
import os
import re
import shutil
import subprocess
import sys

SCHEMA = "vfio-groups-bench/1"
TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
STATS = ("samples", "min", "q1", "median", "q3", "max", "mean")
STACKS = ("ours", "kernel")
# Cases only our stack has (no kernel counterpart, no speedup).
OURS_ONLY_GROUPS = ("event",)
GROUP_TITLES = [
    ("dma", "MAP_DMA / UNMAP_DMA throughput, one range (MiB/s, higher is better)"),
    ("small", "Many 4 KiB mappings: mean cost per op over a pass (us, lower is better)"),
    ("unmap-all", "UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_ALL (ms per call)"),
    ("open", "group + container + device open and close (us per cycle)"),
    ("access", "Config and BAR0 access through the device fd (us per op)"),
    ("irq", "edu interrupt: raise register write -> eventfd read (us)"),
    ("event", "Ours only: unbind -> netlink RELEASE_REQUESTED (ms)"),
]


def die(msg):
    sys.exit("bench: " + msg)


# ---- run -----------------------------------------------------------------

def git_info():
    def git(*args):
        try:
            return subprocess.run(["git", "-C", TOP] + list(args),
                                  capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    commit = git("rev-parse", "HEAD")
    return {"commit": commit or "unknown",
            "describe": git("describe", "--always", "--dirty") or "unknown",
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def qemu_version(qemu):
    try:
        out = subprocess.run([qemu, "--version"], capture_output=True,
                             text=True).stdout
    except OSError:
        return "unknown"
    m = re.search(r"version (\S+)", out)
    return m.group(1) if m else out.split("\n")[0]


def speedup(case):
    """Kernel's time over ours: > 1 means ours is faster."""
    o, k = case["stacks"].get("ours"), case["stacks"].get("kernel")
    if not o or not k or o["median"] <= 0 or k["median"] <= 0:
        return None
    r = (o["median"] / k["median"] if case["better"] == "higher"
         else k["median"] / o["median"])
    return round(r, 4)


def collect(lines):
    """vfio-bench's output lines -> (meta, skipped, cases)."""
    meta, skipped, cases, done = None, [], {}, False
    for line in lines:
        tag, _, rest = line.partition(": ")
        if tag not in ("bench-meta", "bench-skip", "bench-case", "bench-done"):
            continue
        try:
            obj = json.loads(rest)
        except ValueError:
            die("unparsable line from the guest: " + line)
        if tag == "bench-meta":
            meta = obj
        elif tag == "bench-skip":
            skipped.append(obj)
        elif tag == "bench-done":
            done = True
        else:
            c = cases.setdefault(obj["name"], {
                k: obj[k] for k in ("name", "group", "op", "backing", "size",
                                    "count", "unit", "better")})
            c.setdefault("stacks", {})[obj["stack"]] = {
                k: obj[k] for k in STATS + ("cdf", "round_medians")}
    for c in cases.values():
        c["speedup"] = speedup(c)
    return meta, skipped, list(cases.values()), done


def save(doc, path):
    """@doc as JSON: indented, sorted keys, each list of numbers one line."""
    text = json.dumps(doc, indent=1, sort_keys=True)
    text = re.sub(r"\[\s*((?:[-+0-9.eE]+|null)(?:,\s*(?:[-+0-9.eE]+|null))*)\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in
                                            m.group(1).split(",")) + "]",
                  text)
    with open(path + ".tmp", "w") as f:
        f.write(text + "\n")
    os.replace(path + ".tmp", path)


def cmd_run(a):
    iommus = [i for i in a.iommu.split(",") if i]
    stamp = datetime.datetime.now(datetime.timezone.utc)
    out = a.out or os.path.join(a.out_root, stamp.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    guest = "/opt/vfg/bin/vfio-bench --rounds %d --scale %g" % (a.rounds,
                                                                 a.scale)
    if a.max_size:
        guest += " --max-size %d" % a.max_size
    if a.quick:
        guest += " --quick"
    doc = {"schema": SCHEMA,
           "date": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "git": git_info(),
           "qemu": qemu_version(a.qemu),
           "host": {"cpus": os.cpu_count(),
                    "loadavg": [round(x, 2) for x in os.getloadavg()]},
           "settings": {"rounds": a.rounds, "scale": a.scale,
                        "quick": a.quick, "mem_mib": a.mem,
                        "max_size_mib": a.max_size or 1024},
           "runs": []}
    failed = False
    for iommu in iommus:
        print("== bench: %s IOMMU (guest log: %s)" %
              (iommu, os.path.join(out, "guest-%s.log" % iommu)), flush=True)
        cmd = ["python3", os.path.join(TOP, "tools/testing/vm/vmrun.py"),
               "--kernel", a.kernel, "--initrd", a.initrd, "--iommu", iommu,
               "--mem", str(a.mem), "--timeout", str(a.timeout), "-q",
               "--qemu", a.qemu, "--log",
               os.path.join(out, "guest-%s.log" % iommu), "--cmd", guest]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                             errors="replace")
        lines = []
        for line in p.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            if line.startswith("# vfio-bench:") or line.startswith("vmrun:"):
                print("   " + line, flush=True)
        rc = p.wait()
        meta, skipped, cases, done = collect(lines)
        if rc or not done or not meta:
            print("bench: the %s guest failed (exit %d%s); see its log" %
                  (iommu, rc, "" if done else ", no bench-done"))
            failed = True
        doc["runs"].append({"iommu": iommu,
                            "kernel": (meta or {}).get("kernel", "unknown"),
                            "guest": meta or {}, "skipped": skipped,
                            "cases": cases})
    path = os.path.join(out, "bench.json")
    save(doc, path)
    latest = os.path.join(os.path.dirname(out), "latest")
    if not a.out:
        try:
            if os.path.islink(latest) or os.path.exists(latest):
                os.remove(latest)
            os.symlink(os.path.basename(out), latest)
        except OSError:
            pass
    print_tables(doc)
    pngs = plot(doc, out)
    print("bench: JSON: %s" % path)
    for png in pngs:
        print("bench: plot: %s" % png)
    return 1 if failed else 0


# ---- tables --------------------------------------------------------------

def fmt(v):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    mag = abs(v)
    if mag >= 1000:
        return "%.0f" % v
    if mag >= 100:
        return "%.1f" % v
    if mag >= 10:
        return "%.2f" % v
    return "%.3f" % v


def cell(s):
    if not s:
        return "-"
    return "%s [%s-%s]" % (fmt(s["median"]), fmt(s["q1"]), fmt(s["q3"]))


def case_key(c):
    backing = {"4k": 0, "thp": 1, "hugetlb": 2}.get(c["backing"], 3)
    op = {"map": 0, "unmap": 1}.get(c["op"], 2)
    return (backing, op, c["count"], c["size"], c["name"])


def print_tables(doc, file=sys.stdout):
    print("bench: %s, QEMU %s, commit %s; cells: median [q1-q3] over n "
          "samples; speedup: kernel's time over ours (> 1: ours faster)" %
          (doc["date"], doc["qemu"], doc["git"]["describe"]), file=file)
    for run in doc["runs"]:
        print("\n=== IOMMU %s, guest kernel %s" % (run["iommu"], run["kernel"]),
              file=file)
        for group, title in GROUP_TITLES:
            cs = sorted((c for c in run["cases"] if c["group"] == group),
                        key=case_key)
            if not cs:
                continue
            print("\n%s" % title, file=file)
            w = max(len(c["name"]) for c in cs) + 2
            print("  %-*s %-28s %-28s %5s %8s" % (w, "case", "ours",
                                                   "kernel", "n", "speedup"),
                  file=file)
            for c in cs:
                st = c["stacks"]
                n = min(s["samples"] for s in st.values())
                sp = c.get("speedup")
                print("  %-*s %-28s %-28s %5d %8s" %
                      (w, c["name"], cell(st.get("ours")),
                       cell(st.get("kernel")), n,
                       "%.2fx" % sp if sp else "-"), file=file)
        for s in run["skipped"]:
            print("  skipped: %s: %s" % (s["case"], s["reason"]), file=file)


def cmd_table(a):
    print_tables(load(a.file))
    return 0


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        die("%s: %s" % (path, e))
    if doc.get("schema") != SCHEMA:
        die("%s: schema %r, not %r" % (path, doc.get("schema"), SCHEMA))
    return doc


# ---- plots ---------------------------------------------------------------

def gnuplot():
    exe = shutil.which("gnuplot")
    if exe:
        return exe
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: installing gnuplot-nox for the plots", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq",
                        "--no-install-recommends", "gnuplot-nox"],
                       env=env, stdout=subprocess.DEVNULL)
    return shutil.which("gnuplot")


def plot(doc, out):
    """PNG plots per IOMMU into @out; returns their paths."""
    exe = gnuplot()
    if not exe:
        print("bench: no gnuplot (apt-get install gnuplot-nox): no plots")
        return []
    data = os.path.join(out, "plot-data")
    os.makedirs(data, exist_ok=True)
    pngs = []
    style = ("set terminal pngcairo noenhanced size 1100,700 "
             "font 'sans,10'\n"
             "set grid\nset key outside right top\n")
    colors = {"4k": "#1f77b4", "thp": "#2ca02c", "hugetlb": "#d62728"}
    for run in doc["runs"]:
        io = run["iommu"]
        title = "%s IOMMU, guest %s, commit %s" % (io, run["kernel"],
                                                   doc["git"]["describe"])
        # Throughput against size, one panel per op.
        series = []
        for op in ("map", "unmap"):
            for b in ("4k", "thp", "hugetlb"):
                for st in STACKS:
                    pts = sorted((c["size"], c["stacks"][st]) for c in
                                 run["cases"] if c["group"] == "dma" and
                                 c["op"] == op and c["backing"] == b and
                                 st in c["stacks"])
                    if not pts:
                        continue
                    fn = os.path.join(data, "%s-dma-%s-%s-%s.dat" %
                                      (io, op, b, st))
                    with open(fn, "w") as f:
                        for size, s in pts:
                            f.write("%d %g %g %g\n" % (size, s["median"],
                                                       s["q1"], s["q3"]))
                    series.append((op, b, st, fn))
        if series:
            png = os.path.join(out, "throughput-%s.png" % io)
            gp = [style, "set output '%s'" % png,
                  "set multiplot layout 1,2 title \"MAP/UNMAP_DMA throughput "
                  "(median, bars q1-q3): %s\"" % title,
                  "set logscale xy", "set xlabel 'size (bytes)'",
                  "set ylabel 'MiB/s'", "set format x '%.0s%cB'",
                  "set key inside left top"]
            for op in ("map", "unmap"):
                parts = ["'%s' using 1:2:3:4 with yerrorlines lc rgb '%s' "
                         "dt %d pt %d title '%s %s'" %
                         (fn, colors[b], 1 if st == "ours" else 2,
                          7 if st == "ours" else 6, b, st)
                         for o, b, st, fn in series if o == op]
                if parts:
                    gp.append("set title '%s'" % op.upper())
                    gp.append("plot " + ", ".join(parts))
            gp.append("unset multiplot")
            if run_gnuplot(exe, gp, data, "throughput-%s" % io):
                pngs.append(png)
        # Small mappings: per-op cost against the number of mappings.
        parts = []
        for op in ("map", "unmap", "unmap-all"):
            for st in STACKS:
                grp = "unmap-all" if op == "unmap-all" else "small"
                pts = sorted((c["count"], c["stacks"][st]) for c in
                             run["cases"] if c["group"] == grp and
                             c["op"] == op and st in c["stacks"])
                if not pts:
                    continue
                fn = os.path.join(data, "%s-small-%s-%s.dat" % (io, op, st))
                # unmap-all is ms per call: per mapping in us, to compare.
                with open(fn, "w") as f:
                    for cnt, s in pts:
                        d = 1000.0 / cnt if op == "unmap-all" else 1.0
                        f.write("%d %g %g %g\n" % (cnt, s["median"] * d,
                                                   s["q1"] * d, s["q3"] * d))
                parts.append("'%s' using 1:2:3:4 with yerrorlines lc %d dt %d "
                             "pt %d title '%s %s'" %
                             (fn, {"map": 1, "unmap": 2, "unmap-all": 3}[op],
                              1 if st == "ours" else 2,
                              7 if st == "ours" else 6,
                              op + (" (per mapping)" if op == "unmap-all"
                                    else ""), st))
        if parts:
            png = os.path.join(out, "small-maps-%s.png" % io)
            gp = [style, "set output '%s'" % png,
                  "set title \"Many 4 KiB mappings: us per op against the "
                  "number of mappings (median, bars q1-q3)\\n%s\"" % title,
                  "set logscale x 2", "set xlabel 'mappings'",
                  "set ylabel 'us per op'", "set yrange [0:*]",
                  "plot " + ", ".join(parts)]
            if run_gnuplot(exe, gp, data, "small-maps-%s" % io):
                pngs.append(png)
        # Latency distributions: box (q1-q3, whiskers min-max, median) for
        # every latency case, ours and kernel side by side; log scale.
        lat = sorted((c for c in run["cases"] if c["group"] in
                      ("access", "irq", "open", "event", "unmap-all")),
                     key=lambda c: (c["group"], c["name"]))
        if lat:
            fn = os.path.join(data, "%s-latency.dat" % io)
            labels = []
            with open(fn, "w") as f:
                for i, c in enumerate(lat):
                    for j, st in enumerate(STACKS):
                        s = c["stacks"].get(st)
                        if not s:
                            continue
                        f.write("%g %g %g %g %g %g %d\n" %
                                (i * 3 + j, s["min"], s["q1"], s["median"],
                                 s["q3"], s["max"], j))
                    labels.append("'%s (%s)' %g" % (c["name"], c["unit"],
                                                    i * 3 + 0.5))
            png = os.path.join(out, "latency-%s.png" % io)
            gp = [style.replace("1100,700", "1300,750"),
                  "set output '%s'" % png,
                  "set title \"Latency distributions: box q1-q3, line "
                  "median, whiskers min-max; blue ours, orange kernel\\n%s\""
                  % title,
                  "set logscale y", "set ylabel 'time (unit in label)'",
                  "set xtics rotate by -35 (%s)" % ", ".join(labels),
                  "set xrange [-1:%d]" % (len(lat) * 3 - 1),
                  "set boxwidth 0.8", "set style fill solid 0.5 border -1",
                  "unset key",
                  "plot '%s' using 1:3:2:6:5:($7==0?0x1f77b4:0xff7f0e) with "
                  "candlesticks whiskerbars lc rgb variable, "
                  "'' using 1:4:4:4:4 with candlesticks lc rgb 'black' lw 2"
                  % fn]
            if run_gnuplot(exe, gp, data, "latency-%s" % io):
                pngs.append(png)
        # CDFs of the 4-byte access and the interrupt latencies, one panel
        # each; a colour per case, solid ours, dashed kernel.
        panels = []
        for label, pick in (
                ("4-byte config and BAR0 access",
                 lambda c: c["group"] == "access" and c["size"] == 4),
                ("interrupt delivery", lambda c: c["group"] == "irq")):
            parts = []
            cs = sorted((c for c in run["cases"] if pick(c)),
                        key=lambda c: c["name"])
            for i, c in enumerate(cs):
                for st in STACKS:
                    s = c["stacks"].get(st)
                    if not s or not s.get("cdf"):
                        continue
                    fn = os.path.join(data, "%s-cdf-%s-%s.dat" %
                                      (io, c["name"].replace(" ", "_"), st))
                    with open(fn, "w") as f:
                        for j, v in enumerate(s["cdf"]):
                            f.write("%g %g\n" % (v, j / (len(s["cdf"]) - 1)))
                    parts.append("'%s' using 1:2 with linespoints lc %d dt %d "
                                 "pt %d lw 2 title '%s %s'" %
                                 (fn, i + 1, 1 if st == "ours" else 2,
                                  7 if st == "ours" else 6, c["name"], st))
            if parts:
                panels.append((label, parts))
        if panels:
            png = os.path.join(out, "cdf-%s.png" % io)
            gp = [style, "set output '%s'" % png,
                  "set multiplot layout 1,%d title \"Latency CDFs (5%% "
                  "steps; solid ours, dashed kernel): %s\"" %
                  (len(panels), title),
                  "set logscale x", "set xlabel 'us'",
                  "set ylabel 'fraction of samples'", "set yrange [0:1]",
                  "set key inside right bottom"]
            for label, parts in panels:
                gp += ["set title '%s'" % label, "plot " + ", ".join(parts)]
            gp.append("unset multiplot")
            if run_gnuplot(exe, gp, data, "cdf-%s" % io):
                pngs.append(png)
    return pngs


def run_gnuplot(exe, lines, data, name):
    script = os.path.join(data, name + ".gp")
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.run([exe, script], capture_output=True, text=True)
    if p.returncode:
        print("bench: gnuplot %s failed: %s" % (script, p.stderr.strip()))
        return False
    return True


def cmd_plot(a):
    os.makedirs(a.dir, exist_ok=True)
    for png in plot(load(a.file), a.dir):
        print("bench: plot: %s" % png)
    return 0


# ---- compare -------------------------------------------------------------

def compare(base, new, threshold):
    """Changes beyond the noise, per IOMMU, case and stack.

    A figure has changed when the interquartile ranges of the two runs do
    not overlap (new q1 above base q3, or new q3 below base q1) and the
    medians differ by more than @threshold percent.  Better or worse by
    the case's direction (throughput: higher; times: lower)."""
    rows, flagged = [], {"regression": 0, "improvement": 0}
    bruns = {r["iommu"]: r for r in base["runs"]}
    for run in new["runs"]:
        br = bruns.get(run["iommu"])
        if not br:
            rows.append((run["iommu"], "-", "-", "not in base", "", "", ""))
            continue
        bcases = {c["name"]: c for c in br["cases"]}
        for c in sorted(run["cases"], key=lambda c: (c["group"],) +
                        case_key(c)):
            bc = bcases.get(c["name"])
            if not bc:
                continue
            for st in STACKS:
                b, n = bc["stacks"].get(st), c["stacks"].get(st)
                if not b or not n or b["median"] <= 0:
                    continue
                change = (n["median"] - b["median"]) / b["median"] * 100
                apart = n["q1"] > b["q3"] or n["q3"] < b["q1"]
                verdict = ""
                if apart and abs(change) > threshold:
                    up = change > 0
                    good = up == (c["better"] == "higher")
                    verdict = "improvement" if good else "regression"
                    flagged[verdict] += 1
                rows.append((run["iommu"], c["name"], st, c["unit"],
                             "%s -> %s" % (cell(b), cell(n)),
                             "%+.1f%%" % change, verdict))
    return rows, flagged


def cmd_compare(a):
    base, new = load(a.base), load(a.new)
    print("bench-compare: base %s (%s, %s), new %s (%s, %s)" %
          (a.base, base["git"]["describe"], base["date"], a.new,
           new["git"]["describe"], new["date"]))
    print("rule: flagged when the q1-q3 ranges do not overlap and the "
          "medians differ by more than %g%%" % a.threshold)
    rows, flagged = compare(base, new, a.threshold)
    for r in rows:
        if a.all or r[6]:
            print("  %-6s %-26s %-6s %-6s %-58s %8s %s" % r)
    print("bench-compare: %d regressions, %d improvements, %d figures "
          "compared" % (flagged["regression"], flagged["improvement"],
                        len(rows)))
    return 1 if a.strict and flagged["regression"] else 0


# ---- validate (make check) -------------------------------------------------

REQUIRED = ["map 4k 4K", "unmap 4k 4K", "map thp 4K", "unmap thp 4K",
            "map hugetlb 4K", "unmap hugetlb 4K", "config read 4B",
            "config write 4B", "config read 4K", "config write 4K",
            "bar0 read 4B", "bar0 write 4B",
            "bar0 read 4K", "bar0 write 4K", "intx latency", "msi latency",
            "open-close cycle", "unbind release-request"]
REQUIRED_GROUPS = ["dma", "small", "unmap-all", "open", "access", "irq",
                   "event"]


def validate(doc):
    """(name, problem or None) checks of a bench JSON document."""
    checks = []

    def check(name, ok, why=""):
        checks.append((name, None if ok else why or "failed"))

    def finite(v):
        return isinstance(v, (int, float)) and math.isfinite(v) and v > 0

    check("schema", doc.get("schema") == SCHEMA, repr(doc.get("schema")))
    for k in ("date", "qemu"):
        check("field %s" % k, isinstance(doc.get(k), str) and doc[k], "missing")
    check("git commit", re.fullmatch(r"[0-9a-f]{40}|unknown",
                                     doc.get("git", {}).get("commit", "")),
          "missing")
    check("runs", isinstance(doc.get("runs"), list) and doc["runs"], "none")
    for run in doc.get("runs", []):
        io = run.get("iommu", "?")
        check("%s: kernel" % io, run.get("kernel") not in (None, "", "unknown"),
              "missing")
        cases = {c.get("name"): c for c in run.get("cases", [])}
        skipped = {s.get("case") for s in run.get("skipped", [])}
        for name in REQUIRED:
            check("%s: case %s" % (io, name),
                  name in cases or "map/unmap " + name.split(" ", 1)[-1]
                  in skipped, "missing")
        groups = {c.get("group") for c in cases.values()}
        for g in REQUIRED_GROUPS:
            check("%s: group %s" % (io, g), g in groups, "missing")
        for name, c in sorted(cases.items()):
            want = ("ours",) if c.get("group") in OURS_ONLY_GROUPS else STACKS
            bad = []
            for st in want:
                s = c.get("stacks", {}).get(st)
                if not s:
                    bad.append("no %s" % st)
                    continue
                for k in STATS:
                    if not finite(s.get(k)):
                        bad.append("%s %s=%r" % (st, k, s.get(k)))
                if not bad and not (s["min"] <= s["q1"] <= s["median"] <=
                                    s["q3"] <= s["max"]):
                    bad.append("%s: quartiles out of order" % st)
            if c.get("group") not in OURS_ONLY_GROUPS and not bad:
                if not finite(c.get("speedup")):
                    bad.append("speedup=%r" % c.get("speedup"))
            if c.get("unit") not in ("MiB/s", "us", "ms") or \
                    c.get("better") not in ("higher", "lower"):
                bad.append("unit/better")
            check("%s: %s" % (io, name), not bad, ", ".join(bad))
    return checks


PLOTS = ("throughput", "small-maps", "latency", "cdf")


def validate_plots(doc, d):
    """The PNGs "run" draws, one set per IOMMU, present and PNG."""
    checks = []
    for run in doc.get("runs", []):
        for p in PLOTS:
            fn = os.path.join(d, "%s-%s.png" % (p, run.get("iommu")))
            try:
                with open(fn, "rb") as f:
                    ok = f.read(8) == b"\x89PNG\r\n\x1a\n"
            except OSError:
                ok = False
            checks.append(("plot %s" % os.path.basename(fn),
                           None if ok else "missing or not a PNG"))
    return checks


def cmd_validate(a):
    doc = load(a.file)
    checks = validate(doc)
    if a.plots:
        checks += validate_plots(doc, a.plots)
    failed = 0
    for i, (name, problem) in enumerate(checks, 1):
        if problem:
            failed += 1
            print("not ok %d - bench: %s: %s" % (i, name, problem))
        elif a.verbose:
            print("ok %d - bench: %s" % (i, name))
    print("bench-validate: %d checks, %d failed" % (len(checks), failed))
    if a.results:
        with open(a.results, "w") as f:
            f.write("%d %d 0\n" % (len(checks) - failed, failed))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="boot, measure, write JSON and PNGs")
    r.add_argument("--kernel", required=True)
    r.add_argument("--initrd", required=True)
    r.add_argument("--iommu", default="intel,amd")
    r.add_argument("--out", help="directory (default OUT_ROOT/DATE, and "
                   "OUT_ROOT/latest a link to it)")
    r.add_argument("--out-root", default=os.path.join(TOP, "build", "bench"))
    r.add_argument("--rounds", type=int, default=6)
    r.add_argument("--scale", type=float, default=2.0,
                   help="multiply every sample count")
    r.add_argument("--max-size", type=int, default=0, help="MiB")
    r.add_argument("--quick", action="store_true")
    r.add_argument("--mem", type=int, default=3072, help="guest MiB")
    r.add_argument("--timeout", type=int, default=1800, help="s per guest")
    r.add_argument("--qemu", default="qemu-system-x86_64")
    t = sub.add_parser("table")
    t.add_argument("file")
    p = sub.add_parser("plot")
    p.add_argument("file")
    p.add_argument("dir")
    c = sub.add_parser("compare")
    c.add_argument("base")
    c.add_argument("new")
    c.add_argument("--threshold", type=float, default=5.0,
                   help="percent (default 5)")
    c.add_argument("--all", action="store_true", help="every figure")
    c.add_argument("--strict", action="store_true",
                   help="exit 1 if anything regressed")
    v = sub.add_parser("validate")
    v.add_argument("file")
    v.add_argument("--results", help="write 'passed failed 0' here")
    v.add_argument("--plots", metavar="DIR",
                   help="also check the PNGs in DIR")
    v.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    return {"run": cmd_run, "table": cmd_table, "plot": cmd_plot,
            "compare": cmd_compare, "validate": cmd_validate}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
