// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.edgerep.api.v1alpha1.ConsumerSpec;
import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.EdgeReplicaSpec;
import io.edgerep.api.v1alpha1.IngressSpec;
import io.edgerep.api.v1alpha1.OriginSpec;
import io.edgerep.api.v1alpha1.QocSpec;
import io.edgerep.api.v1alpha1.ReplicaSelectorSpec;
import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;

/** Builders for specs and pods shared by the unit and integration tests. */
public final class Fixtures {

    private Fixtures() {
    }

    public static LabelSelector sel(String... kv) {
        var b = new LabelSelectorBuilder();
        for (int i = 0; i < kv.length; i += 2) {
            b.addToMatchLabels(kv[i], kv[i + 1]);
        }
        return b.build();
    }

    public static ConsumerSpec consumer(String name, String app, int port, QocSpec qoc) {
        var c = new ConsumerSpec();
        c.setName(name);
        c.setPodSelector(sel("app", app));
        c.setPort(port);
        c.setQoc(qoc);
        return c;
    }

    public static QocSpec rate(double minRate, QocSpec.DropPolicy policy) {
        var q = new QocSpec();
        q.setMinDetectionRate(minRate);
        q.setPolicy(policy);
        return q;
    }

    public static QocSpec bitrate(String rate, QocSpec.DropPolicy policy) {
        var q = new QocSpec();
        q.setMaxBitrate(rate);
        q.setPolicy(policy);
        return q;
    }

    public static EdgeReplica stream(String ns, String name, int port, String node, ConsumerSpec... consumers) {
        var in = new IngressSpec();
        in.setInterfaceName("eth0");
        in.setPort(port);
        in.setNodeName(node);
        var s = new StreamSpec();
        s.setIngress(in);
        s.setConsumers(new ArrayList<>(List.of(consumers)));
        var spec = new EdgeReplicaSpec();
        spec.setStream(s);
        return er(ns, name, spec);
    }

    public static EdgeReplica state(String ns, String name, LabelSelector origin, LabelSelector replicas,
            String... paths) {
        var st = new StateSpec();
        var o = new OriginSpec();
        o.setPodSelector(origin);
        st.setOrigin(o);
        var r = new ReplicaSelectorSpec();
        r.setPodSelector(replicas);
        st.setReplicas(r);
        st.setPaths(new ArrayList<>(List.of(paths)));
        var spec = new EdgeReplicaSpec();
        spec.setState(st);
        return er(ns, name, spec);
    }

    public static EdgeReplica er(String ns, String name, EdgeReplicaSpec spec) {
        var er = new EdgeReplica();
        er.setMetadata(new ObjectMetaBuilder().withNamespace(ns).withName(name).withGeneration(1L)
                .withCreationTimestamp("2026-01-01T00:00:00Z").build());
        er.setSpec(spec);
        return er;
    }

    /** A running, ready pod on a node (what a kubelet would report). */
    public static Pod pod(String ns, String name, String node, String ip, Map<String, String> labels) {
        return new PodBuilder().withNewMetadata().withNamespace(ns).withName(name).withUid("uid-" + name)
                .withLabels(labels).endMetadata()
                .withNewSpec().withNodeName(node).withServiceAccountName("default").addNewContainer().withName("main")
                .withImage("busybox").endContainer()
                .endSpec()
                .withNewStatus().withPhase("Running").withPodIP(ip).withHostIP(hostIp(node))
                .addNewCondition().withType("Ready").withStatus("True").endCondition()
                .addNewContainerStatus().withName("main").withContainerID("containerd://" + name).withReady(true)
                .withImage("busybox").withImageID("").withRestartCount(0).endContainerStatus()
                .endStatus().build();
    }

    public static String hostIp(String node) {
        return "192.168.0." + (Math.abs(node.hashCode()) % 200 + 1);
    }
}
