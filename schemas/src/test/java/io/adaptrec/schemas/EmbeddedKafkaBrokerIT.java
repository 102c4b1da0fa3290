package io.adaptrec.schemas;

import static io.adaptrec.schemas.testkit.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.avro.Interaction;
import io.adaptrec.schemas.testkit.Fixtures;
import io.adaptrec.schemas.testkit.TestRegistry;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-process broker's lifecycle: fixed port, data kept across a restart, temp dirs removed. */
class EmbeddedKafkaBrokerIT {

  @Test
  void persistentLogDirSurvivesARestartOnTheSamePort(@TempDir Path dir) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      port = s.getLocalPort();
    }
    Topics topics = TestRegistry.freshTopics();
    Topic<Long, Interaction> t = topics.interactions();
    Interaction sent = Fixtures.interaction(1, 2, T0);

    EmbeddedKafkaBroker first = EmbeddedKafkaBroker.defaults().withPort(port).withLogDir(dir).start();
    assertThat(first.bootstrapServers()).isEqualTo("127.0.0.1:" + port);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", first.bootstrapServers()))) {
      TopicAdmin.ensureTopics(admin, List.of(t), (short) 1, Duration.ofSeconds(30));
    }
    try (KafkaProducer<Long, Interaction> p = new KafkaProducer<>(
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, first.bootstrapServers()),
        t.keySerde().serializer(), t.valueSerde().serializer())) {
      p.send(new ProducerRecord<>(t.name(), 1L, sent)).get();
    }
    first.close();
    first.close(); // idempotent
    assertThat(dir.resolve("meta.properties")).exists();

    try (EmbeddedKafkaBroker second = EmbeddedKafkaBroker.defaults().withPort(port).withLogDir(dir).start()) {
      List<Interaction> got = new ArrayList<>();
      try (KafkaConsumer<Long, Interaction> c = new KafkaConsumer<>(Map.of(
          ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, second.bootstrapServers(),
          ConsumerConfig.GROUP_ID_CONFIG, "restart-check",
          ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"),
          t.keySerde().deserializer(), t.valueSerde().deserializer())) {
        c.subscribe(List.of(t.name()));
        long deadline = System.currentTimeMillis() + 30_000;
        while (got.isEmpty() && System.currentTimeMillis() < deadline) {
          c.poll(Duration.ofMillis(200)).forEach(r -> got.add(r.value()));
        }
      }
      assertThat(got).containsExactly(sent);
    }
  }

  @Test
  void temporaryLogDirIsDeletedOnClose() {
    EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
    Path dir = broker.logDir();
    assertThat(Files.isDirectory(dir)).isTrue();
    broker.close();
    assertThat(dir).doesNotExist();
  }
}
