# SPDX-License-Identifier: Apache-2.0
"""Runs after the cluster is torn down: the machine is as the suite found it."""

from edgerep_e2e.cluster import leftovers


def test_nothing_of_the_cluster_is_left():
    # test_cluster.py's module-scoped cluster was torn down when its module ended
    assert leftovers() == []
