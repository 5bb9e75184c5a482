// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.edgerep.api.testing.RealApiServer;
import io.edgerep.api.v1alpha1.ConsumerSpec;
import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.EdgeReplicaSpec;
import io.edgerep.api.v1alpha1.IngressSpec;
import io.edgerep.api.v1alpha1.QocSpec;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/** The generated CRD on a real API server: valid resources round-trip, invalid ones are rejected by the schema. */
class EdgeReplicaCrdIT {

    private static final String NS = "crd-smoke";
    private static RealApiServer server;
    private static KubernetesClient client;

    @BeforeAll
    static void start() throws Exception {
        server = RealApiServer.start();
        client = server.client();
        RealApiServer.applyCrd(client);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void serverReportsItsVersion() {
        assertThat(client.getKubernetesVersion().getGitVersion()).startsWith("v1.");
    }

    @Test
    void validEdgeReplicaRoundTripsWithDefaults() {
        EdgeReplica er = stream("cameras", 5004, "detector");
        client.resource(er).create();

        EdgeReplica read = client.resources(EdgeReplica.class).inNamespace(NS).withName("cameras").get();
        assertThat(read.getSpec().getStream().getIngress().getPort()).isEqualTo(5004);
        assertThat(read.getSpec().getStream().getInspection()).isEqualTo(StreamSpec.Inspection.MPEGTS);
        assertThat(read.getSpec().getStream().getDatapath()).isEqualTo(StreamSpec.Datapath.TC);
        assertThat(read.getSpec().getStream().getQocProfile()).isEqualTo("default");
        assertThat(read.getSpec().getStream().getConsumers().get(0).getQoc().getPolicy())
                .isEqualTo(QocSpec.DropPolicy.DifferentialFirst);
        assertThat(read.getMetadata().getGeneration()).isEqualTo(1L);
    }

    @Test
    void portOutOfRangeIsRejectedBySchema() {
        assertThatThrownBy(() -> client.resource(stream("bad-port", 70000, "detector")).create())
                .isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("spec.stream.ingress.port");
    }

    @Test
    void specWithNeitherHalfIsRejected() {
        EdgeReplica er = new EdgeReplica();
        er.setMetadata(new ObjectMetaBuilder().withName("empty").withNamespace(NS).build());
        er.setSpec(new EdgeReplicaSpec());
        assertThatThrownBy(() -> client.resource(er).create())
                .isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("at least one of spec.stream and spec.state must be set");
    }

    @Test
    void duplicateConsumerNamesAreRejected() {
        EdgeReplica er = stream("dupes", 5006, "detector");
        er.getSpec().getStream().getConsumers().add(consumer("detector"));
        assertThatThrownBy(() -> client.resource(er).create())
                .isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("consumer names must be unique");
    }

    static EdgeReplica stream(String name, int port, String consumerName) {
        var ingress = new IngressSpec();
        ingress.setInterfaceName("eth0");
        ingress.setPort(port);
        var stream = new StreamSpec();
        stream.setIngress(ingress);
        stream.setConsumers(new java.util.ArrayList<>(List.of(consumer(consumerName))));
        var spec = new EdgeReplicaSpec();
        spec.setStream(stream);
        var er = new EdgeReplica();
        er.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        er.setSpec(spec);
        return er;
    }

    static ConsumerSpec consumer(String name) {
        var c = new ConsumerSpec();
        c.setName(name);
        c.setPort(6000);
        c.setPodSelector(new LabelSelectorBuilder().withMatchLabels(Map.of("app", name)).build());
        var qoc = new QocSpec();
        qoc.setMaxBitrate("2M");
        c.setQoc(qoc);
        return c;
    }
}
