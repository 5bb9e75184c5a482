// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * An origin service replicated at the edge: its sensor stream copied in the kernel to consumer
 * pods, and/or its file state replayed on replica pods.
 */
@Group(EdgeReplica.GROUP)
@Version(EdgeReplica.VERSION)
@Kind("EdgeReplica")
@Plural("edgereplicas")
@Singular("edgereplica")
@ShortNames("er")
@Categories({"edgerep", "all"})
@AdditionalPrinterColumn(name = "Ready", type = AdditionalPrinterColumn.Type.STRING, jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(name = "Consumers", type = AdditionalPrinterColumn.Type.INTEGER, jsonPath = ".status.consumerCount")
@AdditionalPrinterColumn(name = "Replicas", type = AdditionalPrinterColumn.Type.INTEGER, jsonPath = ".status.replicaCount")
@AdditionalPrinterColumn(name = "Lag", type = AdditionalPrinterColumn.Type.STRING, jsonPath = ".status.replicaLag")
@AdditionalPrinterColumn(name = "Age", type = AdditionalPrinterColumn.Type.DATE, jsonPath = ".metadata.creationTimestamp")
public class EdgeReplica extends CustomResource<EdgeReplicaSpec, EdgeReplicaStatus> implements Namespaced {

    public static final String GROUP = "edgerep.io";
    public static final String VERSION = "v1alpha1";

    @Override
    protected EdgeReplicaStatus initStatus() {
        return new EdgeReplicaStatus();
    }
}
