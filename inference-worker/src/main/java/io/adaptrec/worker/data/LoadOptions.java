package io.adaptrec.worker.data;

import java.util.Objects;

/**
 * How {@link Datasets#load} treats its input.
 *
 * @param lenient       false (default): the first malformed line fails the load with file, line and
 *                      reason; true: malformed lines are reported, counted and skipped
 * @param timestampUnit unit of the generic CSV {@code timestamp} column (MovieLens is always seconds)
 * @param synthetic     generator settings, used only for {@link DatasetKind#SYNTHETIC}
 */
public record LoadOptions(boolean lenient, TimestampUnit timestampUnit, SyntheticConfig synthetic) {

    public LoadOptions {
        Objects.requireNonNull(timestampUnit, "timestampUnit (use AUTO to detect)");
        Objects.requireNonNull(synthetic, "synthetic (use SyntheticConfig.defaults())");
    }

    /** Strict, timestamp unit detected, default synthetic world. */
    public static LoadOptions defaults() {
        return new LoadOptions(false, TimestampUnit.AUTO, SyntheticConfig.defaults());
    }

    public LoadOptions withLenient(boolean newLenient) {
        return new LoadOptions(newLenient, timestampUnit, synthetic);
    }

    public LoadOptions withTimestampUnit(TimestampUnit unit) {
        return new LoadOptions(lenient, unit, synthetic);
    }

    public LoadOptions withSynthetic(SyntheticConfig config) {
        return new LoadOptions(lenient, timestampUnit, config);
    }
}
