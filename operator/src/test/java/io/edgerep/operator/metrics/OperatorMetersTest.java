// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import io.edgerep.operator.registry.AgentRegistry;
import io.edgerep.operator.registry.DiscardingStream;
import io.edgerep.proto.v1.ControllerMessage;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.NodeStatus;
import io.grpc.stub.StreamObserver;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;

/** The operator's series as Prometheus scrapes them, driven through the reconcile wrapper and the agent registry. */
class OperatorMetersTest {
    private final PrometheusMeterRegistry prom = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final OperatorMeters meters = new OperatorMeters(prom);

    /** The scrape with simpleclient's trailing label comma removed: the text the operator's endpoint serves. */
    private String scrape() {
        return prom.scrape().replace(",}", "}");
    }

    @Test
    void reconcilesAreTimedByOutcomeAndCountedWhileRunning() {
        AtomicReference<String> during = new AtomicReference<>();
        String r = meters.reconcile(() -> {
            during.set(scrape());
            return "done";
        });
        assertThat(r).isEqualTo("done");
        assertThat(during.get()).contains("edgerep_operator_reconciles_in_flight 1.0");
        assertThatThrownBy(() -> meters.reconcile(() -> {
            throw new IllegalStateException("boom");
        })).isInstanceOf(IllegalStateException.class);
        String s = scrape();
        assertThat(s).contains("edgerep_operator_reconcile_seconds_count{result=\"ok\"} 1.0")
                .contains("edgerep_operator_reconcile_seconds_count{result=\"error\"} 1.0")
                .contains("edgerep_operator_reconcile_seconds_bucket{result=\"ok\",le=")
                .contains("edgerep_operator_reconciles_in_flight 0.0");
    }

    @Test
    void configPushesAndTheirApplyLatencyComeFromTheRegistry() {
        AgentRegistry registry = new AgentRegistry();
        registry.useMeters(meters);
        registry.openGate();
        StreamObserver<ControllerMessage> out = new DiscardingStream();
        registry.connected("edge-a", Hello.getDefaultInstance(), out);
        String s = scrape();
        assertThat(s).contains("edgerep_operator_connected_agents 1.0")
                .contains("edgerep_operator_config_pushes_total{node=\"edge-a\",result=\"sent\"} 1.0")
                .contains("edgerep_operator_config_apply_seconds_count 0.0");
        long sent = registry.config("edge-a").getVersion();
        registry.status("edge-a", out, NodeStatus.newBuilder().setAppliedVersion(sent).build());
        registry.status("edge-a", out, NodeStatus.newBuilder().setAppliedVersion(sent).build());
        assertThat(scrape()).as("one apply per push, not per status")
                .contains("edgerep_operator_config_apply_seconds_count 1.0");
    }
}
