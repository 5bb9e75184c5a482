// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.ArrayList;
import java.util.List;

import io.edgerep.proto.v1.StateEvent;

/** What captured events say about paths, for every part of the agent that routes or places them. */
public final class StateEvents {
    private StateEvents() {
    }

    /** The container paths an event changes (both ends of a rename or link); empty for a placeholder. */
    public static List<String> pathsOf(StateEvent ev) {
        List<String> out = new ArrayList<>(2);
        switch (ev.getOpCase()) {
            case WRITE -> out.add(ev.getWrite().getPath());
            case TRUNCATE -> out.add(ev.getTruncate().getPath());
            case RENAME -> {
                out.add(ev.getRename().getFrom());
                out.add(ev.getRename().getTo());
            }
            case UNLINK -> out.add(ev.getUnlink().getPath());
            case MKDIR -> out.add(ev.getMkdir().getPath());
            case RMDIR -> out.add(ev.getRmdir().getPath());
            case CHMOD -> out.add(ev.getChmod().getPath());
            case CREATE -> out.add(ev.getCreate().getPath());
            case SYNC -> out.add(ev.getSync().getPath());
            case DIRTY -> out.add(ev.getDirty().getPath());
            case LINK -> {
                out.add(ev.getLink().getFrom());
                out.add(ev.getLink().getTo());
            }
            case SYMLINK -> out.add(ev.getSymlink().getPath());
            case ATTRS_CHANGED -> out.add(ev.getAttrsChanged().getPath());
            default -> {
            }
        }
        return out;
    }
}
