# SPDX-License-Identifier: Apache-2.0
"""edgerep-sensor: drops at the source what no consumer of a camera's stream would receive.

It sits between a camera's UDP output and the edge node's ingress, classifies every
datagram with the edge's DPI (:mod:`edgerep_sensor.ts`, a port of bpf/progs/ts.h),
and enforces the stream's effective quality, which the operator publishes in the
EdgeReplica's ``status.stream.sensorFeedback`` (:mod:`edgerep_sensor.feedback`),
with the edge's DifferentialFirst token bucket (:mod:`edgerep_sensor.bucket`, after
bpf/progs/policy.h). The protocol is described in docs/SENSOR.md.
"""
