package io.adaptrec.infra;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code adaptrec up}: the whole local stack in one process, until Ctrl-C. */
@Command(name = "up", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = {
        "Start the local stack and run it until Ctrl-C.",
        "An embedded Kafka broker (KRaft), the schema registry, every topic, a Flink MiniCluster, the streams role "
            + "(UserStateTopology) and the pools role (SimilarUserPools job); Ctrl-C stops everything in reverse order."},
    footer = {"", "Examples:",
        "  adaptrec up",
        "  adaptrec up --data-dir ./data/stack --kafka-port 19092 --flink-parallelism 4",
        "  adaptrec up --roles none        # broker, registry and Flink only",
        "  adaptrec up --model /tmp/reclm --dashboard-port 8071   # the live dashboard on another port"})
public final class UpCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  StackOptions stack;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Keep broker logs, Streams state, Flink checkpoints and the registry snapshot here across runs "
          + "(default: a temporary directory deleted on exit).")
  Path dataDir;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    StackConfig config = stack.toConfig(StackConfig.defaults()).withDataDir(dataDir);
    out.println("Starting the AdaptRec local stack ...");
    out.flush();
    LocalStack running = LocalStack.start(config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      out.println();
      out.println("Stopping the local stack ...");
      out.flush();
      running.close();
      out.println("Stopped.");
      out.flush();
      stopped.countDown();
    }, "adaptrec-up-shutdown"));

    out.printf("AdaptRec local stack is up (started in %.1f s)%n", running.startMillis() / 1000.0);
    out.print(running.describe());
    out.println();
    out.println("Replay a dataset into it:");
    out.println("  ./adaptrec replay --dataset movielens" + targetArgs(running));
    if (running.worker().isPresent()) {
      out.println("Ask for a live recommendation (after a replay):");
      out.println("  ./adaptrec recommend --user 1" + targetArgs(running).replace(" --topic-prefix", " --topic-prefix"));
      running.gatewayUrl().ifPresent(url -> out.println("  curl -s -X POST " + url
          + "/recommendations -d '{\"userId\": 1, \"k\": 5}'"));
    }
    running.dashboardUrl().ifPresent(url -> out.println("Watch it live: " + url + "/   (a user: " + url + "/?user=1)"));
    out.println("Point a role or client at it: bootstrap.servers=" + running.bootstrapServers()
        + "  schema.registry.url=" + running.registryUrl()
        + (running.secure() ? "  plus the settings in " + running.clientConfigFile() : ""));
    out.println("Press Ctrl-C to stop.");
    out.flush();

    // a role that dies must not go unnoticed behind a healthy-looking banner
    List<String> reported = List.of();
    while (!stopped.await(5, TimeUnit.SECONDS)) {
      List<String> problems = running.problems();
      if (!problems.equals(reported)) {
        problems.forEach(p -> spec.commandLine().getErr().println("warning: " + p));
        spec.commandLine().getErr().flush();
        reported = problems;
      }
    }
    return 0;
  }

  /** The replay options that reach this stack; none when it sits on the default ports. */
  static String targetArgs(LocalStack stack) {
    String args = "";
    if (!stack.bootstrapServers().equals(Endpoints.DEFAULT_BOOTSTRAP)) {
      args += " --bootstrap " + stack.bootstrapServers();
    }
    if (!stack.registryUrl().equals(Endpoints.DEFAULT_REGISTRY)) {
      args += " --registry " + stack.registryUrl();
    }
    if (!stack.topics().prefix().equals(io.adaptrec.schemas.Topics.DEFAULT_PREFIX)) {
      args += " --topic-prefix " + stack.topics().prefix();
    }
    if (stack.secure()) {
      args += " --client-config " + stack.clientConfigFile();
    }
    return args;
  }
}
