# SPDX-License-Identifier: GPL-2.0
"""Write initramfs archives in the "newc" cpio format.

Written in Python rather than with cpio(1) so that device nodes such as
/dev/console can be put in the archive without root or mknod, and so that
the per-run overlay (the command script) can be appended in memory.
"""

import os
import stat


class Cpio:
    """Collects entries and serialises them as one newc archive."""

    def __init__(self):
        self._entries = {}
        self._ino = 1000

    def _add(self, path, mode, data=b"", rdev=(0, 0)):
        path = path.lstrip("/")
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in self._entries:
                self._entries[parent] = (stat.S_IFDIR | 0o755, b"", (0, 0))
        self._entries[path] = (mode, data, rdev)

    def dir(self, path, mode=0o755):
        self._add(path, stat.S_IFDIR | mode)

    def file(self, path, data, mode=0o644):
        if isinstance(data, str):
            data = data.encode()
        self._add(path, stat.S_IFREG | mode, data)

    def copy(self, path, src, mode=None):
        with open(src, "rb") as f:
            data = f.read()
        if mode is None:
            mode = os.stat(src).st_mode & 0o7777
        self.file(path, data, mode)

    def symlink(self, path, target):
        self._add(path, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, path, major, minor, mode=0o600):
        self._add(path, stat.S_IFCHR | mode, b"", (major, minor))

    def _header(self, name, mode, size, rdev):
        self._ino += 1
        fields = [self._ino, mode, 0, 0, 1, 0, size, 0, 0,
                  rdev[0], rdev[1], len(name) + 1, 0]
        return ("070701" + "".join("%08x" % f for f in fields)).encode()

    @staticmethod
    def _pad(n):
        return b"\0" * ((4 - n % 4) % 4)

    def bytes(self):
        out = bytearray()
        for name in sorted(self._entries):
            mode, data, rdev = self._entries[name]
            hdr = self._header(name, mode, len(data), rdev)
            out += hdr + name.encode() + b"\0"
            out += self._pad(len(hdr) + len(name) + 1)
            out += data + self._pad(len(data))
        hdr = self._header("TRAILER!!!", 0, 0, (0, 0))
        out += hdr + b"TRAILER!!!\0" + self._pad(len(hdr) + 11)
        return bytes(out)
