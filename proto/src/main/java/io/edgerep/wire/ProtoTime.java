// SPDX-License-Identifier: Apache-2.0
package io.edgerep.wire;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;

/** Millisecond times as protobuf's well-known types, and back. */
public final class ProtoTime {

    private ProtoTime() {
    }

    /** The wall clock now. */
    public static Timestamp now() {
        return timestamp(System.currentTimeMillis());
    }

    public static Timestamp timestamp(long epochMillis) {
        return Timestamp.newBuilder().setSeconds(Math.floorDiv(epochMillis, 1000))
                .setNanos((int) Math.floorMod(epochMillis, 1000) * 1_000_000).build();
    }

    /** Unix milliseconds of {@code t}; 0 for an unset timestamp. */
    public static long epochMillis(Timestamp t) {
        return t.getSeconds() * 1000 + t.getNanos() / 1_000_000;
    }

    public static Duration duration(long millis) {
        return Duration.newBuilder().setSeconds(millis / 1000).setNanos((int) (millis % 1000) * 1_000_000).build();
    }

    public static long millis(Duration d) {
        return d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
    }
}
