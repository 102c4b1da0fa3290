package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.avro.Item;
import io.adaptrec.schemas.Topic;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local stack starts everything it promises and stops without leaving ports, threads' work or files behind. */
class LocalStackIT {
  @TempDir
  Path tmp;

  @Test
  void startsEveryComponentAndStopsCleanly() throws Exception {
    LocalStack stack = LocalStack.start(StackConfig.defaults().withFreePorts());
    Path dataDir = stack.dataDir();
    String bootstrap = stack.bootstrapServers();
    URI rest = stack.flinkRestAddress();
    int dashboardPort = -1;
    try {
      assertThat(stack.temporaryDataDir()).isTrue();
      assertThat(stack.roles()).containsExactly(Role.STREAMS, Role.POOLS, Role.WORKER, Role.GATEWAY, Role.REFRESH, Role.CONTROL, Role.DASHBOARD);
      assertThat(stack.worker()).as("no --model: no worker").isEmpty();
      assertThat(stack.describe()).contains("worker   not started: no model");
      assertThat(stack.problems()).isEmpty();
      assertThat(stack.streams().orElseThrow().streams().state()).isEqualTo(KafkaStreams.State.RUNNING);

      // every declared topic, with its partitions and cleanup policy
      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        List<String> names = stack.topics().all().stream().map(Topic::name).toList();
        Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames().get();
        Map<ConfigResource, Config> configs = admin.describeConfigs(names.stream()
            .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList()).all().get();
        for (Topic<?, ?> t : stack.topics().all()) {
          assertThat(described.get(t.name()).partitions()).as("partitions of %s", t.name()).hasSize(t.partitions());
          assertThat(configs.get(new ConfigResource(ConfigResource.Type.TOPIC, t.name())).get("cleanup.policy").value())
              .as("cleanup.policy of %s", t.name()).isEqualTo(t.cleanupPolicy().configValue());
        }
      }
      assertThat(Endpoints.registryAnswers(stack.registryUrl(), Duration.ofSeconds(5))).isTrue();
      // the MiniCluster's REST API lists the pools job as running
      HttpResponse<String> jobs = HttpClient.newHttpClient().send(HttpRequest.newBuilder(rest.resolve("/jobs/overview")).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(jobs.statusCode()).isEqualTo(200);
      assertThat(jobs.body()).contains(LocalStack.POOLS_JOB_NAME).contains("RUNNING");
      assertThat(stack.describe()).contains(bootstrap).contains(stack.registryUrl()).contains("adaptrec.user-pools");

      // the dashboard runs without a model: its overview has no worker (the page then says "no worker")
      String dashboard = stack.dashboardUrl().orElseThrow();
      dashboardPort = URI.create(dashboard).getPort();
      HttpResponse<String> overview = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(dashboard
          + "/api/overview")).GET().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(overview.statusCode()).isEqualTo(200);
      assertThat(overview.body()).contains("\"worker\":null").contains("\"streams: user state\"");
      HttpResponse<String> page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(dashboard + "/"))
          .GET().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body()).contains("id=\"responses-total\"");

      // 'adaptrec topics' does the same for a real cluster, idempotently
      AdaptrecCliTest.Run created = AdaptrecCliTest.run("topics", "--bootstrap", bootstrap, "--topic-prefix", "other.");
      assertThat(created.exitCode()).as(created.err()).isZero();
      assertThat(created.out()).contains("other.user-pools").contains("12 created, 0 corrected, 0 unchanged");
      AdaptrecCliTest.Run again = AdaptrecCliTest.run("topics", "--bootstrap", bootstrap, "--topic-prefix", "other.");
      assertThat(again.out()).contains("0 created, 0 corrected, 12 unchanged");
    } finally {
      stack.close();
    }
    stack.close(); // idempotent
    assertThat(Ports.accepts(Ports.HOST, Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1)), 500))
        .as("broker port released").isFalse();
    assertThat(Ports.accepts(Ports.HOST, rest.getPort(), 500)).as("Flink REST port released").isFalse();
    assertThat(Ports.accepts(Ports.HOST, dashboardPort, 500)).as("dashboard port released").isFalse();
    assertThat(dataDir).as("temporary data dir deleted").doesNotExist();
  }

  @Test
  void aPersistentDataDirKeepsRecordsReadableAcrossRestarts() throws Exception {
    Path dir = tmp.resolve("stack");
    Dataset d = new SyntheticGenerator(SyntheticConfig.defaults().withSize(10, 30, 2, 5)).dataset();
    StackConfig config = StackConfig.defaults().withFreePorts().withRoles(EnumSet.noneOf(Role.class)).withDataDir(dir);
    try (LocalStack first = LocalStack.start(config)) {
      new Replayer(first.topics(), first.bootstrapServers(), Map.of(), Replayer.Options.fastest(), System.err).replay(d, 0);
    }
    assertThat(dir.resolve("registry-snapshot.json")).exists();
    assertThat(Files.list(dir.resolve("kafka")).count()).isPositive();

    // a new registry on a new port: records written before must still decode (same schema ids)
    try (LocalStack second = LocalStack.start(config)) {
      List<ConsumerRecord<Long, Item>> items = TopicReader.readAll(second.bootstrapServers(), second.topics().items(), Duration.ofSeconds(60));
      assertThat(items).hasSize(d.items().size());
      assertThat(items.stream().collect(Collectors.toMap(ConsumerRecord::key, r -> r.value().getTitle())))
          .isEqualTo(d.items().stream().collect(Collectors.toMap(Dataset.Item::itemId, Dataset.Item::title)));
    }
    assertThat(dir).as("a persistent data dir is kept").exists();
  }
}
