package io.adaptrec.infra;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutArm;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.cli.RolloutSimulateCommand;
import io.adaptrec.worker.rollout.ArmTotals;
import io.adaptrec.worker.rollout.RolloutOps;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code adaptrec rollout}: see and override A/B experiments between adapters. Overrides are
 * decisions like the controller's: written to {@code rollouts} and the {@code rollout-decisions}
 * log with who and why.
 */
@Command(name = "rollout", mixinStandardHelpOptions = true,
    description = "A/B rollouts of adapters: status, operator overrides, and the decision rule's simulation.",
    subcommands = {RolloutCommand.Status.class, RolloutCommand.Promote.class, RolloutCommand.Rollback.class,
        RolloutCommand.Pause.class, RolloutCommand.Resume.class, RolloutSimulateCommand.class})
public final class RolloutCommand implements Runnable {
  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Where the cluster is. */
  static final class Cluster {
    @Option(names = "--bootstrap", defaultValue = Endpoints.DEFAULT_BOOTSTRAP, description = "Kafka (default: ${DEFAULT-VALUE}).")
    String bootstrap;

    @Option(names = "--registry", defaultValue = Endpoints.DEFAULT_REGISTRY, description = "Schema registry (default: ${DEFAULT-VALUE}).")
    String registry;

    @Option(names = "--topic-prefix", defaultValue = Topics.DEFAULT_PREFIX, description = "Topic prefix (default: ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Mixin
    ClientConfigOption clientConfig = new ClientConfigOption();

    Topics topics() {
      return new Topics(topicPrefix, clientConfig.serde(registry));
    }

    Properties client() {
      return clientConfig.client(bootstrap);
    }

    /** Null when a broker answers, else the message to print. */
    String unreachable() {
      return Endpoints.kafkaAnswers(client(), Endpoints.ANSWER_TIMEOUT) ? null
          : "No Kafka broker answers at " + bootstrap + "; start one with ./adaptrec up --model DIR"
              + " (a secured one also needs its client settings: --client-config FILE)";
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Every experiment: state, arms and shares, outcomes and hit@1 per arm, the latest decision with its statistic.")
  static final class Status implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    Cluster cluster = new Cluster();

    @Option(names = "--json", description = "Print JSON instead of the table.")
    boolean json;

    @Option(names = "--log", description = "Also print every decision of each experiment (the rollout-decisions log).")
    boolean log;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      String down = cluster.unreachable();
      if (down != null) {
        spec.commandLine().getErr().println(down);
        return 2;
      }
      List<RolloutOps.Status> all = RolloutOps.status(cluster.client(), cluster.topics());
      if (json) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (RolloutOps.Status s : all) {
          rows.add(json(s));
        }
        out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(rows));
        out.flush();
        return 0;
      }
      if (all.isEmpty()) {
        out.println("No experiments yet (a published adapter starts one: ./adaptrec up --model DIR runs the trainer and controller).");
      }
      for (RolloutOps.Status s : all) {
        print(out, s, log);
      }
      out.flush();
      return 0;
    }

    static void print(PrintWriter out, RolloutOps.Status s, boolean log) {
      var r = s.rollout();
      out.printf("%s  %s  (updated %s)%n", r.getExperimentId(), r.getState(), r.getUpdatedAt());
      for (RolloutArm a : r.getArms()) {
        ArmTotals t = a.getArm().equals("control") ? s.control() : s.treatment();
        out.printf("  %-9s %-20s %3d %%   served %7d  errors %5d  outcomes %7d  hit@1 %s  p99 %s%n", a.getArm(),
            a.getAdapterVersion(), a.getTrafficPercent(), t.served(), t.errors(), t.outcomes(),
            t.outcomes() == 0 ? "   -  " : String.format("%.4f", t.hitsAt1() / (double) t.outcomes()),
            t.latency().count() == 0 ? "-" : String.format("%.1f ms", t.latency().quantileMicros(0.99) / 1000.0));
      }
      RolloutDecision d = r.getDecision();
      if (d != null) {
        out.printf("  latest: %s by %s: %s%n", d.getAction(), d.getActor(), d.getReason());
        out.printf("          %s effect %+.4f [%+.4f, %+.4f], Lambda %.3g vs 1/alpha %.3g, p %.4f, n %d / %d%n",
            d.getPrimaryMetric(), d.getEffect(), d.getEffectLow(), d.getEffectHigh(), d.getStatistic(), d.getBoundary(),
            d.getPValue(), d.getSamplesControl(), d.getSamplesTreatment());
      }
      if (log) {
        for (RolloutDecision x : s.log()) {
          out.printf("    %s  %-8s by %-12s %s%n", x.getDecidedAt(), x.getAction(), x.getActor(), x.getReason());
        }
      }
    }

