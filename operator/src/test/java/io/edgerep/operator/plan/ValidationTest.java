// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.edgerep.operator.qoc.QocProfile;

class ValidationTest {

    @Test
    void anAcceptedValidationCarriesItsProfileAndARejectionNone() {
        var ok = Validation.accepted(QocProfile.DEFAULT);
        assertThat(ok.accepted()).isTrue();
        assertThat(ok.verdict()).isEqualTo(Verdict.ACCEPTED);
        assertThat(ok.profile()).isSameAs(QocProfile.DEFAULT);
        var no = Validation.rejected(Verdict.rejected("InvalidMaxLag", "zero"));
        assertThat(no.accepted()).isFalse();
        assertThat(no.verdict().reason()).isEqualTo("InvalidMaxLag");
        assertThat(no.profile()).isNull();
    }
}
