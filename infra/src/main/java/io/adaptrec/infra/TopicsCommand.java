package io.adaptrec.infra;

import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.TopicAdmin;
import io.adaptrec.schemas.Topics;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code adaptrec topics}: creates every AdaptRec topic on a real cluster with its declared
 * partitions and cleanup policy (the local stack does this itself). Idempotent: existing topics
 * keep their data; a wrong cleanup.policy is corrected, too few partitions are reported.
 */
@Command(name = "topics", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
    description = {"Create (or check) every AdaptRec topic on a Kafka cluster.",
        "Each topic gets its declared partitions and cleanup policy; existing topics keep their data, a wrong "
            + "cleanup.policy is corrected and too few partitions are reported (adding partitions would move keys)."},
    footer = {"", "Example:", "  adaptrec topics --bootstrap kafka-1:9092,kafka-2:9092 --replication-factor 3"})
public final class TopicsCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", defaultValue = Endpoints.DEFAULT_BOOTSTRAP,
      description = "Kafka bootstrap servers (default: ${DEFAULT-VALUE}).")
  String bootstrap;

  @Option(names = "--replication-factor", paramLabel = "N", defaultValue = "1",
      description = "Replication factor of created topics, 1-32 (default: ${DEFAULT-VALUE}; use 3 on a production cluster).")
  int replicationFactor;

  @Option(names = "--topic-prefix", paramLabel = "P", defaultValue = Topics.DEFAULT_PREFIX,
      description = "Topic name prefix (default: ${DEFAULT-VALUE}).")
  String topicPrefix;

  @Mixin
  ClientConfigOption clientConfig = new ClientConfigOption();

  @Override
  public Integer call() {
    if (replicationFactor < 1 || replicationFactor > 32) {
      throw new IllegalArgumentException("--replication-factor must be 1-32, got " + replicationFactor);
    }
    // the registry URL only matters to serdes; declaring topics needs none
    Topics topics = new Topics(topicPrefix, AvroSerdeConfig.of(Endpoints.DEFAULT_REGISTRY));
    PrintWriter out = spec.commandLine().getOut();
    try (Admin admin = Admin.create(clientConfig.client(bootstrap))) {
      TopicAdmin.Report r = TopicAdmin.ensureTopics(admin, topics.all(), (short) replicationFactor, Duration.ofSeconds(60));
      for (Topic<?, ?> t : topics.all()) {
        String state = r.created().contains(t.name()) ? "created"
            : r.reconfigured().contains(t.name()) ? "cleanup.policy corrected" : "exists";
        String warn = r.fewerPartitions().contains(t.name()) ? "  WARNING: fewer partitions than declared" : "";
        out.printf("  %-36s %2d partitions  %-7s  %s%s%n", t.name(), t.partitions(), t.cleanupPolicy().configValue(), state, warn);
      }
      out.printf("%d created, %d corrected, %d unchanged on %s%n", r.created().size(), r.reconfigured().size(),
          r.unchanged().size(), bootstrap);
      return r.fewerPartitions().isEmpty() ? 0 : 1;
    }
  }
}
