#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The image references charts/edgerep pulls with its default values.

The chart's helper renders ``imageRegistry/<name>:(imageTag or appVersion)``;
``make images`` tags what it builds with exactly these, so a default install
finds every image on a node that imported them. Prints "name reference" lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "edgerep"
# the sandbox image the node's containerd is configured with; not one the chart names
PAUSE = "pause"


def chart_refs(chart: Path = CHART) -> dict[str, str]:
    """Image name -> full reference, for every image the chart's templates use, plus the sandbox image."""
    values = yaml.safe_load((chart / "values.yaml").read_text())
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    tag = values.get("imageTag") or str(meta["appVersion"])
    names = [values["operator"]["image"], values["agent"]["image"], values["agent"]["loaderImage"], PAUSE]
    return {n: f"{values['imageRegistry']}/{n}:{tag}" for n in names}


if __name__ == "__main__":
    for name, ref in chart_refs(Path(sys.argv[1]) if len(sys.argv) > 1 else CHART).items():
        print(name, ref)
