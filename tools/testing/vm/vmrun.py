#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boot the vfio-groups test guest, run commands in it, report the result.

  vmrun.py --initrd build/vm/initramfs.cpio --kernel .../vmlinuz \\
           [--topology default] [--iommu intel|amd] [--timeout 300] \\
           [--cmd 'CMD' ...] [--script FILE] [--host-test FILE ...] \\
           [--final-script FILE] [--append ARGS] [--cpu MODEL] \\
           [--timeout-scale N] [--allow-taint FLAGS] [--results FILE] \\
           [--log FILE]

The guest runs the commands (as one shell script, /run.sh) with their output
on the test channel (guest ttyS1), which this runner streams and parses as
TAP.  The kernel console (guest ttyS0) is streamed with a "| " prefix and
watched for oopses, BUGs, WARNs, lockups, hung tasks and sanitizer reports;
any of them, or a taint flag other than O (out-of-tree) and E (unsigned
module) appearing during the run, fails the run; --allow-taint FLAGS allows
more for one run (U for the no-IOMMU test, whose mode taints by design).

Host-side tests (--host-test FILE) are Python files defining run(vm); they
run in a thread beside the guest and get the VM object: vm.qmp (commands and
events), vm.wait_output(regex), vm.send(line) (a line on the guest's ttyS1),
vm.ok(name) / vm.fail(name, why) to report results.

The last line printed is "vmrun: N passed, N failed, N skipped"; the same
counts are written to --results.  Exit status is 0 only with no failure.
"""

import argparse
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import importlib.util

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import topologies  # noqa: E402
from cpio import Cpio  # noqa: E402

# Console lines that mean the kernel is unhealthy.
BAD_CONSOLE = re.compile(
    r"(BUG:|Oops|WARNING: CPU|WARNING: .* at |general protection fault|"
    r"Kernel panic|soft lockup|hard LOCKUP|rcu_.*detected stall|"
    r"blocked for more than|KASAN|UBSAN|kmemleak: .*leak|"
    r"possible (recursive|circular) locking|lockdep|"
    r"unreferenced object|list_(add|del) corruption|refcount_t:)")
# Lockdep and RCU-lockdep reports whose first line the above does not catch
# (a debug kernel prints them; see "make check-debug").
BAD_LOCKDEP = re.compile(
    r"WARNING: (inconsistent lock state|bad unlock balance|held lock freed|"
    r"lock held when returning to user space|possible irq lock inversion|"
    r"\S+-safe -> \S+-unsafe lock order|suspicious RCU usage|"
    r"Nested lock was not taken|bad contention detected)")

# Lockdep cycles in the kernel itself that tests trigger; see _lockdep_report.
KNOWN_LOCKDEP = re.compile(r"^pciehp_unconfigure_device\+")

TAINT_ALLOWED = (1 << 12) | (1 << 13)   # O: out-of-tree, E: unsigned
TAINT_NAMES = "PFSRMBUDAWCIOELKXTN"


def taint_str(mask):
    return "".join(c for i, c in enumerate(TAINT_NAMES) if mask & (1 << i))


def taint_mask(letters):
    """The taint bits of flag letters ("U"), as /proc/sys/kernel/tainted."""
    bad = [c for c in letters if c not in TAINT_NAMES]
    if bad:
        raise SystemExit("vmrun: unknown taint flag(s) %s" % "".join(bad))
    return sum(1 << TAINT_NAMES.index(c) for c in set(letters))


class QMP:
    """A QEMU Machine Protocol client: commands and asynchronous events."""

    def __init__(self, path, timeout=30, scale=1.0):
        self.scale = scale      # --timeout-scale: slower guests wait longer
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.file = self.sock.makefile("rwb", buffering=0)
        self.events = queue.Queue()
        self.replies = queue.Queue()
        self.lock = threading.Lock()
        json.loads(self.file.readline())        # greeting
        self.file.write(b'{"execute": "qmp_capabilities"}\n')
        json.loads(self.file.readline())
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.file:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "event" in msg:
                self.events.put(msg)
            else:
                self.replies.put(msg)

    def command(self, name, timeout=30, **args):
        """Run a QMP command; return its result or raise RuntimeError."""
        req = {"execute": name}
        if args:
            req["arguments"] = args
        with self.lock:
            self.file.write(json.dumps(req).encode() + b"\n")
            reply = self.replies.get(timeout=timeout * self.scale)
        if "error" in reply:
            raise RuntimeError("QMP %s: %s" % (name, reply["error"]))
        return reply.get("return")

    def wait_event(self, name, timeout=30, match=None):
        """Wait for event NAME whose data includes MATCH; return it."""
        deadline = time.time() + timeout * self.scale
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no QMP event %s" % name)
            ev = self.events.get(timeout=left)
            data = ev.get("data", {})
            if ev["event"] == name and all(data.get(k) == v
                                           for k, v in (match or {}).items()):
                return ev

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class TapCounter:
    """Counts TAP results, binary by binary, from the test channel."""

    RESULT = re.compile(r"^(not ok|ok)\s+\d+(.*)$")

    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.plan = None
        self.seen = 0
        self.missing = []

    def _close_binary(self):
        if self.plan is not None and self.seen < self.plan:
            self.missing.append(self.plan - self.seen)
            self.failed += self.plan - self.seen
        self.plan, self.seen = None, 0

    def line(self, line):
        if line.startswith("TAP version"):
            self._close_binary()
            return
        m = re.match(r"^1\.\.(\d+)", line)
        if m:
            self.plan = int(m.group(1))
            return
        m = self.RESULT.match(line)
        if not m:
            return
        self.seen += 1
        if m.group(1) == "not ok":
            self.failed += 1
        elif re.search(r"#\s*SKIP", m.group(2), re.I):
            self.skipped += 1
        else:
            self.passed += 1

    def finish(self):
        self._close_binary()


class VM:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="vmrun.")
        self.tap = TapCounter()
        self.exit_code = None
        self.taint = None
        self.bad = []           # console lines matching BAD_CONSOLE
        self.errors = []        # runner-level failures
        self.host_results = []
        self.output = []
        self.output_cv = threading.Condition()
        self.booted = None
        self.log = open(args.log, "w") if args.log else None
        self.log_lock = threading.Lock()
        self.qmp = None
        self.proc = None
        self.test_conn = None

    # ---- guest image -------------------------------------------------
    def _initrd(self):
        overlay = Cpio()
        script = ["#!/bin/sh", "rc=0"]
        for c in self.args.cmd or []:
            script.append("echo '# vmrun: %s'" % c.replace("'", "'\\''"))
            script.append("%s || { echo \"# vmrun: exit $? from: %s\"; rc=1; }"
                          % (c, c.replace('"', '\\"').replace("$", "\\$")))
        if self.args.script:
            with open(self.args.script) as f:
                script.append(f.read())
        for mod in self.host_modules:
            script.append(getattr(mod, "GUEST", ""))
        if self.args.final_script:
            with open(self.args.final_script) as f:
                script.append(f.read())
        script.append("exit $rc")
        overlay.file("run.sh", "\n".join(script) + "\n", 0o755)
        env = ["VFG_TOPOLOGY=%s" % self.args.topology,
               "VFG_IOMMU=%s" % self.args.iommu,
               "VFG_MODULE=/opt/vfg/vfio.ko"]
        env += self.args.env or []
        overlay.file("etc/vfg.env",
                     "".join("export %s\n" % e for e in env))
        path = os.path.join(self.tmp, "initrd")
        with open(path, "wb") as out, open(self.args.initrd, "rb") as base:
            shutil.copyfileobj(base, out)
            out.write(overlay.bytes())
        return path

    def qemu_cmdline(self, initrd):
        a = self.args
        append = ["console=ttyS0", "quiet", "panic=-1", "oops=panic"
                  if a.panic_on_oops else "", "rdinit=/init",
                  "printk.time=1", "hung_task_panic=0",
                  "sysrq_always_enabled"]
        dev = []
        if a.iommu in ("intel", "intel-sc"):
            # intel-sc: VT-d with Snoop Control, so that DMA can be made
            # cache coherent (VFIO_DMA_CC_IOMMU).
            dev.append("intel-iommu,snoop-control=on"
                       if a.iommu == "intel-sc" else "intel-iommu")
            append.append("intel_iommu=on")
        elif a.iommu == "amd":
            dev.append("amd-iommu")
            append.append("amd_iommu=on")
        elif a.iommu != "none":
            raise SystemExit("vmrun: unknown --iommu %s" % a.iommu)
        dev += topologies.devices(a.topology)
        append.append("iommu.strict=1")
        if a.append:
            append.append(a.append)
        cmd = [a.qemu, "-machine", "q35,accel=tcg", "-m", str(a.mem),
               "-smp", str(a.smp)]
        if a.cpu:
            cmd += ["-cpu", a.cpu]
        cmd += ["-nodefaults", "-no-user-config",
               "-display", "none", "-no-reboot",
               "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
               "-kernel", a.kernel, "-initrd", initrd,
               "-append", " ".join(x for x in append if x),
               "-chardev", "socket,id=con,path=%s" % self.con_path,
               "-serial", "chardev:con",
               "-chardev", "socket,id=test,path=%s" % self.test_path,
               "-serial", "chardev:test",
               "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
               "-netdev", "hubport,id=nd0,hubid=0"]
        for d in dev:
            if d.startswith("-object "):
                cmd += ["-object", d[len("-object "):]]
            else:
                cmd += ["-device", d]
        return cmd

    # ---- streams ------------------------------------------------------
    def _write_log(self, s):
        if self.log:
            with self.log_lock:
                self.log.write(s + "\n")
                self.log.flush()

    def _console(self, conn):
        splat = None            # lines of a lockdep report being read
        for raw in conn.makefile("rb"):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if splat is None and "possible circular locking" in line:
                splat = [line]
            elif splat is not None:
                splat.append(line)
                if "</TASK>" in line or len(splat) > 400:
                    self._lockdep_report(splat)
                    splat = None
            elif BAD_CONSOLE.search(line) or BAD_LOCKDEP.search(line):
                self.bad.append(line)
            self._write_log("| " + line)
            if not self.args.quiet:
                print("| " + line, flush=True)

    def _lockdep_report(self, lines):
        """A lockdep cycle fails the run, unless it is a known upstream one.

        KNOWN_LOCKDEP: 6.1's pciehp takes its slot's reset_lock inside
        pci_rescan_remove_lock in pciehp_unconfigure_device, the reverse of
        its interrupt thread's order; lockdep reports it on any hot-unplug
        of a device whose slot was reset.  None of our locks is in it.
        """
        text = "\n".join(lines)
        m = re.search(r"is trying to acquire lock:\n.*\n?.*at: (\S+)", text)
        if m and KNOWN_LOCKDEP.search(m.group(1)) and \
                not re.search(r"\[vfio\]", text):
            print("vmrun: known upstream lockdep report (not ours): %s"
                  % m.group(1), flush=True)
            self._write_log("vmrun: known upstream lockdep report: %s"
                            % m.group(1))
            return
        self.bad.append(lines[0])

    def _test(self, conn):
        for raw in conn.makefile("rb"):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self._write_log(line)
            m = re.match(r"^VMRUN-(\w+) ?(.*)$", line)
            if m:
                key, val = m.group(1), m.group(2)
                if key == "EXIT":
                    self.exit_code = int(val)
                elif key == "TAINT":
                    self.taint = tuple(int(x) for x in val.split())
                elif key == "BOOTED":
                    self.booted = float(val)
            else:
                self.tap.line(line)
                print(line, flush=True)
            with self.output_cv:
                self.output.append(line)
                self.output_cv.notify_all()

    # ---- API for host-side tests -----------------------------------
    def wait_output(self, regex, timeout=60, start=0):
        """Wait for a test-channel line matching REGEX; return its index."""
        pat = re.compile(regex)
        deadline = time.time() + timeout * self.args.timeout_scale
        with self.output_cv:
            i = start
            while True:
                while i < len(self.output):
                    if pat.search(self.output[i]):
                        return i
                    i += 1
                left = deadline - time.time()
                if left <= 0:
                    raise TimeoutError("no guest output matching %r" % regex)
                self.output_cv.wait(left)

    def send(self, line):
        """Send LINE to the guest; guest scripts read it from stdin."""
        self.test_conn.sendall(line.encode() + b"\n")

    def ok(self, name):
        with self.log_lock:
            self.host_results.append((name, True, ""))
        self._write_log("ok - host: %s" % name)
        print("ok - host: %s" % name, flush=True)

    def fail(self, name, why):
        with self.log_lock:
            self.host_results.append((name, False, why))
        self._write_log("not ok - host: %s: %s" % (name, why))
        print("not ok - host: %s: %s" % (name, why), flush=True)

    # ---- run ----------------------------------------------------------
    def _listen(self, name):
        path = os.path.join(self.tmp, name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        return s, path

    def _load_host_tests(self):
        """Import each --host-test file; its GUEST snippet joins /run.sh."""
        self.host_modules = []
        for path in self.args.host_test or []:
            name = os.path.splitext(os.path.basename(path))[0]
            spec = importlib.util.spec_from_file_location(
                "hosttest_" + name, path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            mod.vmrun_name = name
            self.host_modules.append(mod)

    def _host_test(self, mod):
        try:
            mod.run(self)
        except Exception as e:  # a broken host test is a failed test
            self.fail(mod.vmrun_name, "%s: %s" % (type(e).__name__, e))

    def _host_tests(self):
        """Each host test in its own thread: they wait on different things."""
        threads = [threading.Thread(target=self._host_test, args=(m,),
                                    daemon=True) for m in self.host_modules]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def run(self):
        a = self.args
        self._load_host_tests()
        initrd = self._initrd()
        con_srv, self.con_path = self._listen("console.sock")
        test_srv, self.test_path = self._listen("test.sock")
        self.qmp_path = os.path.join(self.tmp, "qmp.sock")
        cmd = self.qemu_cmdline(initrd)
        self._write_log("# " + " ".join(cmd))
        t0 = time.time()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        con_srv.settimeout(30)
        test_srv.settimeout(30)
        try:
            con, _ = con_srv.accept()
            self.test_conn, _ = test_srv.accept()
        except socket.timeout:
            self.proc.kill()
            self.errors.append("QEMU did not connect its serial ports")
            return self._finish(time.time() - t0)
        threads = [threading.Thread(target=self._console, args=(con,)),
                   threading.Thread(target=self._test,
                                    args=(self.test_conn,))]
        for t in threads:
            t.start()
        host = None
        if a.host_test:
            self.qmp = QMP(self.qmp_path, scale=a.timeout_scale)
            host = threading.Thread(target=self._host_tests, daemon=True)
            host.start()
        timed_out = False
        try:
            self.proc.wait(timeout=a.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self._dump_tasks()
            self.proc.kill()
            self.proc.wait()
        for t in threads:
            t.join(timeout=5)
        if host:
            host.join(timeout=10)
        if self.qmp:
            self.qmp.close()
        if timed_out:
            self.errors.append("timeout: guest still running after %ds"
                               % a.timeout)
        return self._finish(time.time() - t0)

    def _dump_tasks(self):
        """Before killing a hung guest, have its kernel print the blocked
        tasks and every task's stack on the console (SysRq w, t), so the
        log shows where it hangs."""
        try:
            qmp = self.qmp or QMP(self.qmp_path, timeout=5)
            # Where the vCPUs are (a guest frozen by QEMU answers no
            # SysRq), the run state, the PCI devices and what the CPUs
            # see at the HPET and the local APIC (the guest's clock).
            for hmp in ("info status", "info cpus", "info lapic 0",
                        "info lapic 1", "info registers -a", "info pci",
                        "info mtree -f", "xp /8wx 0xfed00000",
                        "xp /4wx 0xfed000f0"):
                out = qmp.command("human-monitor-command", timeout=5,
                                  **{"command-line": hmp})
                self._write_log("# vmrun: at timeout: (qemu) " + hmp)
                for line in (out or "").splitlines():
                    self._write_log("# vmrun:   " + line.rstrip())
            for key in ("alt-sysrq-w", "alt-sysrq-t"):
                qmp.command("human-monitor-command", timeout=5,
                            **{"command-line": "sendkey " + key})
                time.sleep(3)
        except Exception as e:  # best effort: the guest is failing anyway
            self._write_log("# vmrun: no task dump: %s" % e)

    def _finish(self, elapsed):
        self.tap.finish()
        p, f, s = self.tap.passed, self.tap.failed, self.tap.skipped
        problems = []
        if self.bad:
            problems.append("kernel log: %d bad line(s), first: %s"
                            % (len(self.bad), self.bad[0].strip()))
        problems += self.errors
        if self.tap.missing:    # already counted as failed, one each
            print("vmrun: FAIL: test binaries stopped early: %d result(s) "
                  "missing" % sum(self.tap.missing), flush=True)
        if self.exit_code is None:
            problems.append("guest did not finish its commands")
        elif self.exit_code != 0 and f == 0:
            problems.append("guest commands exited %d" % self.exit_code)
        if self.taint:
            new = self.taint[1] & ~self.taint[0] & ~TAINT_ALLOWED
            new &= ~taint_mask(self.args.allow_taint or "")
            if new:
                problems.append("kernel taint gained %s (%#x)"
                                % (taint_str(new), new))
        for _, good, _ in self.host_results:
            if good:
                p += 1
            else:
                f += 1
        f += len(problems)
        for pr in problems:
            self._write_log("vmrun: FAIL: %s" % pr)
            print("vmrun: FAIL: %s" % pr, flush=True)
        boot = " (booted in %.1fs)" % self.booted if self.booted else ""
        print("vmrun: %s/%s: %.1fs%s" % (self.args.topology, self.args.iommu,
                                         elapsed, boot), flush=True)
        if self.args.results:
            with open(self.args.results, "w") as r:
                r.write("%d %d %d\n" % (p, f, s))
        print("vmrun: %d passed, %d failed, %d skipped" % (p, f, s),
              flush=True)
        if self.log:
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return 1 if f else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True, help="base initramfs")
    ap.add_argument("--topology", default="default",
                    choices=sorted(topologies.TOPOLOGIES))
    ap.add_argument("--iommu", default="intel",
                    help="intel (VT-d), amd (AMD-Vi) or none")
    ap.add_argument("--cmd", action="append", help="guest command")
    ap.add_argument("--script", help="guest shell script, after --cmd")
    ap.add_argument("--host-test", action="append", help="host test .py")
    ap.add_argument("--env", action="append", metavar="KEY=VALUE",
                    help="environment of the guest's commands")
    ap.add_argument("--final-script",
                    help="guest shell script run last, after the host "
                    "tests' guest parts")
    ap.add_argument("--timeout", type=int, default=300, help="seconds")
    ap.add_argument("--timeout-scale", type=float, default=1.0,
                    help="multiply the host tests' waits (wait_output, QMP) "
                    "by this, for slow guest kernels")
    ap.add_argument("--mem", type=int, default=1024, help="MiB")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--cpu", help="QEMU -cpu model (default: QEMU's, "
                    "qemu64); DPDK needs SSE4.2, e.g. Nehalem")
    ap.add_argument("--append", help="more kernel command line")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--panic-on-oops", action="store_true")
    ap.add_argument("--allow-taint", metavar="FLAGS",
                    help="taint flags this run may gain besides O and E, "
                    "e.g. U for a no-IOMMU test")
    ap.add_argument("--results", help="write 'passed failed skipped' here")
    ap.add_argument("--log", help="full log: console and test channel")
    ap.add_argument("-q", "--quiet", action="store_true",
                    help="do not stream the kernel console")
    args = ap.parse_args()
    vm = VM(args)
    rc = vm.run()
    if vm.booted is None:
        # The guest kernel never reached /init: nothing of ours ran yet.
        # Under TCG on a loaded host, 6.1 sometimes panics at boot
        # ("timer doesn't work through Interrupt-remapped IO-APIC"); one
        # more boot, said aloud, and its result is the run's.
        print("vmrun: the guest did not boot; booting it once more",
              flush=True)
        rc = VM(args).run()
    sys.exit(rc)


if __name__ == "__main__":
    main()
