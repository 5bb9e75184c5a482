# SPDX-License-Identifier: Apache-2.0
"""The references `make images` tags with are the ones the chart's default values render."""

import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

import oci  # noqa: E402
import refs  # noqa: E402

CHART = HERE.parents[1] / "charts" / "edgerep"


def test_refs_follow_the_chart_helper_and_defaults():
    helper = (CHART / "templates" / "_helpers.tpl").read_text()
    # the template renders registry/name:tag with the tag defaulting to appVersion; refs.py mirrors exactly that
    assert (
        'printf "%s/%s:%s" .root.Values.imageRegistry .name (default .root.Chart.AppVersion .root.Values.imageTag)'
        in helper
    )
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    app = str(yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"])
    got = refs.chart_refs()
    assert (
        got["operator"]
        == f"{values['imageRegistry']}/{values['operator']['image']}:{values['imageTag'] or app}"
    )
    assert got["agent"] == f"{values['imageRegistry']}/{values['agent']['image']}:{values['imageTag'] or app}"
    assert (
        got["loader"]
        == f"{values['imageRegistry']}/{values['agent']['loaderImage']}:{values['imageTag'] or app}"
    )


def test_every_image_the_templates_name_is_built():
    used = set()
    for t in (CHART / "templates").glob("*.yaml"):
        used |= set(re.findall(r'"name" \.Values\.(\w+)\.(\w+)\)', t.read_text()))
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    names = {values[section][key] for section, key in used}
    assert names == {"operator", "agent", "loader"}
    assert names <= set(refs.chart_refs())
    build = (HERE / "build").read_text()
    for n in refs.image_refs():
        assert f"${{REF[{n}]}}" in build, f"deploy/images/build does not build {n}"


def test_test_images_share_the_charts_registry_and_tag():
    chart = refs.chart_refs()
    everything = refs.image_refs()
    assert set(everything) == set(chart) | set(refs.TEST_IMAGES)
    assert {n: everything[n] for n in chart} == chart
    # what the cluster suite's pods run is built and imported like the chart's images, tagged like them
    for n in refs.TEST_IMAGES:
        assert everything[n] == chart["pause"].replace("/pause:", f"/{n}:")
        assert n not in yaml.safe_load((CHART / "values.yaml").read_text()).values()


def test_default_registry_is_not_one_nobody_builds_for():
    assert not refs.chart_refs()["agent"].startswith("ghcr.io/")


def test_normalized_names_are_what_containerd_lists():
    assert oci.normalize("edgerep/agent:0.1.0") == "docker.io/edgerep/agent:0.1.0"
    assert oci.normalize("pause:1") == "docker.io/library/pause:1"
    assert (
        oci.normalize("registry.example.org/team/edgerep/agent:1")
        == "registry.example.org/team/edgerep/agent:1"
    )
    assert oci.normalize("localhost:5000/a:1") == "localhost:5000/a:1"


def test_an_archive_is_an_oci_layout_naming_the_image(tmp_path):
    import json
    import tarfile

    src = tmp_path / "hello"
    src.write_text("hi\n")
    out = tmp_path / "img.tar"
    oci.main(
        [
            "--name",
            "edgerep/x:1",
            "--add",
            f"{src}:/opt/hello",
            "--uid",
            "185",
            "--out",
            str(out),
            "--entrypoint",
            "java",
            "-XX:MaxRAMPercentage=75",
            "-jar",
            "/x.jar",
        ]
    )
    with tarfile.open(out) as tar:
        index = json.load(tar.extractfile("index.json"))
        m = index["manifests"][0]
        assert m["annotations"]["io.containerd.image.name"] == "docker.io/edgerep/x:1"
        manifest = json.load(tar.extractfile("blobs/sha256/" + m["digest"].split(":")[1]))
        layer = tar.extractfile("blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1])
        with tarfile.open(fileobj=layer) as lt:
            f = lt.getmember("opt/hello")
            assert (f.uid, lt.extractfile(f).read()) == (185, b"hi\n")
        config = json.load(tar.extractfile("blobs/sha256/" + manifest["config"]["digest"].split(":")[1]))
        assert config["config"]["Entrypoint"] == ["java", "-XX:MaxRAMPercentage=75", "-jar", "/x.jar"]
        assert config["rootfs"]["diff_ids"] == [manifest["layers"][0]["digest"]]
