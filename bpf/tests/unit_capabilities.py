# SPDX-License-Identifier: Apache-2.0
"""Pure tests of the loader's kernel-fact parsing."""

from __future__ import annotations

from edgerep_loader.capabilities import cgroup2_mount, kernel_headers_problem

HYBRID = """\
35 24 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
37 35 0:32 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,name=systemd
"""

UNIFIED = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n"


def test_cgroup2_mount_found_on_hybrid_and_unified_hosts(tmp_path):
    hybrid = tmp_path / "hybrid"
    hybrid.write_text(HYBRID)
    unified = tmp_path / "unified"
    unified.write_text(UNIFIED)
    assert cgroup2_mount(str(hybrid)) == "/sys/fs/cgroup/unified"
    assert cgroup2_mount(str(unified)) == "/sys/fs/cgroup"


def test_no_cgroup2_mount(tmp_path):
    none = tmp_path / "none"
    none.write_text("37 35 0:32 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw\n")
    assert cgroup2_mount(str(none)) == ""
    assert cgroup2_mount(str(tmp_path / "missing")) == ""


def test_kernel_headers_found_missing_or_dangling(tmp_path, monkeypatch):
    monkeypatch.delenv("BCC_KERNEL_SOURCE", raising=False)
    modules = tmp_path / "modules"
    kheaders = str(tmp_path / "kheaders.tar.xz")
    (modules / "6.1.0-1" / "build" / "include").mkdir(parents=True)
    assert kernel_headers_problem("6.1.0-1", str(modules), kheaders) == ""

    missing = kernel_headers_problem("6.18.4-x", str(modules), kheaders)
    assert missing.startswith(f"no kernel headers for 6.18.4-x: {modules}/6.18.4-x/build is missing")
    assert "linux-headers-6.18.4-x" in missing

    (modules / "6.18.4-x").mkdir()
    (modules / "6.18.4-x" / "build").symlink_to(tmp_path / "usr-src-gone")
    assert "build is a dangling link" in kernel_headers_problem("6.18.4-x", str(modules), kheaders)

    # the kernel's own header archive, or headers named explicitly, are enough for bcc
    (tmp_path / "kheaders.tar.xz").write_bytes(b"")
    assert kernel_headers_problem("6.18.4-x", str(modules), kheaders) == ""
    monkeypatch.setenv("BCC_KERNEL_SOURCE", "/opt/headers")
    assert kernel_headers_problem("6.18.4-x", str(modules), str(tmp_path / "none")) == ""
