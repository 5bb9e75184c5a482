#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes an OCI image archive without a container engine.

The image is a base root filesystem (a tar, e.g. from mmdebstrap) plus one layer
of the project's files, with a config saying what runs. The archive is a tar of
an OCI image layout whose index names the image, so that
``ctr -n k8s.io images import ARCHIVE`` registers it under that name.

    oci.py --name docker.io/edgerep/agent:0.1.0 --base rootfs.tar \\
        --add agent/target/quarkus-app:/deployments --entrypoint java -jar ... \\
        --out agent.oci.tar
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

LAYER = "application/vnd.oci.image.layer.v1.tar"
CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CHUNK = 1 << 20


def normalize(name: str) -> str:
    """The full reference containerd and the kubelet use for name ("edgerep/x:1" -> "docker.io/edgerep/x:1")."""
    first = name.split("/", 1)[0]
    if "/" not in name:
        return "docker.io/library/" + name
    if "." in first or ":" in first or first == "localhost":
        return name
    return "docker.io/" + name


class Layout:
    """An OCI image layout directory being written: blobs by digest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    def add_bytes(self, data: bytes, media_type: str) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (self.blobs / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    def add_file(self, path: Path, media_type: str) -> dict:
        """Adds a file as a blob, hashing it while it is copied."""
        h = hashlib.sha256()
        tmp = self.blobs / ".partial"
        size = 0
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                dst.write(chunk)
                size += len(chunk)
        tmp.rename(self.blobs / h.hexdigest())
        return {"mediaType": media_type, "digest": "sha256:" + h.hexdigest(), "size": size}


def project_layer(adds: list[tuple[Path, str]], out: Path, uid: int) -> None:
    """A tar of each host path under its image path, owned by uid, with its parent directories."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        seen: set[str] = set()
        for src, dest in adds:
            parts = Path(dest.strip("/")).parts
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in seen:
                    seen.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)

            def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
                info.uid = info.gid = uid
                info.uname = info.gname = ""
                return info

            tar.add(src, arcname=dest.strip("/"), filter=owned)


def build(args: argparse.Namespace) -> None:
    name = normalize(args.name)
    with tempfile.TemporaryDirectory(prefix="edgerep-oci-") as tmp:
        layout = Layout(Path(tmp) / "layout")
        layers = []
        if args.base:
            layers.append(layout.add_file(Path(args.base), LAYER))
        adds = []
        for spec in args.add:
            src, _, dest = spec.partition(":")
            if not dest or not os.path.exists(src):
                raise SystemExit(f"oci.py: --add {spec}: needs an existing SRC and a DEST")
            adds.append((Path(src), dest))
        if adds:
            layer_tar = Path(tmp) / "project.tar"
            project_layer(adds, layer_tar, args.uid)
            layers.append(layout.add_file(layer_tar, LAYER))
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Entrypoint": args.entrypoint,
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + args.env,
                "WorkingDir": args.workdir,
                "User": args.user,
                "Labels": dict(label.split("=", 1) for label in args.label),
                "ExposedPorts": {f"{p}/tcp": {} for p in args.port},
            },
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        }
        config_desc = layout.add_bytes(json.dumps(config, sort_keys=True).encode(), CONFIG)
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "config": config_desc, "layers": layers}
        manifest_desc = layout.add_bytes(json.dumps(manifest, sort_keys=True).encode(), MANIFEST)
        manifest_desc["platform"] = {"architecture": "amd64", "os": "linux"}
        manifest_desc["annotations"] = {
            "io.containerd.image.name": name,
            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1],
        }
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}
        index["manifests"] = [manifest_desc]
        (layout.root / "index.json").write_text(json.dumps(index, sort_keys=True))
        partial = Path(str(args.out) + ".partial")
        with tarfile.open(partial, "w") as tar:
            for entry in sorted(os.listdir(layout.root)):
                tar.add(layout.root / entry, arcname=entry)
        shutil.move(partial, args.out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--name", required=True, help="image reference, e.g. edgerep/agent:0.1.0")
    p.add_argument("--base", help="root filesystem tar (the first layer)")
    p.add_argument(
        "--add", action="append", default=[], help="SRC:DEST, a host path put at DEST in the image"
    )
    p.add_argument("--uid", type=int, default=0, help="owner of the added files")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE")
    p.add_argument("--port", action="append", default=[], help="an exposed TCP port")
    p.add_argument("--workdir", default="/")
    p.add_argument("--user", default="0")
    p.add_argument("--out", required=True, type=Path)
    # the command's own options start with "-": everything after --entrypoint belongs to it
    p.add_argument("--entrypoint", nargs=argparse.REMAINDER, required=True, help="the command (last option)")
    args = p.parse_args(argv)
    if not args.entrypoint:
        p.error("--entrypoint needs a command")
    build(args)


if __name__ == "__main__":
    main()
