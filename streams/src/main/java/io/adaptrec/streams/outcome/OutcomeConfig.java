package io.adaptrec.streams.outcome;

import io.adaptrec.schemas.ConfigKeys;
import io.adaptrec.schemas.ConfigKeys.Key;
import java.util.List;
import java.util.Properties;

/**
 * The {@code outcome.*} keys of the streams role ({@link OutcomeTopology}). They live in the same
 * file and key list as the user-state keys ({@code UserStateConfig.KEYS} includes {@link #KEYS}), so
 * one {@code streams.properties} documents the whole role; connection, exactly-once and state
 * settings are shared with the user-state application.
 *
 * @param windowMs how long after a response arrives its user's next interaction counts as its outcome
 * @param metricsWindowMs tumbling window of the aggregates, by the response's {@code respondedAt}
 * @param emitIntervalMs how often changed windows are published (wall clock)
 * @param retentionMs how long after its end a window's aggregate is kept for updates
 * @param maxOutcomesPerUser outcomes of one user that count in one experiment (0: all)
 */
public record OutcomeConfig(boolean enabled, int numStreamThreads, long windowMs, long metricsWindowMs,
                            long emitIntervalMs, long retentionMs, int maxOutcomesPerUser) {

    public static final List<Key> KEYS = List.of(
            new Key("outcome.enabled", "true", "true | false", "run the outcome application (rec-responses + interactions -> experiment-metrics) in this process"),
            new Key("outcome.num.stream.threads", "1", "1..64", "stream threads of the outcome application"),
            new Key("outcome.window.ms", "1800000", "1000..86400000", "a response's outcome is the user's next interaction read within this many ms after the response was read"),
            new Key("outcome.metrics.window.ms", "60000", "1000..86400000", "tumbling window of the arm aggregates, by the response's respondedAt"),
            new Key("outcome.emit.interval.ms", "5000", "10..3600000", "changed windows are published every N ms (wall clock), each as its full running aggregate"),
            new Key("outcome.metrics.retention.ms", "86400000", "60000..31536000000, at least 2 x outcome.window.ms", "a window's aggregate is kept this long after its end for late updates; updates for older windows are counted and dropped"),
            new Key("outcome.max-per-user", "1", "0..1000000 (0 = all)", "outcomes of one user that count in one experiment: users are what the router randomises, and one heavy user's many correlated outcomes would break the sequential test's independence (served, errors and latency count every response; the production pseudo-experiment counts all)"));

    /** Reads the keys from a collecting parser; {@link #problem} reports the cross-key rule. */
    public static OutcomeConfig read(ConfigKeys in) {
        return new OutcomeConfig(
                in.bool("outcome.enabled"),
                (int) in.integer("outcome.num.stream.threads", 1, 64),
                in.integer("outcome.window.ms", 1000, 86_400_000),
                in.integer("outcome.metrics.window.ms", 1000, 86_400_000),
                in.integer("outcome.emit.interval.ms", 10, 3_600_000),
                in.integer("outcome.metrics.retention.ms", 60_000, 31_536_000_000L),
                (int) in.integer("outcome.max-per-user", 0, 1_000_000));
    }

    /**
     * The rule no single key's range can state, or null. Late outcomes arrive up to two outcome
     * windows after their response (the window, then the time an expired response is remembered),
     * so a shorter retention would drop them after the window they belong to had been published.
     */
    public String problem() {
        if (retentionMs < 2 * windowMs) {
            return "outcome.metrics.retention.ms=" + retentionMs + " must be at least 2 x outcome.window.ms ("
                    + 2 * windowMs + "): late outcomes arrive up to two outcome windows after their response";
        }
        return null;
    }

    public void write(Properties p) {
        p.setProperty("outcome.enabled", Boolean.toString(enabled));
        p.setProperty("outcome.num.stream.threads", Integer.toString(numStreamThreads));
        p.setProperty("outcome.window.ms", Long.toString(windowMs));
        p.setProperty("outcome.metrics.window.ms", Long.toString(metricsWindowMs));
        p.setProperty("outcome.emit.interval.ms", Long.toString(emitIntervalMs));
        p.setProperty("outcome.metrics.retention.ms", Long.toString(retentionMs));
        p.setProperty("outcome.max-per-user", Integer.toString(maxOutcomesPerUser));
    }
}
