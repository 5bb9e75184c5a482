// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** A sensor stream entering a node and the consumers it is copied to. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StreamSpec {

    /** Most consumers one stream may have (the size of the kernel's consumer array). */
    public static final int MAX_CONSUMERS = 256;

    @Required
    @JsonPropertyDescription("Where the stream enters the node.")
    private IngressSpec ingress;

    @Default("MPEGTS")
    @JsonPropertyDescription("Deep packet inspection: MPEGTS classifies every TS packet as reference or differential frame data (H.264/H.265); NONE treats every packet alike.")
    private Inspection inspection = Inspection.MPEGTS;

    @Default("TC")
    @JsonPropertyDescription("Kernel datapath that copies packets: TC (clone-redirect at tc ingress) or XDP (devmap broadcast; falls back to TC where the interface cannot, reported in the Degraded condition).")
    private Datapath datapath = Datapath.TC;

    @Required
    @Size(min = 1, max = MAX_CONSUMERS)
    @ValidationRule(value = "self.all(c, self.exists_one(d, d.name == c.name))", message = "consumer names must be unique")
    @JsonPropertyDescription("Consumers that receive a copy of the stream; each selects pods and states its Quality-of-Computing need.")
    private List<ConsumerSpec> consumers = new ArrayList<>();

    @Default("default")
    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    @JsonPropertyDescription("QoC profile that maps a detection-rate need to a tolerated loss per frame class: 'default' (the paper's Table 1) or the name of a ConfigMap in this namespace labelled edgerep.io/qoc-profile.")
    private String qocProfile = "default";

    public IngressSpec getIngress() {
        return ingress;
    }

    public void setIngress(IngressSpec ingress) {
        this.ingress = ingress;
    }

    public Inspection getInspection() {
        return inspection;
    }

    public void setInspection(Inspection inspection) {
        this.inspection = inspection;
    }

    public Datapath getDatapath() {
        return datapath;
    }

    public void setDatapath(Datapath datapath) {
        this.datapath = datapath;
    }

    public List<ConsumerSpec> getConsumers() {
        return consumers;
    }

    public void setConsumers(List<ConsumerSpec> consumers) {
        this.consumers = consumers;
    }

    public String getQocProfile() {
        return qocProfile;
    }

    public void setQocProfile(String qocProfile) {
        this.qocProfile = qocProfile;
    }

    /** DPI mode. */
    public enum Inspection {
        NONE, MPEGTS
    }

    /** Kernel datapath. */
    public enum Datapath {
        TC, XDP
    }
}
