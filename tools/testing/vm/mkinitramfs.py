#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Build the base initramfs of the vfio-groups test guest.

Holds static busybox, the guest /init, our vfio.ko, the kernel's own VFIO
modules (and a few others the tests bind) for side-by-side runs, the static
test binaries and the userspace tools.  Uncompressed: under TCG the guest
would spend longer inflating it than the host spends copying it.

Guest layout:
  /opt/vfg/vfio.ko           our module
  /opt/vfg/test-modules/     the selftests' helper modules (--test-module)
  /opt/vfg/tests/            selftest binaries (and their data files)
  /opt/vfg/bin/              samples and tools (on PATH)
  /lib/modules/$KVER/        the kernel's modules listed below, modules.dep

Real userspace clients (QEMU, DPDK) can be added, at their host paths:
  --with-binary PATH         an ELF program or shared library, every library
                             ldd reports for it and the dynamic loader
  --with-tree SRC[:DST]      a data directory or file (firmware, plugins);
                             symbolic links inside SRC are kept as links
The default image has none of them.
"""

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpio import Cpio  # noqa: E402

# The kernel's own VFIO stack, plus drivers that tests try to bind.
KERNEL_MODULES = [
    "vfio", "vfio_iommu_type1", "vfio-pci-core", "vfio-pci", "vfio_virqfd",
    "irqbypass", "uio", "uio_pci_generic", "pci-stub", "e1000e", "nvme",
    "fuse",
]

HERE = os.path.dirname(os.path.abspath(__file__))


def modules_dep(kroot, kver):
    """Map module name -> (relative path, [relative dep paths])."""
    deps = {}
    path = os.path.join(kroot, "lib/modules", kver, "modules.dep")
    with open(path) as f:
        for line in f:
            mod, _, rest = line.partition(":")
            name = os.path.basename(mod).split(".ko")[0]
            deps[name] = (mod, rest.split())
    return deps


def closure(deps, names):
    """Every module path needed to load NAMES, dependencies included."""
    want, todo = set(), []
    for n in names:
        alt = n.replace("-", "_")
        key = n if n in deps else alt if alt in deps else None
        if key is None:
            print("mkinitramfs: warning: no module %s" % n, file=sys.stderr)
            continue
        todo.append(deps[key][0])
    by_path = {p: d for p, d in deps.values()}
    while todo:
        p = todo.pop()
        if p in want:
            continue
        want.add(p)
        todo.extend(by_path.get(p, []))
    return sorted(want)


def add_tree(img, src, dst):
    for root, _, files in os.walk(src):
        for fn in files:
            full = os.path.join(root, fn)
            rel = os.path.relpath(full, src)
            img.copy(os.path.join(dst, rel), full)


def ldd(path):
    """(path as ldd names it) for every library PATH needs, loader included."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True)
    if out.returncode != 0:
        # "not a dynamic executable": a static program needs nothing more.
        if "not a dynamic executable" in out.stdout + out.stderr:
            return []
        raise SystemExit("mkinitramfs: ldd %s failed: %s"
                         % (path, out.stderr.strip()))
    libs = []
    for line in out.stdout.splitlines():
        line = line.strip()
        if "=> not found" in line:
            raise SystemExit("mkinitramfs: %s: %s" % (path, line))
        m = re.match(r"^\S+ => (/\S+) \(0x[0-9a-f]+\)$", line) or \
            re.match(r"^(/\S+) \(0x[0-9a-f]+\)$", line)
        if m:
            libs.append(m.group(1))
    return libs


