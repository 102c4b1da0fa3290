package io.adaptrec.worker.data;

/**
 * Unit of the numeric {@code timestamp} column of {@code interactions.csv}.
 *
 * <p>{@link #AUTO} decides per file from the first data row: values below
 * {@link #SECONDS_MILLIS_BOUNDARY} (1e11) are seconds, others millis. 1e11 seconds is the year
 * 5138 and 1e11 millis is 1973-03-03, so the rule only misreads millisecond timestamps from before
 * March 1973; pass {@link #MILLIS} for such data. A later row on the other side of the boundary
 * is malformed (mixed units), never silently rescaled.
 */
public enum TimestampUnit {
    AUTO, SECONDS, MILLIS;

    public static final long SECONDS_MILLIS_BOUNDARY = 100_000_000_000L;

    /** The unit a raw value implies under the {@link #AUTO} rule. */
    static TimestampUnit detect(long raw) {
        return raw < SECONDS_MILLIS_BOUNDARY ? SECONDS : MILLIS;
    }

    long toMillis(long raw) {
        return switch (this) {
            case SECONDS -> Math.multiplyExact(raw, 1000L);
            case MILLIS -> raw;
            case AUTO -> throw new IllegalStateException("AUTO must be resolved before converting");
        };
    }
}
