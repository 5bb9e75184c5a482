// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;

/** What the operator creates at run time is owned by its Deployment, which helm uninstall deletes. */
class ReleaseOwnerTest {
    private final OwnerReference ref = ReleaseOwner.of(new DeploymentBuilder().withNewMetadata()
            .withName("edgerep-operator").withUid("6d1c0e4a-0000-4000-8000-000000000001").endMetadata().build());

    @Test
    void theReferenceNamesTheDeploymentWithoutControllingOrBlockingIt() {
        assertThat(ref.getApiVersion()).isEqualTo("apps/v1");
        assertThat(ref.getKind()).isEqualTo("Deployment");
        assertThat(ref.getName()).isEqualTo("edgerep-operator");
        assertThat(ref.getUid()).isEqualTo("6d1c0e4a-0000-4000-8000-000000000001");
        assertThat(ref.getController()).isFalse();
        assertThat(ref.getBlockOwnerDeletion()).isFalse();
    }

    @Test
    void adoptAddsTheOwnerOnceAndKeepsOthers() {
        OwnerReference other = new OwnerReference("v1", false, false, "ConfigMap", "x", "uid-other");
        ObjectMeta meta = new ObjectMetaBuilder().withName("edgerep-ca").withOwnerReferences(other).build();
        ReleaseOwner.adopt(meta, Optional.of(ref));
        ReleaseOwner.adopt(meta, Optional.of(ref));
        assertThat(meta.getOwnerReferences()).containsExactly(other, ref);
    }

    @Test
    void withoutAnOwnerNothingChanges() {
        ObjectMeta meta = new ObjectMetaBuilder().withName("edgerep-ca").build();
        ReleaseOwner.adopt(meta, Optional.empty());
        assertThat(meta.getOwnerReferences()).isNullOrEmpty();
        assertThat(ReleaseOwner.NONE.reference()).isEmpty();
    }
}
