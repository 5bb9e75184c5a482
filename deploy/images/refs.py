#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The image references charts/edgerep pulls with its default values.

The chart's helper renders ``imageRegistry/<name>:(imageTag or appVersion)``;
``make images`` tags what it builds with exactly these, so a default install
finds every image on a node that imported them; the images only the tests run
(``TEST_IMAGES``) get the same registry and tag. Prints "name reference" lines
for every image ``make images`` builds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "edgerep"
# the sandbox image the node's containerd is configured with; not one the chart names
PAUSE = "pause"
#: images no template names: the cluster suite's consumer, origin and replica pods run "e2e"
TEST_IMAGES = ("e2e",)


def _values_and_tag(chart: Path) -> tuple[dict, str]:
    """values.yaml and the tag every image gets (imageTag, or the chart's appVersion)."""
    values = yaml.safe_load((chart / "values.yaml").read_text())
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    return values, values.get("imageTag") or str(meta["appVersion"])


def chart_refs(chart: Path = CHART) -> dict[str, str]:
    """Image name -> full reference, for every image the chart's templates use, plus the sandbox image."""
    values, tag = _values_and_tag(chart)
    names = [values["operator"]["image"], values["agent"]["image"], values["agent"]["loaderImage"], PAUSE]
    return {n: f"{values['imageRegistry']}/{n}:{tag}" for n in names}


def image_refs(chart: Path = CHART) -> dict[str, str]:
    """chart_refs() and the test images, under the chart's registry and tag: everything ``make images`` builds."""
    values, tag = _values_and_tag(chart)
    return {**chart_refs(chart), **{n: f"{values['imageRegistry']}/{n}:{tag}" for n in TEST_IMAGES}}


if __name__ == "__main__":
    for name, ref in image_refs(Path(sys.argv[1]) if len(sys.argv) > 1 else CHART).items():
        print(name, ref)
