# SPDX-License-Identifier: Apache-2.0
"""Scripted workload run inside a test cgroup: known syscalls, known bytes.

Usage: python3 -B workload.py SCENARIO DIR OUTSIDE

DIR is under the traced prefix, OUTSIDE is not. Every scenario ends with
mkdir(DIR/.fence) so the test knows when the capture is complete. The exact
events each scenario must produce are listed in test_state_capture.py.
"""

from __future__ import annotations

import os
import sys

BIG = bytes((i * 7 + 3) % 251 for i in range(100 * 1024))  # 100 KiB pattern
HUGE = bytes(1024 * 1024)  # 1 MiB: beyond the capture cap


def basic(d: str, outside: str) -> None:
    os.umask(0o022)
    a = os.path.join(d, "a.txt")
    fd = os.open(a, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"hello world\n")  # 0..12
    os.write(fd, b"second line\n")  # 12..24
    os.lseek(fd, 6, os.SEEK_SET)
    os.write(fd, b"WORLD")  # 6..11
    os.pwrite(fd, b"PW", 100)  # explicit offset, position unchanged
    os.writev(fd, [b"abc", b"", b"defgh"])  # 11..19
    os.ftruncate(fd, 50)
    os.fsync(fd)
    fd2 = os.dup(fd)  # fcntl(F_DUPFD_CLOEXEC): shares the position
    os.write(fd2, b"dup")  # 19..22
    os.write(fd, b"X")  # 22
    os.dup2(fd, 100)
    os.close(fd)
    os.write(100, b"Y")  # 23
    os.close(100)
    os.close(fd2)
    # append mode
    log = os.path.join(d, "log")
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(fd, b"line1\n")
    os.write(fd, b"line2\n")
    os.close(fd)
    # the atomic-save pattern: write a temp file, rename it over the original
    cfg = os.path.join(d, "cfg")
    fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"v1")
    os.close(fd)
    fd = os.open(cfg + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"version 2")
    os.fsync(fd)
    os.close(fd)
    os.rename(cfg + ".tmp", cfg)
    # relative paths
    os.mkdir(os.path.join(d, "sub"), 0o750)
    os.chdir(os.path.join(d, "sub"))
    fd = os.open("rel.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"rel")
    os.close(fd)
    os.chdir("..")
    fd = os.open("sub/../rel2.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"rel2")
    os.close(fd)
    os.chdir("/")
    # *at with a directory fd
    dfd = os.open(os.path.join(d, "sub"), os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open("at.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=dfd)
    os.write(fd, b"at")
    os.close(fd)
    os.mkdir("inner", 0o700, dir_fd=dfd)
    os.unlink("at.txt", dir_fd=dfd)
    os.rmdir("inner", dir_fd=dfd)
    os.close(dfd)
    # path ops
    os.truncate(a, 10)
    os.chmod(a, 0o600)
    fd = os.open(a, os.O_WRONLY)
    os.fchmod(fd, 0o640)
    os.close(fd)
    os.unlink(log)
    os.umask(0o027)  # seen by the loader only through the call: it read 022 from /proc already
    os.mkdir(os.path.join(d, "empty"))
    os.rmdir(os.path.join(d, "empty"))
    # nothing of this may be captured: outside the prefix, a sibling with the
    # prefix as a string prefix, a relative path outside, a read-only open
    for p in (os.path.join(outside, "x"), d + "2/y"):
        os.makedirs(os.path.dirname(p), exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"nope")
        os.close(fd)
    os.chdir(outside)
    fd = os.open("rel-out", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"nope")
    os.close(fd)
    os.rename("rel-out", "rel-out2")
    fd = os.open(a, os.O_RDONLY)
    os.read(fd, 4)
    os.close(fd)
    # large writes: chunks, then beyond the cap only "dirty"
    fd = os.open(os.path.join(d, "big"), os.O_WRONLY | os.O_CREAT, 0o644)
    assert os.write(fd, BIG) == len(BIG)
    assert os.write(fd, HUGE) == len(HUGE)
    os.close(fd)


def special(d: str, outside: str) -> None:
    """What the kernel cannot copy is reported as ranges to re-read; links too."""
    import mmap

    src = os.path.join(outside, "src")
    with open(src, "wb") as f:
        f.write(bytes(range(256)) * 40)  # 10240 bytes
    fd = os.open(os.path.join(d, "s"), os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, 8192)
    m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m[0:5] = b"hello"
    m.flush()  # msync
    m.close()
    os.close(fd)
    sfd = os.open(src, os.O_RDONLY)
    fd = os.open(os.path.join(d, "c"), os.O_WRONLY | os.O_CREAT, 0o644)
    assert os.copy_file_range(sfd, fd, 5000) == 5000
    os.pwritev(fd, [b"ta", b"il"], -1, os.RWF_APPEND)  # pwritev2 with RWF_APPEND
    os.close(fd)
    fd = os.open(os.path.join(d, "sf"), os.O_WRONLY | os.O_CREAT, 0o644)
    assert os.sendfile(fd, sfd, 100, 3000) == 3000
    os.close(fd)
    os.close(sfd)
    os.symlink("c", os.path.join(d, "sl"))
    os.link(os.path.join(d, "c"), os.path.join(d, "hl"))
    os.link(src, os.path.join(d, "hl-in"))  # from outside: the new name must be read


def attrs(d: str, outside: str) -> None:
    """Owner and times changed every way a program can: by path, without following a link,
    through an fd, relative to a directory fd, and by the legacy utime/utimes/futimesat calls."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def syscall(nr: int, *args) -> None:
        if libc.syscall(nr, *args) != 0:
            raise OSError(ctypes.get_errno(), f"syscall {nr}")

    f = os.path.join(d, "f")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT, 0o644)
    os.chown(f, 1234, 2345)  # chown(2) by path
    os.symlink("f", os.path.join(d, "l"))
    os.lchown(os.path.join(d, "l"), 11, 12)  # the link itself
    os.fchown(fd, 21, 22)  # fchown(2)
    os.utime(fd, ns=(1_000_000_001, 2_000_000_002))  # futimens: utimensat(fd, NULL)
    syscall(260, fd, b"", 31, 32, 0x1000)  # fchownat(fd, "", AT_EMPTY_PATH)
    os.close(fd)
    os.utime(f, ns=(3_000_000_003, 4_000_000_004))  # utimensat by path
    os.utime(os.path.join(d, "l"), ns=(5, 6), follow_symlinks=False)  # AT_SYMLINK_NOFOLLOW
    os.mkdir(os.path.join(d, "sub"), 0o755)
    dfd = os.open(os.path.join(d, "sub"), os.O_RDONLY | os.O_DIRECTORY)
    with open(os.path.join(d, "sub", "g"), "w"):
        pass
    os.chown("g", 41, 42, dir_fd=dfd)  # fchownat relative to a directory fd
    syscall(261, dfd, b"g", None)  # futimesat(dfd, "g", NULL)
    os.close(dfd)
    syscall(235, f.encode(), None)  # utimes(f, NULL)
    syscall(132, f.encode(), None)  # utime(f, NULL)
    os.chown(os.path.join(outside, "."), 0, 0)  # outside the prefix: nothing
    ro = os.open(f, os.O_RDONLY)
    os.close(ro)


def loss(d: str, outside: str) -> None:
    """Writes that cannot fit a one-page ring (8000 bytes each) next to small ones."""
    for name in ("a", "b"):
        fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT, 0o644)
        for i in range(10):
            os.write(fd, bytes([65 + i]) * 8000)
        os.close(fd)
    fd = os.open(os.path.join(d, "c"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"small")
    os.close(fd)


def outsider(d: str, outside: str) -> None:
    """Run outside the traced cgroup, writing under the prefix."""
    fd = os.open(os.path.join(d, "outsider.txt"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"not traced")
    os.close(fd)


def appender(d: str, outside: str) -> None:
    """A log appender: many small O_APPEND writes, reopened now and then."""
    path = os.path.join(d, "app.log")
    for batch in range(20):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        for i in range(50):
            os.write(fd, f"batch {batch} line {i} {'x' * (i % 17)}\n".encode())
        os.close(fd)


SCENARIOS = {
    "basic": basic,
    "special": special,
    "attrs": attrs,
    "loss": loss,
    "outsider": outsider,
    "appender": appender,
}

if __name__ == "__main__":
    scenario, directory, out = sys.argv[1], sys.argv[2], sys.argv[3]
    SCENARIOS[scenario](directory, out)
    if scenario != "outsider":
        os.mkdir(os.path.join(directory, ".fence"))
