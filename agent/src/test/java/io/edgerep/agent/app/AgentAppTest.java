// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/** The packaged agent boots, answers health from the loader, and exports its metrics in Prometheus format. */
@QuarkusTest
@QuarkusTestResource(FakeLoaderResource.class)
class AgentAppTest {
    @TestHTTPResource("/q/health/ready")
    URI ready;

    @TestHTTPResource("/q/metrics")
    URI metrics;

    @Test
    void healthAndMetrics() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> h = http.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(h.statusCode()).isEqualTo(200);
        assertThat(h.body()).contains("\"loader\": \"fake-1\"");
        // the per-node series come from a sample taken every second: the first may not be there yet
        Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            HttpResponse<String> m = http.send(HttpRequest.newBuilder(metrics).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(m.statusCode()).isEqualTo(200);
            assertThat(m.body()).contains("edgerep_agent_state_replicas")
                    .contains("edgerep_agent_operator_connected{node=\"local\"} 0.0")
                    .contains("edgerep_agent_loader_up{node=\"local\"} 1.0");
        });
    }
}
