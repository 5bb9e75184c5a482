# SPDX-License-Identifier: Apache-2.0
"""Test helpers for state capture: cgroups, event collection, replay, workloads."""
