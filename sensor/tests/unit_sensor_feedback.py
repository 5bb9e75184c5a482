# SPDX-License-Identifier: Apache-2.0
"""What the sensor makes of an EdgeReplica's status: the feedback it applies, full whenever in doubt."""

from __future__ import annotations

from edgerep_sensor import feedback


def er(entries, generation=1):
    return {"metadata": {"generation": generation}, "status": {"stream": {"sensorFeedback": entries}}}


ENTRY = {"node": "node-a", "port": 5004, "full": False, "maxBitrate": 2000000, "policy": "DifferentialFirst"}


def test_a_budgeted_entry():
    fb = feedback.from_resource(er([ENTRY]), "node-a", 5004)
    assert (fb.full, fb.max_bitrate, fb.policy) == (False, 2000000, "DifferentialFirst")


def test_full_whenever_the_sensor_cannot_know():
    cases = {
        "gone": None,
        "no status yet": {"metadata": {}},
        "another node": er([{**ENTRY, "node": "node-b"}]),
        "another port": er([{**ENTRY, "port": 5006}]),
        "an unbudgeted consumer": er([{**ENTRY, "full": True}]),
        "no full field": er([{k: v for k, v in ENTRY.items() if k != "full"}]),
        "a bad rate": er([{**ENTRY, "maxBitrate": "2M"}]),
        "a zero rate": er([{**ENTRY, "maxBitrate": 0}]),
        "an unknown policy": er([{**ENTRY, "policy": "Later"}]),
    }
    for why, resource in cases.items():
        assert feedback.from_resource(resource, "node-a", 5004).full, why


class Silent:
    """A client whose watch never answers (the API server unreachable)."""

    def watch(self, path):
        raise feedback.ApiError(0, "unreachable")

    def request(self, *a, **k):
        raise feedback.ApiError(0, "unreachable")


def test_a_feedback_held_too_long_without_the_api_server_becomes_full(monkeypatch):
    w = feedback.Watcher(Silent(), "v", "x", "node-a", 5004, stale_after=5)
    clock = [100.0]
    monkeypatch.setattr(feedback.time, "monotonic", lambda: clock[0])
    w._set(feedback.from_resource(er([ENTRY]), "node-a", 5004))
    assert not w.current.full
    w._since_lost = clock[0]  # the watch broke now
    clock[0] += 4
    assert not w.current.full, "a short outage keeps the last feedback"
    clock[0] += 2
    assert w.current.full
    w._set(feedback.from_resource(er([ENTRY]), "node-a", 5004))
    assert not w.current.full, "back in touch"
