// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.qoc;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

import io.edgerep.api.v1alpha1.QocSpec.DropPolicy;

/**
 * Object-detection rate as a function of packet loss, once for uniform dropping and once for
 * differential-first dropping (the paper's Table 1 shape). Rates are interpolated linearly between
 * the measured points; an implicit point (0 % loss, rate 1.0) anchors the curve at no loss.
 */
public final class QocProfile {

    /** Name of the built-in profile. */
    public static final String DEFAULT_NAME = "default";

    /** The paper's Table 1: detection rate against packet loss. */
    public static final QocProfile DEFAULT = new QocProfile(DEFAULT_NAME,
            new double[]{0.5, 1, 2, 5},
            new double[]{0.95, 0.84, 0.46, 0.10},
            new double[]{0.99, 0.96, 0.74, 0.40});

    /** ConfigMap keys of a custom profile: comma-separated numbers, same count in each. */
    public static final String KEY_LOSS = "lossPercent";
    public static final String KEY_UNIFORM = "uniform";
    public static final String KEY_DIFFERENTIAL = "differential";

    private final String name;
    private final double[] lossPercent;
    private final double[] uniform;
    private final double[] differential;

    private QocProfile(String name, double[] lossPercent, double[] uniform, double[] differential) {
        this.name = name;
        this.lossPercent = with(0.0, lossPercent);
        this.uniform = with(1.0, uniform);
        this.differential = with(1.0, differential);
    }

    private static double[] with(double first, double[] rest) {
        double[] out = new double[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    public String name() {
        return name;
    }

    /**
     * Parses a profile from ConfigMap data.
     *
     * @throws IllegalArgumentException with a message fit for a condition when the data is malformed
     */
    public static QocProfile fromData(String name, Map<String, String> data) {
        if (data == null) {
            throw new IllegalArgumentException("ConfigMap " + name + " has no data");
        }
        double[] loss = numbers(name, data, KEY_LOSS);
        double[] uni = numbers(name, data, KEY_UNIFORM);
        double[] diff = numbers(name, data, KEY_DIFFERENTIAL);
        if (loss.length != uni.length || loss.length != diff.length) {
            throw new IllegalArgumentException("ConfigMap " + name + ": " + KEY_LOSS + ", " + KEY_UNIFORM + " and "
                    + KEY_DIFFERENTIAL + " must have the same number of points");
        }
        double prevLoss = 0;
        double prevU = 1;
        double prevD = 1;
        for (int i = 0; i < loss.length; i++) {
            if (!(loss[i] > prevLoss) || loss[i] > 100) {
                throw new IllegalArgumentException("ConfigMap " + name + ": " + KEY_LOSS
                        + " must be strictly increasing, above 0 and at most 100");
            }
            if (uni[i] < 0 || uni[i] > prevU || diff[i] < 0 || diff[i] > prevD) {
                throw new IllegalArgumentException("ConfigMap " + name
                        + ": detection rates must lie in 0..1 and must not rise with loss");
            }
            prevLoss = loss[i];
            prevU = uni[i];
            prevD = diff[i];
        }
        return new QocProfile(name, loss, uni, diff);
    }

    private static double[] numbers(String name, Map<String, String> data, String key) {
        String raw = data.get(key);
        if (raw == null || raw.isBlank()) {
            throw new IllegalArgumentException("ConfigMap " + name + " lacks key " + key);
        }
        try {
            double[] v = Arrays.stream(raw.split(",")).map(String::trim).mapToDouble(Double::parseDouble).toArray();
            if (v.length == 0) {
                throw new IllegalArgumentException("ConfigMap " + name + ": " + key + " is empty");
            }
            for (double d : v) {
                if (!Double.isFinite(d)) {
                    throw new NumberFormatException(String.valueOf(d));
                }
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("ConfigMap " + name + ": " + key + " is not a list of numbers: " + raw);
        }
    }

    /** Detection rate at a loss (percent), interpolated; beyond the last point the last rate holds. */
    public double detectionRate(double lossPct, DropPolicy policy) {
        double[] rate = rates(policy);
        if (lossPct <= 0) {
            return rate[0];
        }
        for (int i = 1; i < lossPercent.length; i++) {
            if (lossPct <= lossPercent[i]) {
                double f = (lossPct - lossPercent[i - 1]) / (lossPercent[i] - lossPercent[i - 1]);
                return rate[i - 1] + f * (rate[i] - rate[i - 1]);
            }
        }
        return rate[rate.length - 1];
    }

    /**
     * The largest loss (percent) at which the detection rate stays at or above {@code minRate}:
     * the consumer's loss budget. Never beyond the last measured point.
     */
    public double lossBudgetPercent(double minRate, DropPolicy policy) {
        double[] rate = rates(policy);
        if (minRate >= rate[0]) {
            return 0;
        }
        for (int i = 1; i < rate.length; i++) {
            if (minRate >= rate[i]) {
                if (rate[i - 1] == rate[i]) {
                    return lossPercent[i];
                }
                double f = (rate[i - 1] - minRate) / (rate[i - 1] - rate[i]);
                return lossPercent[i - 1] + f * (lossPercent[i] - lossPercent[i - 1]);
            }
        }
        return lossPercent[lossPercent.length - 1];
    }

    private double[] rates(DropPolicy policy) {
        return policy == DropPolicy.Uniform ? uniform : differential;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "QocProfile[%s, %d points]", name, lossPercent.length - 1);
    }
}
