// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

class TouchedPathsTest {
    @Test
    void keepsWhatOpsTouchedUntilTakenThenStartsAfresh() {
        TouchedPaths t = new TouchedPaths(10);
        t.add(List.of("/data/a", "/data/b"));
        t.add(List.of("/data/a"));
        assertThat(t.take()).containsExactlyInAnyOrder("/data/a", "/data/b");
        assertThat(t.take()).isEmpty();
    }

    @Test
    void pastItsBoundItSaysEverythingUntilTaken() {
        TouchedPaths t = new TouchedPaths(2);
        t.add(List.of("/a", "/b", "/c"));
        t.add(List.of("/d"));
        assertThat(t.take()).as("the whole tree").isNull();
        t.add(List.of("/e"));
        assertThat(t.take()).containsExactly("/e");
        t.everything();
        assertThat(t.take()).isNull();
        t.everything();
        t.clear();
        assertThat(t.take()).isEmpty();
    }
}
