// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.qoc;

import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.DifferentialFirst;
import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.Uniform;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.edgerep.api.v1alpha1.QocSpec.DropPolicy;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;

class QocProfileTest {

    @ParameterizedTest(name = "{0}% loss, {1}: rate {2}")
    @CsvSource({
            // the paper's Table 1, exactly
            "0.5, Uniform, 0.95", "1, Uniform, 0.84", "2, Uniform, 0.46", "5, Uniform, 0.10",
            "0.5, DifferentialFirst, 0.99", "1, DifferentialFirst, 0.96", "2, DifferentialFirst, 0.74",
            "5, DifferentialFirst, 0.40",
            // interpolated
            "0, Uniform, 1.0", "0.25, Uniform, 0.975", "1.5, Uniform, 0.65", "3.5, DifferentialFirst, 0.57",
            // beyond the last measured point the last rate holds
            "10, Uniform, 0.10", "50, DifferentialFirst, 0.40"})
    void detectionRateAtLoss(double loss, DropPolicy policy, double rate) {
        assertThat(QocProfile.DEFAULT.detectionRate(loss, policy)).isCloseTo(rate, within(1e-9));
    }

    @ParameterizedTest(name = "need {0} with {1}: budget {2}%")
    @CsvSource({
            "0.95, Uniform, 0.5", "0.84, Uniform, 1", "0.46, Uniform, 2", "0.10, Uniform, 5",
            "0.99, DifferentialFirst, 0.5", "0.96, DifferentialFirst, 1", "0.74, DifferentialFirst, 2",
            "0.40, DifferentialFirst, 5",
            "1.0, Uniform, 0", "1.0, DifferentialFirst, 0", "0.975, Uniform, 0.25", "0.65, Uniform, 1.5",
            "0.85, DifferentialFirst, 1.5", "0.0, Uniform, 5", "0.2, DifferentialFirst, 5"})
    void lossBudgetForNeed(double need, DropPolicy policy, double budget) {
        assertThat(QocProfile.DEFAULT.lossBudgetPercent(need, policy)).isCloseTo(budget, within(1e-9));
    }

    @ParameterizedTest
    @CsvSource({"0.3", "0.5", "0.9", "0.97"})
    void differentialDroppingToleratesMoreLossThanUniform(double need) {
        assertThat(QocProfile.DEFAULT.lossBudgetPercent(need, DifferentialFirst))
                .isGreaterThan(QocProfile.DEFAULT.lossBudgetPercent(need, Uniform));
    }

    @ParameterizedTest
    @CsvSource({"0.5, 0.9", "1.5, 0.7", "3, 0.5"})
    void budgetAndRateAreInverse(double loss, double ignored) {
        for (DropPolicy p : new DropPolicy[]{Uniform, DifferentialFirst}) {
            double rate = QocProfile.DEFAULT.detectionRate(loss, p);
            assertThat(QocProfile.DEFAULT.lossBudgetPercent(rate, p)).isCloseTo(loss, within(1e-9));
        }
    }

    @org.junit.jupiter.api.Test
    void customProfileFromLabelledConfigMap() {
        var cm = new ConfigMapBuilder().withNewMetadata().withName("strict").withNamespace("ns")
                .addToLabels(QocProfiles.PROFILE_LABEL, "").endMetadata()
                .withData(Map.of("lossPercent", "1, 10", "uniform", "0.9,0.5", "differential", "0.95,0.8")).build();
        QocProfile p = QocProfiles.resolve("ns", "strict", (ns, n) -> Optional.of(cm));
        assertThat(p.lossBudgetPercent(0.9, Uniform)).isCloseTo(1.0, within(1e-9));
        assertThat(p.lossBudgetPercent(0.875, DifferentialFirst)).isCloseTo(5.5, within(1e-9));
        assertThat(QocProfiles.resolve("ns", "default", (ns, n) -> Optional.empty())).isSameAs(QocProfile.DEFAULT);
    }

    @org.junit.jupiter.api.Test
    void unknownOrUnlabelledProfileIsUnknown() {
        var unlabelled = new ConfigMapBuilder().withNewMetadata().withName("x").endMetadata()
                .withData(Map.of("lossPercent", "1", "uniform", "0.9", "differential", "0.95")).build();
        assertThatThrownBy(() -> QocProfiles.resolve("ns", "x", (ns, n) -> Optional.of(unlabelled)))
                .isInstanceOf(QocProfiles.UnknownProfileException.class).hasMessageContaining("labelled");
        assertThatThrownBy(() -> QocProfiles.resolve("ns", "nope", (ns, n) -> Optional.empty()))
                .isInstanceOf(QocProfiles.UnknownProfileException.class).hasMessageContaining("'nope'");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "missing key|1,2|0.9,0.8|",
            "lengths differ|1,2|0.9|0.95,0.9",
            "not numbers|1,x|0.9,0.8|0.95,0.9",
            "loss not increasing|2,1|0.9,0.8|0.95,0.9",
            "rate above one|1,2|1.2,0.8|0.95,0.9",
            "rate rising with loss|1,2|0.5,0.8|0.95,0.9",
            "loss above 100|1,200|0.9,0.8|0.95,0.9"})
    void malformedProfilesAreRefused(String why, String loss, String uni, String diff) {
        var data = new java.util.HashMap<String, String>();
        data.put("lossPercent", loss);
        data.put("uniform", uni);
        if (diff != null) {
            data.put("differential", diff);
        }
        assertThatThrownBy(() -> QocProfile.fromData("p", data)).isInstanceOf(IllegalArgumentException.class)
                .isNotInstanceOf(QocProfiles.UnknownProfileException.class);
    }
}
