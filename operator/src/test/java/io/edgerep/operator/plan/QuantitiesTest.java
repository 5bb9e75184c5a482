// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class QuantitiesTest {

    @ParameterizedTest
    @CsvSource({"2M, 2000000", "500k, 500000", "1.5G, 1500000000", "64000, 64000", "8, 8"})
    void bitrates(String text, long bps) {
        assertThat(Quantities.bitsPerSecond(text)).isEqualTo(bps);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "0k", "7", "1T", "", "M", "999G"})
    void badBitrates(String text) {
        assertThatThrownBy(() -> Quantities.bitsPerSecond(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource({"1s, 1000", "500ms, 500", "2m30s, 150000", "0s, 0", "1m1s1ms, 61001", "1h, 3600000"})
    void durations(String text, long ms) {
        assertThat(Quantities.millis(text)).isEqualTo(ms);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1", "s", "1d", "1s 2s", "x1s"})
    void badDurations(String text) {
        assertThatThrownBy(() -> Quantities.millis(text)).isInstanceOf(IllegalArgumentException.class);
    }
}
