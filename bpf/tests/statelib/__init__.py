"""Test helpers for state capture: cgroups, event collection, replay, workloads."""
