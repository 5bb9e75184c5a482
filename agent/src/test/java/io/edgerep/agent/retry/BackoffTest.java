// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.retry;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Delays grow from the base to the cap, each jittered within its lower half. */
class BackoffTest {
    @Test
    void backoffBounds() {
        Backoff b = new Backoff(100, 1000);
        long[] ceilings = {100, 200, 400, 800, 1000, 1000};
        for (long c : ceilings) {
            long d = b.next();
            assertThat(d).isBetween(c / 2, c);
        }
        b.reset();
        assertThat(b.next()).isBetween(50L, 100L);
    }
}
