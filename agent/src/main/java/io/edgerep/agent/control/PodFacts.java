// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import java.io.IOException;
import java.util.Optional;

import io.edgerep.agent.pods.CgroupResolver;
import io.edgerep.agent.pods.RouteResolver;

/** What the node knows about a pod: where its packets leave, and its containers' cgroups and processes. */
public interface PodFacts {
    Optional<RouteResolver.Egress> egress(String ip) throws IOException;

    Optional<CgroupResolver.Container> container(String containerId) throws IOException;

    /** The resolvers of a real node. */
    static PodFacts of(RouteResolver routes, CgroupResolver cgroups) {
        return new PodFacts() {
            @Override
            public Optional<RouteResolver.Egress> egress(String ip) throws IOException {
                return routes.resolve(ip);
            }

            @Override
            public Optional<CgroupResolver.Container> container(String containerId) throws IOException {
                return cgroups.resolve(containerId);
            }
        };
    }
}
