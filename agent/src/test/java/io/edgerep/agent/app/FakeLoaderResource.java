// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.app;

import java.util.Map;

import io.edgerep.agent.FakeLoader;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/** Starts an in-process loader before the agent boots and points the agent at it. */
public class FakeLoaderResource implements QuarkusTestResourceLifecycleManager {
    private FakeLoader loader;

    @Override
    public Map<String, String> start() {
        try {
            loader = new FakeLoader();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return Map.of("edgerep.agent.loader-target", loader.target());
    }

    @Override
    public void stop() {
        try {
            loader.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
