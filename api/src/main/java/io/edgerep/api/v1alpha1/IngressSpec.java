// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** The port pair that identifies a stream on a node. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class IngressSpec {

    @Required
    @Pattern("^[a-zA-Z0-9_.@:-]{1,15}$")
    @JsonPropertyDescription("Network interface of the node the stream arrives on (e.g. eth0); at most 15 characters, as Linux allows.")
    private String interfaceName;

    @Default("UDP")
    @JsonPropertyDescription("Transport protocol of the stream; only UDP is supported.")
    private Protocol protocol = Protocol.UDP;

    @Required
    @Min(1)
    @Max(65535)
    @JsonPropertyDescription("Destination port of the stream on the node.")
    private Integer port;

    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @io.fabric8.generator.annotation.Size(max = 253)
    @JsonPropertyDescription("Node the stream enters (the sensor sends to it); it copies to every consumer, routing through the consumer's node where needed. When absent, the stream is expected on every node that runs a consumer pod, and each such node copies to its local consumers only.")
    private String nodeName;

    public String getNodeName() {
        return nodeName;
    }

    public void setNodeName(String nodeName) {
        this.nodeName = nodeName;
    }

    @com.fasterxml.jackson.annotation.JsonProperty("interface")
    public String getInterfaceName() {
        return interfaceName;
    }

    @com.fasterxml.jackson.annotation.JsonProperty("interface")
    public void setInterfaceName(String interfaceName) {
        this.interfaceName = interfaceName;
    }

    public Protocol getProtocol() {
        return protocol;
    }

    public void setProtocol(Protocol protocol) {
        this.protocol = protocol;
    }

    public Integer getPort() {
        return port;
    }

    public void setPort(Integer port) {
        this.port = port;
    }

    /** Transport protocol, with its IANA protocol number (what goes on the wire to the agents). */
    public enum Protocol {
        UDP(17);

        private final int ianaNumber;

        Protocol(int ianaNumber) {
            this.ianaNumber = ianaNumber;
        }

        public int ianaNumber() {
            return ianaNumber;
        }
    }
}
