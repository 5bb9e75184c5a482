// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing of the spec's bitrate and duration strings. */
public final class Quantities {

    private static final Pattern BITRATE = Pattern.compile("^([0-9]+(?:\\.[0-9]+)?)([kMG]?)$");
    private static final Pattern DURATION_PART = Pattern.compile("([0-9]+)(ms|s|m|h)");

    private Quantities() {
    }

    /** Bits per second from e.g. "2M", "500k", "1.5G". */
    public static long bitsPerSecond(String text) {
        Matcher m = BITRATE.matcher(text == null ? "" : text);
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "bitrate '" + text + "' is not a number with an optional k, M or G suffix");
        }
        double v = Double.parseDouble(m.group(1));
        double scale = switch (m.group(2)) {
            case "k" -> 1e3;
            case "M" -> 1e6;
            case "G" -> 1e9;
            default -> 1;
        };
        double bps = v * scale;
        if (bps < 8 || bps > 400e9) {
            throw new IllegalArgumentException("bitrate '" + text + "' must lie between 8 bit/s and 400G");
        }
        return Math.round(bps);
    }

    /** Milliseconds from e.g. "1s", "500ms", "2m30s", "1h". */
    public static long millis(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("empty duration");
        }
        Matcher m = DURATION_PART.matcher(text);
        long total = 0;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) {
                throw new IllegalArgumentException("duration '" + text + "' is malformed");
            }
            end = m.end();
            long n = Long.parseLong(m.group(1));
            total += switch (m.group(2)) {
                case "ms" -> n;
                case "s" -> n * 1000;
                case "h" -> n * 3_600_000;
                default -> n * 60_000;
            };
        }
        if (end != text.length()) {
            throw new IllegalArgumentException("duration '" + text + "' is malformed");
        }
        return total;
    }
}
