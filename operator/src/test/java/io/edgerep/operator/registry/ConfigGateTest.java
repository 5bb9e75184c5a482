// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class ConfigGateTest {

    final List<String> known = new ArrayList<>();
    final ConfigGate gate = new ConfigGate();

    @Test
    void staysClosedUntilTheResourcesAreKnown() {
        assertThat(gate.mayOpen()).isFalse();
        gate.watch(() -> known.stream());
        assertThat(gate.mayOpen()).as("no resource at all: nothing to wait for").isTrue();
    }

    @Test
    void opensOnceEveryKnownResourceWasPlanned() {
        known.addAll(List.of("a/x", "b/y"));
        gate.watch(() -> known.stream());
        gate.planned("a/x");
        assertThat(gate.mayOpen()).isFalse();
        gate.planned("c/z");
        assertThat(gate.mayOpen()).as("a resource the cache does not hold does not count").isFalse();
        gate.planned("b/y");
        assertThat(gate.mayOpen()).isTrue();
        known.add("d/w");
        assertThat(gate.mayOpen()).as("a resource that appeared before the gate opened").isFalse();
        gate.planned("d/w");
        gate.forget("a/x");
        assertThat(gate.mayOpen()).as("a forgotten resource must be planned again").isFalse();
    }

    @Test
    void opensOnceAndStaysOpen() {
        assertThat(gate.isOpen()).isFalse();
        assertThat(gate.open()).isTrue();
        assertThat(gate.open()).as("already open").isFalse();
        gate.watch(() -> List.of("never/planned").stream());
        assertThat(gate.isOpen()).isTrue();
        assertThat(gate.mayOpen()).as("nothing left to open").isFalse();
    }
}
