package io.adaptrec.worker.cli;

import io.adaptrec.worker.rollout.ArmTotals;
import io.adaptrec.worker.rollout.DecisionRule;
import io.adaptrec.worker.rollout.RolloutSimulation;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rollout simulate}: runs the rollout decision rule on simulated A/B experiments and reports
 * its false-decision rate, power and samples to decision against a fixed-horizon test.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = "Simulate A/B rollouts under continuous monitoring: false decisions, power, outcomes to decision.")
public final class RolloutSimulateCommand implements Callable<Integer> {

    private static final RolloutSimulation.Config SIM = RolloutSimulation.Config.defaults();
    private static final DecisionRule.Config RULE = DecisionRule.Config.defaults();

    @Option(names = "--experiments", defaultValue = "1000", description = "Simulated experiments (default: ${DEFAULT-VALUE}).")
    int experiments;

    @Option(names = "--effect", defaultValue = "0", description = "True effect D on the hit rate, treatment minus control "
            + "(default: ${DEFAULT-VALUE}, an A/A test).")
    double effect;

    @Option(names = "--base-rate", defaultValue = "0.35", description = "Control hit rate p (default: ${DEFAULT-VALUE}).")
    double baseRate;

    @Option(names = "--share", defaultValue = "0.10", description = "Treatment's share of traffic (default: ${DEFAULT-VALUE}).")
    double share;

    @Option(names = "--alpha", defaultValue = "0.05", description = "Type I error of the rule (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--tau", defaultValue = "0.05", description = "mSPRT mixing standard deviation (default: ${DEFAULT-VALUE}).")
    double tau;

    @Option(names = "--min-samples", defaultValue = "200", description = "Outcomes per arm before deciding (default: ${DEFAULT-VALUE}).")
    long minSamples;

    @Option(names = "--max-samples", defaultValue = "20000", description = "Horizon: outcomes per arm at which an "
            + "undecided experiment keeps production (default: ${DEFAULT-VALUE}).")
    long maxSamples;

    @Option(names = "--batch", defaultValue = "100", description = "Outcomes (both arms) between two looks (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--error-rate", defaultValue = "0.001", description = "Error rate of both arms (default: ${DEFAULT-VALUE}).")
    double errorRate;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--report-json", description = "Write the JSON report here.")
    Path reportJson;

    @Override
    public Integer call() throws Exception {
        DecisionRule.Config rule = new DecisionRule.Config(alpha, tau, ArmTotals.HIT_AT_1, minSamples, maxSamples,
                RULE.errorRateMargin(), RULE.latencyP99Margin(), RULE.guardrailMinServed());
        RolloutSimulation.Config cfg = new RolloutSimulation.Config(experiments, effect, baseRate, share, batch,
                errorRate, SIM.latencyMedianMicros(), SIM.latencySigma(), seed, rule);
        long started = System.nanoTime();
        int step = Math.max(1, experiments / 10);
        RolloutSimulation.Result result = new RolloutSimulation(cfg).run(done -> {
            if (done % step == 0 || done == experiments) {
                double s = (System.nanoTime() - started) / 1e9;
                System.err.printf(Locale.ROOT, "rollout simulate: %d/%d experiments (%.0f %%), %.1f s, %.1f exp/s, ETA %.0f s%n",
                        done, experiments, 100.0 * done / experiments, s, done / s, s / done * (experiments - done));
            }
        });
        System.out.print(result.table());
        if (reportJson != null) {
            result.writeJson(reportJson);
            System.out.println("report: " + reportJson.toAbsolutePath());
        }
        return 0;
    }

    /** For running the worker jar directly; the adaptrec CLI mounts the command as {@code rollout simulate}. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new RolloutSimulateCommand()).execute(args));
    }
}
