package io.adaptrec.worker.rollout;

import io.adaptrec.schemas.ConfigKeys;
import io.adaptrec.schemas.ConfigKeys.Key;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@code adapters.*} and {@code rollout.*} part of the worker configuration: where adapter
 * weights live, and how the controller runs experiments (canary share, the sequential test and its
 * guardrails). Parsed with the rest of {@code inference-worker.properties}.
 */
public record RolloutConfig(
        Path adaptersDir,
        long inlineMaxBytes,
        int canaryPercent,
        String metric,
        double alpha,
        double tau,
        long minSamples,
        long maxSamples,
        double errorMargin,
        double latencyMargin,
        long decideIntervalMs,
        long reportIntervalMs,
        String controllerId) {

    public static final List<Key> KEYS = List.of(
            new Key("adapters.dir", System.getProperty("java.io.tmpdir") + "/adaptrec-adapters", "path readable by every worker",
                    "shared adapter directory: the trainer writes <dir>/<version>/adapter.safetensors there when an adapter is too large to inline; relative locations on 'adapters' resolve against it"),
            new Key("adapters.inline.max-bytes", "524288", "0..900000", "adapters up to this size travel inside the manifest record on 'adapters' (below Kafka's 1 MB default message limit); larger ones as a file: location under adapters.dir"),
            new Key("rollout.canary.percent", "10", "1..50", "traffic share of a new adapter's arm while its experiment runs"),
            new Key("rollout.metric", "hit@1", "hit@1 | hit@5 | ndcg", "primary metric of the sequential test (from experiment-metrics)"),
            new Key("rollout.alpha", "0.05", "0.001..0.2", "false-decision bound of the always-valid test, however often it is checked"),
            new Key("rollout.tau", "0.05", "0.001..1", "mixing standard deviation of the mSPRT: the effect size the test is most sensitive to"),
            new Key("rollout.min-samples", "200", "1..100000000", "outcomes each arm needs before any decision"),
            new Key("rollout.max-samples", "20000", "1..1000000000", "horizon: outcomes per arm after which an undecided experiment ends and production stays"),
            new Key("rollout.error-margin", "0.01", "0..1", "guardrail: the treatment's error rate may exceed the control's by at most this (absolute)"),
            new Key("rollout.latency-margin", "0.2", "0..10", "guardrail: the treatment's p99 latency may exceed the control's by at most this fraction"),
            new Key("rollout.decide.interval.ms", "5000", "100..3600000", "how often the controller re-evaluates the running experiment"),
            new Key("rollout.report.interval.ms", "60000", "1000..86400000", "how often an undecided experiment's statistic is recorded on rollouts and the decision log"),
            new Key("rollout.controller.id", "controller-1", "[A-Za-z0-9._-]+", "transactional.id of the controller's producer: a second controller with the same id fences the first"));

    /** The controller's decision rule with these settings (guardrails need as many served responses as outcomes). */
    public DecisionRule.Config decisionRule() {
        return new DecisionRule.Config(alpha, tau, metric, minSamples, maxSamples, errorMargin, latencyMargin, minSamples);
    }

    public static RolloutConfig parse(ConfigKeys in) {
        return new RolloutConfig(
                Path.of(in.text("adapters.dir", s -> !s.isBlank())),
                in.integer("adapters.inline.max-bytes", 0, 900_000),
                (int) in.integer("rollout.canary.percent", 1, 50),
                in.text("rollout.metric", s -> s.matches("hit@1|hit@5|ndcg")),
                in.decimal("rollout.alpha", 0.001, 0.2),
                in.decimal("rollout.tau", 0.001, 1),
                in.integer("rollout.min-samples", 1, 100_000_000),
                in.integer("rollout.max-samples", 1, 1_000_000_000),
                in.decimal("rollout.error-margin", 0, 1),
                in.decimal("rollout.latency-margin", 0, 10),
                in.integer("rollout.decide.interval.ms", 100, 3_600_000),
                in.integer("rollout.report.interval.ms", 1000, 86_400_000),
                in.text("rollout.controller.id", s -> s.matches("[A-Za-z0-9._-]+")));
    }
}
