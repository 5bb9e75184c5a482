// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.retry;

import java.util.concurrent.ThreadLocalRandom;

/** Capped exponential backoff with jitter: each delay is uniformly in [d/2, d], d = min(cap, base * 2^attempt). */
public final class Backoff {
    private final long baseMs;
    private final long capMs;
    private int attempt;

    public Backoff(long baseMs, long capMs) {
        if (baseMs <= 0 || capMs < baseMs) {
            throw new IllegalArgumentException("need 0 < base <= cap");
        }
        this.baseMs = baseMs;
        this.capMs = capMs;
    }

    /** The next delay; grows until the cap. */
    public synchronized long next() {
        long d = ceiling(attempt);
        if (d < capMs) {
            attempt++;
        }
        return d / 2 + ThreadLocalRandom.current().nextLong(d - d / 2 + 1);
    }

    /** The upper bound of the delay at an attempt number. */
    public long ceiling(int n) {
        return n >= 62 ? capMs : Math.min(capMs, baseMs << Math.min(n, 40));
    }

    public synchronized void reset() {
        attempt = 0;
    }

    public long capMs() {
        return capMs;
    }
}