class Extras:
    """Host files added at their own paths, each real file stored once:
    a second path to the same file becomes a symbolic link to the first."""

    def __init__(self, img):
        self.img = img
        self.stored = {}        # real host path -> guest path holding it
        self.paths = set()

    def copy(self, path):
        path = os.path.normpath(path)
        if path in self.paths:
            return
        self.paths.add(path)
        real = os.path.realpath(path)
        if real in self.stored:
            self.img.symlink(path, self.stored[real])
        else:
            self.stored[real] = path
            self.img.copy(path, real)

    def binary(self, path):
        if not os.path.isfile(path):
            raise SystemExit("mkinitramfs: --with-binary %s: no such file"
                             % path)
        self.copy(path)
        for lib in ldd(path):
            self.copy(lib)

    def tree(self, spec):
        src, _, dst = spec.partition(":")
        src = os.path.normpath(src)
        dst = os.path.normpath(dst or src)
        if os.path.isfile(src):
            self.copy_as(src, dst)
            return
        if not os.path.isdir(src):
            raise SystemExit("mkinitramfs: --with-tree %s: no such file or "
                             "directory" % src)
        for root, dirs, files in os.walk(src):
            for fn in sorted(dirs + files):
                full = os.path.join(root, fn)
                rel = os.path.join(dst, os.path.relpath(full, src))
                if os.path.islink(full):
                    self.img.symlink(rel, os.readlink(full))
                    self.paths.add(rel)
                elif os.path.isfile(full):
                    self.copy_as(full, rel)

    def copy_as(self, src, dst):
        if dst in self.paths:
            return
        self.paths.add(dst)
        self.img.copy(dst, os.path.realpath(src))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--kimg", required=True,
                    help="unpacked linux-image package root")
    ap.add_argument("--kver", required=True)
    ap.add_argument("--module", required=True, help="our vfio.ko")
    ap.add_argument("--test-module", action="append", default=[],
                    metavar="PATH", help="a selftests' helper module, put in "
                    "/opt/vfg/test-modules/")
    ap.add_argument("--tests", help="directory of test binaries")
    ap.add_argument("--bin", help="directory of guest tools")
    ap.add_argument("--busybox", default="/bin/busybox")
    ap.add_argument("--with-binary", action="append", default=[],
                    metavar="PATH", help="ELF file, its libraries and loader")
    ap.add_argument("--with-tree", action="append", default=[],
                    metavar="SRC[:DST]", help="data directory or file")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    img = Cpio()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev",
              "tmp", "run", "root", "etc", "opt/vfg/tests", "opt/vfg/bin",
              "opt/vfg/test-modules"):
        img.dir(d)
    img.chardev("dev/console", 5, 1)
    img.chardev("dev/null", 1, 3, 0o666)
    img.copy("bin/busybox", a.busybox, 0o755)
    img.copy("init", os.path.join(HERE, "init"), 0o755)
    img.file("etc/passwd",
             "root:x:0:0:root:/root:/bin/sh\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    img.file("etc/group", "root:x:0:\nnogroup:x:65534:\n")
    # Our three modules: vfio.ko and, beside it, vfio-pci.ko and
    # vfio_iommu_type1.ko (one build directory).
    img.copy("opt/vfg/vfio.ko", a.module, 0o644)
    for m in ("vfio-pci.ko", "vfio_iommu_type1.ko"):
        path = os.path.join(os.path.dirname(a.module), m)
        if not os.path.isfile(path):
            raise SystemExit("mkinitramfs: no %s beside %s" % (m, a.module))
        img.copy(os.path.join("opt/vfg", m), path, 0o644)
    img.file("opt/vfg/bin/vfg-modules",
             "#!/bin/sh\n"
             "# vfg-modules load|unload: our three modules, in order.\n"
             "case \"$1\" in\n"
             "load) for m in vfio vfio_iommu_type1 vfio-pci; do\n"
             "\tinsmod /opt/vfg/$m.ko || exit 1; done ;;\n"
             "unload) for m in vfio_pci vfio_iommu_type1 vfio; do\n"
             "\t[ -e /sys/module/$m ] && { rmmod $m || exit 1; }; done ;;\n"
             "*) echo \"usage: vfg-modules load|unload\" >&2; exit 2 ;;\n"
             "esac\n", 0o755)
    for m in a.test_module:
        if not os.path.isfile(m):
            raise SystemExit("mkinitramfs: --test-module %s: no such file"
                             % m)
        img.copy(os.path.join("opt/vfg/test-modules", os.path.basename(m)),
                 m, 0o644)

    deps = modules_dep(a.kimg, a.kver)
    mods = closure(deps, KERNEL_MODULES)
    dep_lines = []
    for rel in mods:
        img.copy(os.path.join("lib/modules", a.kver, rel),
                 os.path.join(a.kimg, "lib/modules", a.kver, rel), 0o644)
    keep = set(mods)
    for _, (p, d) in sorted(deps.items()):
        if p in keep:
            dep_lines.append("%s: %s\n" % (p, " ".join(d)))
    img.file(os.path.join("lib/modules", a.kver, "modules.dep"),
             "".join(dep_lines))

    if a.tests and os.path.isdir(a.tests):
        add_tree(img, a.tests, "opt/vfg/tests")
    if a.bin and os.path.isdir(a.bin):
        add_tree(img, a.bin, "opt/vfg/bin")

    if a.with_binary or a.with_tree:
        # The root directory is world-writable unless the archive says
        # otherwise, and DPDK loads no plugin below such a directory.
        img.dir(".", 0o755)
        extra = Extras(img)
        for b in a.with_binary:
            extra.binary(b)
        for t in a.with_tree:
            extra.tree(t)
        # Where the host's loader found what ldd reported (the guest has no
        # ldconfig); entries for files the image lacks are skipped.
        if a.with_binary and os.path.isfile("/etc/ld.so.cache"):
            img.copy("etc/ld.so.cache", "/etc/ld.so.cache", 0o644)

    tmp = a.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(img.bytes())
    os.replace(tmp, a.output)


if __name__ == "__main__":
    main()
