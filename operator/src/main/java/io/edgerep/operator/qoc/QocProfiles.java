// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.qoc;

import java.util.Optional;

import io.fabric8.kubernetes.api.model.ConfigMap;

/** Resolves a profile name: the built-in default or a labelled ConfigMap in the resource's namespace. */
public final class QocProfiles {

    /** Label a ConfigMap carries to be usable as a QoC profile. */
    public static final String PROFILE_LABEL = "edgerep.io/qoc-profile";

    private QocProfiles() {
    }

    /** Source of ConfigMaps by namespace and name (the informer cache in production). */
    public interface ConfigMaps {
        Optional<ConfigMap> get(String namespace, String name);
    }

    /**
     * @throws IllegalArgumentException when the profile does not exist or is malformed (message fit
     *         for a condition)
     */
    public static QocProfile resolve(String namespace, String name, ConfigMaps configMaps) {
        if (name == null || QocProfile.DEFAULT_NAME.equals(name)) {
            return QocProfile.DEFAULT;
        }
        ConfigMap cm = configMaps.get(namespace, name)
                .filter(c -> c.getMetadata().getLabels() != null
                        && c.getMetadata().getLabels().containsKey(PROFILE_LABEL))
                .orElseThrow(() -> new UnknownProfileException("QoC profile '" + name
                        + "' is neither 'default' nor a ConfigMap in namespace " + namespace + " labelled "
                        + PROFILE_LABEL));
        return QocProfile.fromData(name, cm.getData());
    }

    /** The profile does not exist (as opposed to existing but malformed). */
    public static final class UnknownProfileException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        UnknownProfileException(String message) {
            super(message);
        }
    }
}
