package io.adaptrec.worker.training;

import io.adaptrec.schemas.ConfigKeys;
import io.adaptrec.schemas.ConfigKeys.Key;
import java.util.List;

/**
 * The {@code refresh.*} part of the worker configuration: when the trainer fine-tunes a new adapter
 * from the stream, on how much, and what it must show offline before it is published.
 */
public record RefreshConfig(
        long intervalMs,
        int minNew,
        int minExamples,
        int window,
        long captureDelayMs,
        double holdoutFraction,
        int epochs,
        double maxRegression,
        long seed,
        String instanceId) {

    public static final List<Key> KEYS = List.of(
            new Key("refresh.interval.ms", "600000", "1000..86400000", "T: train a new adapter at least this often (when refresh.min-examples new examples arrived)"),
            new Key("refresh.min-new", "500", "1..10000000", "E: or as soon as this many new interactions (examples) arrived since the last round"),
            new Key("refresh.min-examples", "100", "10..10000000", "fewest new examples a timed round (T) trains on; fewer wait for more traffic"),
            new Key("refresh.window", "5000", "10..10000000", "bounded recent window: the most recent examples kept for training and evaluation"),
            new Key("refresh.capture.delay.ms", "5000", "0..600000", "an interaction becomes an example this long after it arrived, once the pools reflect the user's earlier interactions"),
            new Key("refresh.holdout.fraction", "0.2", "0.05..0.5", "the most recent fraction of the window (by event time) held out to compare the new adapter with production"),
            new Key("refresh.epochs", "2", "1..50", "LoRA epochs per round, warm-started from the production adapter"),
            new Key("refresh.max-regression", "0.05", "0..1", "publish only when the new adapter's held-out HR@1 is at least production's minus this (the online experiment is the real judge)"),
            new Key("refresh.seed", "42", "any long", "seed of candidate sampling and training order"),
            new Key("refresh.instance.id", "trainer-1", "[A-Za-z0-9._-]+", "names the trainer in logs and metrics"));

    public static RefreshConfig parse(ConfigKeys in) {
        return new RefreshConfig(
                in.integer("refresh.interval.ms", 1000, 86_400_000),
                (int) in.integer("refresh.min-new", 1, 10_000_000),
                (int) in.integer("refresh.min-examples", 10, 10_000_000),
                (int) in.integer("refresh.window", 10, 10_000_000),
                in.integer("refresh.capture.delay.ms", 0, 600_000),
                in.decimal("refresh.holdout.fraction", 0.05, 0.5),
                (int) in.integer("refresh.epochs", 1, 50),
                in.decimal("refresh.max-regression", 0, 1),
                in.integer("refresh.seed", Long.MIN_VALUE, Long.MAX_VALUE),
                in.text("refresh.instance.id", s -> s.matches("[A-Za-z0-9._-]+")));
    }
}
