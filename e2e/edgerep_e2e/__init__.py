# SPDX-License-Identifier: Apache-2.0
"""End-to-end harness: a multi-node edge on one machine, driven through the Kubernetes API.

Every node, pod, the sensor and the control plane live in network namespaces this
harness creates; nothing listens outside them and every name starts with
``edgerep-e2e`` so a later run removes what a killed one left behind.
"""

PREFIX = "edgerep-e2e"
