// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * What a consumer's computation needs. Either a detection rate (mapped to a tolerated loss through
 * the QoC profile) or a bitrate budget; the policy says what is dropped when the budget is short.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!(has(self.minDetectionRate) && has(self.maxBitrate))", message = "set either minDetectionRate or maxBitrate, not both")
@ValidationRule(value = "self.policy != 'Uniform' || has(self.minDetectionRate) || has(self.maxBitrate)", message = "policy Uniform needs minDetectionRate or maxBitrate")
public class QocSpec {

    @Min(0.0)
    @Max(1.0)
    @JsonPropertyDescription("Lowest acceptable object-detection rate (0..1); the QoC profile turns it into the packet loss the consumer tolerates.")
    private Double minDetectionRate;

    @Pattern("^[0-9]+(\\.[0-9]+)?[kMG]?$")
    @JsonPropertyDescription("Bitrate budget in bits per second, with an optional k, M or G suffix (e.g. 2M); packets beyond it are dropped according to the policy.")
    private String maxBitrate;

    @Default("DifferentialFirst")
    @JsonPropertyDescription("What is dropped when the budget is short: DifferentialFirst drops disposable, then differential frame packets before any reference packet; Uniform drops regardless of frame class (the baseline); None never drops.")
    private DropPolicy policy = DropPolicy.DifferentialFirst;

    public Double getMinDetectionRate() {
        return minDetectionRate;
    }

    public void setMinDetectionRate(Double minDetectionRate) {
        this.minDetectionRate = minDetectionRate;
    }

    public String getMaxBitrate() {
        return maxBitrate;
    }

    public void setMaxBitrate(String maxBitrate) {
        this.maxBitrate = maxBitrate;
    }

    public DropPolicy getPolicy() {
        return policy;
    }

    public void setPolicy(DropPolicy policy) {
        this.policy = policy;
    }

    /** Drop policy of a consumer. */
    public enum DropPolicy {
        None, Uniform, DifferentialFirst
    }
}
