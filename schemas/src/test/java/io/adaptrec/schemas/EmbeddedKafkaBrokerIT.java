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
  void aScramBrokerServesItsUsersAndRefusesEveryoneElse(@TempDir Path dir) throws Exception {
    EmbeddedKafkaBroker.Scram scram = new EmbeddedKafkaBroker.Scram("broker",
        Map.of("broker", "broker-pw", "alice", "alice-pw"));
    Topics topics = TestRegistry.freshTopics();
    Topic<Long, Interaction> t = topics.interactions();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.defaults().withLogDir(dir).withScram(scram).start()) {
      Map<String, Object> alice = new java.util.HashMap<>(scram.clientSettings("alice"));
      alice.put("bootstrap.servers", broker.bootstrapServers());
      try (Admin admin = Admin.create(alice)) {
        TopicAdmin.ensureTopics(admin, List.of(t), (short) 1, Duration.ofSeconds(30));
        assertThat(admin.describeUserScramCredentials().users().get()).contains("alice", "broker");
      }
      Map<String, Object> producer = new java.util.HashMap<>(alice);
      try (KafkaProducer<Long, Interaction> p = new KafkaProducer<>(producer, t.keySerde().serializer(), t.valueSerde().serializer())) {
        p.send(new ProducerRecord<>(t.name(), 1L, Fixtures.interaction(1, 2, T0))).get();
      }

      // a wrong password: refused, with the reason
      Map<String, Object> wrong = new java.util.HashMap<>(EmbeddedKafkaBroker.Scram.clientSettings("alice", "guess"));
      wrong.put("bootstrap.servers", broker.bootstrapServers());
      wrong.put("max.block.ms", 5000);
      try (KafkaProducer<Long, Interaction> p = new KafkaProducer<>(wrong, t.keySerde().serializer(), t.valueSerde().serializer())) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> p.send(new ProducerRecord<>(t.name(), 1L, Fixtures.interaction(1, 3, T0))).get())
            .hasRootCauseInstanceOf(org.apache.kafka.common.errors.SaslAuthenticationException.class);
      }
      // no credentials at all: the broker drops the connection; nothing is written
      Map<String, Object> anonymous = new java.util.HashMap<>(Map.of("bootstrap.servers", broker.bootstrapServers(),
          "max.block.ms", 3000));
      try (KafkaProducer<Long, Interaction> p = new KafkaProducer<>(anonymous, t.keySerde().serializer(), t.valueSerde().serializer())) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> p.send(new ProducerRecord<>(t.name(), 1L, Fixtures.interaction(1, 4, T0))).get())
            .hasMessageContaining("not present in metadata after 3000 ms");
      }
    }
    // a restart on the formatted log dir with a changed password: the new one holds, the old one no longer
    EmbeddedKafkaBroker.Scram changed = new EmbeddedKafkaBroker.Scram("broker", Map.of("broker", "broker-pw", "alice", "alice-pw2"));
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.defaults().withLogDir(dir).withScram(changed).start()) {
      Map<String, Object> alice = new java.util.HashMap<>(changed.clientSettings("alice"));
      alice.put("bootstrap.servers", broker.bootstrapServers());
      try (Admin admin = Admin.create(alice)) {
        assertThat(admin.listTopics().names().get()).contains(t.name());
      }
      Map<String, Object> old = new java.util.HashMap<>(scram.clientSettings("alice"));
      old.put("bootstrap.servers", broker.bootstrapServers());
      old.put("default.api.timeout.ms", 5000);
      old.put("request.timeout.ms", 5000);
      try (Admin admin = Admin.create(old)) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> admin.listTopics().names().get())
            .hasRootCauseInstanceOf(org.apache.kafka.common.errors.SaslAuthenticationException.class);
      }
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