    static Map<String, Object> json(RolloutOps.Status s) {
      Map<String, Object> m = new LinkedHashMap<>();
      var r = s.rollout();
      m.put("experimentId", r.getExperimentId());
      m.put("state", r.getState().name());
      List<Map<String, Object>> arms = new ArrayList<>();
      for (RolloutArm a : r.getArms()) {
        ArmTotals t = a.getArm().equals("control") ? s.control() : s.treatment();
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("arm", a.getArm());
        x.put("adapterVersion", a.getAdapterVersion());
        x.put("trafficPercent", a.getTrafficPercent());
        x.put("served", t.served());
        x.put("errors", t.errors());
        x.put("outcomes", t.outcomes());
        x.put("hitsAt1", t.hitsAt1());
        x.put("p99Micros", t.latency().quantileMicros(0.99));
        arms.add(x);
      }
      m.put("arms", arms);
      m.put("reason", r.getReason());
      List<Map<String, Object>> log = new ArrayList<>();
      for (RolloutDecision d : s.log()) {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("action", d.getAction().name());
        x.put("actor", d.getActor());
        x.put("reason", d.getReason());
        x.put("statistic", d.getStatistic());
        x.put("boundary", d.getBoundary());
        x.put("pValue", d.getPValue());
        x.put("effect", d.getEffect());
        x.put("samplesControl", d.getSamplesControl());
        x.put("samplesTreatment", d.getSamplesTreatment());
        x.put("decidedAt", d.getDecidedAt().toString());
        log.add(x);
      }
      m.put("decisions", log);
      return m;
    }
  }

  /** The shared shape of promote/rollback/pause/resume. */
  abstract static class OperatorOverride implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    Cluster cluster = new Cluster();

    @CommandLine.Parameters(index = "0", description = "The experiment id (see: rollout status).")
    String experiment;

    @Option(names = "--who", defaultValue = "${sys:user.name}", description = "Who decides (default: the OS user, ${DEFAULT-VALUE}).")
    String who;

    @Option(names = "--why", required = true, description = "Why: recorded with the decision.")
    String why;

    abstract RolloutAction action();

    @Override
    public Integer call() {
      String down = cluster.unreachable();
      if (down != null) {
        spec.commandLine().getErr().println(down);
        return 2;
      }
      try {
        var r = RolloutOps.override(cluster.client(), cluster.topics(), experiment, action(), who, why);
        spec.commandLine().getOut().printf("%s is now %s (recorded: %s by %s: %s)%n", experiment, r.getState(),
            action(), who, why);
        spec.commandLine().getOut().flush();
        return 0;
      } catch (IllegalArgumentException e) {
        spec.commandLine().getErr().println(e.getMessage());
        return 1;
      }
    }
  }

  @Command(name = "promote", mixinStandardHelpOptions = true, description = "Give the treatment all traffic now.")
  static final class Promote extends OperatorOverride {
    @Override
    RolloutAction action() {
      return RolloutAction.PROMOTE;
    }
  }

  @Command(name = "rollback", mixinStandardHelpOptions = true, description = "Give the control all traffic now and end the experiment.")
  static final class Rollback extends OperatorOverride {
    @Override
    RolloutAction action() {
      return RolloutAction.ROLLBACK;
    }
  }

  @Command(name = "pause", mixinStandardHelpOptions = true,
      description = "Hold the experiment: everyone gets the control, the statistics wait.")
  static final class Pause extends OperatorOverride {
    @Override
    RolloutAction action() {
      return RolloutAction.PAUSE;
    }
  }

  @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused experiment.")
  static final class Resume extends OperatorOverride {
    @Override
    RolloutAction action() {
      return RolloutAction.RESUME;
    }
  }
}
