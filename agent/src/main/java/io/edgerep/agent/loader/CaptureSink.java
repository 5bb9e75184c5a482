// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.loader;

import java.util.List;

import io.edgerep.proto.v1.StateEvent;

/** Where the captured events of one replication id go, in the loader's order. */
public interface CaptureSink {
    /** Events as the loader sent them, and the records it reports lost for this id since the last call. */
    void accept(List<StateEvent> events, long lostRecords);

    /** The event stream broke: events may have been missed, and a restarted loader holds no traces. */
    void captureLost();
}
