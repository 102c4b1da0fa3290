package io.adaptrec.infra;

import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.cli.DatasetOptions;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.LoadResult;
import java.io.PrintWriter;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code adaptrec replay}: publishes a dataset's catalogue and interactions to Kafka. */
@Command(name = "replay", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = {
        "Publish a dataset (catalogue, then interactions in event-time order) to Kafka.",
        "The catalogue goes to <prefix>items (key itemId), the interactions to <prefix>interactions (key userId), "
            + "through an idempotent producer (acks=all): nothing lost or doubled.",
        "Without --bootstrap it uses a local stack at " + Endpoints.DEFAULT_BOOTSTRAP + " (started with 'adaptrec up'); "
            + "--embedded starts a temporary broker and registry just for this replay."},
    footer = {"", "Examples:",
        "  adaptrec replay --dataset movielens",
        "  adaptrec replay --dataset synthetic --users 200 --speedup 86400 --bootstrap kafka:9092 --registry http://registry:8081",
        "  adaptrec replay --dataset generic --data-dir ./mydata --lenient --embedded"})
public final class ReplayCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--dataset", required = true, paramLabel = "KIND", converter = Endpoints.DatasetKindConverter.class,
      description = "movielens, generic or synthetic.")
  DatasetKind dataset;

  @Mixin
  DatasetOptions data;

  @Option(names = "--speedup", paramLabel = "X", defaultValue = "0",
      description = "Divide event-time gaps by X (1 = real time, 86400 = a day per second); 0 = as fast as possible (default).")
  double speedup;

  @Option(names = "--rate", paramLabel = "R", defaultValue = "0",
      description = "Send R interactions per second at a constant pace, in event-time order (not with --speedup); 0 = off (default).")
  double rate;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka bootstrap servers (default: a local stack at "
      + Endpoints.DEFAULT_BOOTSTRAP + " if one runs).")
  String bootstrap;

  @Option(names = "--registry", paramLabel = "URL", description = "Schema registry URL (default: " + Endpoints.DEFAULT_REGISTRY + ").")
  String registry;

  @Mixin
  ClientConfigOption clientConfig = new ClientConfigOption();

  @Option(names = "--embedded", description = "Start a temporary embedded broker and registry for this replay (stopped afterwards).")
  boolean embedded;

  @Option(names = "--topic-prefix", paramLabel = "P", defaultValue = Topics.DEFAULT_PREFIX,
      description = "Topic name prefix (default: ${DEFAULT-VALUE}).")
  String topicPrefix;

  @Option(names = "--record-time", paramLabel = "now|event", defaultValue = "now",
      description = "Kafka record timestamp: now = send time (default; event time stays in the payload), "
          + "event = the event's time (needs retention.ms covering the data's age).")
  String recordTime;

  @Option(names = "--no-progress", negatable = false, description = "Do not draw the progress bar.")
  boolean noProgress;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (embedded && (bootstrap != null || registry != null)) {
      throw new IllegalArgumentException("--embedded starts its own broker and registry; drop --bootstrap/--registry");
    }
    Replayer.Options options = new Replayer.Options(speedup, parseRecordTime(recordTime), !noProgress, rate);
    // validate everything cheap before contacting or starting anything
    new Topics(topicPrefix, AvroSerdeConfig.of(Endpoints.DEFAULT_REGISTRY));
    data.validate(dataset);

    String kafka = bootstrap;
    String registryUrl = registry == null ? Endpoints.DEFAULT_REGISTRY : Endpoints.stripSlash(registry);
    if (!embedded) {
      kafka = bootstrap != null ? bootstrap : Endpoints.DEFAULT_BOOTSTRAP;
      if (!Endpoints.kafkaAnswers(clientConfig.client(kafka), Endpoints.ANSWER_TIMEOUT)) {
        err.println(bootstrap != null
            ? "adaptrec replay: no Kafka cluster answers at " + kafka + "."
            : "adaptrec replay: no local stack is running (nothing answers at " + kafka + ").");
        err.println("  Start one in another terminal with:  ./adaptrec up");
        err.println("  or replay into a temporary embedded stack:  ./adaptrec replay --embedded ...");
        err.println("  or point at a cluster:  --bootstrap HOST:PORT --registry URL");
        err.println("  (a secured cluster, e.g. 'up --secure', also needs its client settings: --client-config FILE)");
        return 1;
      }
      if (!Endpoints.registryAnswers(registryUrl, clientConfig.serde(registryUrl).basicAuthUserInfo(), Endpoints.ANSWER_TIMEOUT)) {
        err.println("adaptrec replay: no schema registry answers at " + registryUrl + "; pass --registry URL.");
        return 1;
      }
    }

    LoadResult loaded = data.load(dataset);
    err.println(loaded.report().summary());
    loaded.report().problems().forEach(p -> err.println("  skipped: " + p));

    if (embedded) {
      StackConfig stackConfig = StackConfig.defaults().withFreePorts().withTopicPrefix(topicPrefix).withRoles(EnumSet.noneOf(Role.class));
      try (LocalStack stack = LocalStack.start(stackConfig)) {
        err.println("embedded stack: Kafka " + stack.bootstrapServers() + ", registry " + stack.registryUrl());
        return replay(stack.topics(), stack.bootstrapServers(), Map.of(), options, loaded, out);
      }
    }
    return replay(new Topics(topicPrefix, clientConfig.serde(registryUrl)), kafka, Map.copyOf(clientConfig.settings()),
        options, loaded, out);
  }

  private int replay(Topics topics, String kafka, Map<String, Object> security, Replayer.Options options, LoadResult loaded,
      PrintWriter out) throws InterruptedException {
    Replayer.Summary summary = new Replayer(topics, kafka, security, options, System.err)
        .replay(loaded.dataset(), loaded.report().skippedLines());
    out.println(summary.describe());
    out.println("  topics: " + topics.items().name() + ", " + topics.interactions().name() + " on " + kafka);
    out.flush();
    return 0;
  }

  static Replayer.RecordTime parseRecordTime(String text) {
    return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "now" -> Replayer.RecordTime.NOW;
      case "event" -> Replayer.RecordTime.EVENT;
      default -> throw new IllegalArgumentException("--record-time must be now or event, got '" + text + "'");
    };
  }
}
