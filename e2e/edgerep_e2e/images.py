# SPDX-License-Identifier: Apache-2.0
"""The images `make images` builds, under the references the chart pulls (deploy/images/refs.py)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARCHIVES = Path(os.environ.get("EDGEREP_IMAGES_DIR", REPO / "target" / "images"))


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "deploy" / "images" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def refs() -> dict[str, str]:
    """Image name -> reference as containerd lists it (docker.io/edgerep/agent:0.1.0), for every image
    `make images` builds: the chart's, the sandbox image and the test pods' "e2e"."""
    oci = _module("oci")
    return {n: oci.normalize(r) for n, r in _module("refs").image_refs().items()}


def pause_ref() -> str:
    return refs()["pause"]


def archives() -> list[Path]:
    """Every archive, failing with the command that makes them when one is missing."""
    paths = [ARCHIVES / f"{n}.oci.tar" for n in refs()]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise RuntimeError(f"image archives missing ({', '.join(missing)}): run `make images`")
    return paths
