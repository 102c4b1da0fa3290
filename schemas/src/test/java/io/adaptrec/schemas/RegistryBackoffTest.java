package io.adaptrec.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class RegistryBackoffTest {
  private static final TopicPartition P0 = new TopicPartition("t", 0);
  private static final TopicPartition P1 = new TopicPartition("t", 1);

  private static MockConsumer<String, String> consumer() {
    MockConsumer<String, String> c = new MockConsumer<>("earliest");
    c.assign(List.of(P0, P1));
    c.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L));
    for (int i = 0; i < 3; i++) {
      c.addRecord(new ConsumerRecord<>("t", 0, i, "k", "p0-" + i));
      c.addRecord(new ConsumerRecord<>("t", 1, i, "k", "p1-" + i));
    }
    return c;
  }

  @Test
  void anOutageRewindsEveryPartitionToItsFirstUnappliedRecordAndNothingIsSkipped() {
    MockConsumer<String, String> c = consumer();
    RegistryBackoff backoff = new RegistryBackoff("test", Duration.ofMillis(1), Duration.ofMillis(4));
    List<String> applied = new ArrayList<>();
    int[] outage = {2};   // the registry fails twice on p0-1, then answers
    java.util.function.Consumer<ConsumerRecord<String, String>> apply = r -> {
      if (r.value().equals("p0-1") && outage[0]-- > 0) {
        throw new org.apache.kafka.common.errors.SerializationException("wrapped",
            new RegistryUnavailableException("registry down", null));
      }
      applied.add(r.value());
    };
    for (int polls = 0; polls < 10; polls++) {
      ConsumerRecords<String, String> batch = c.poll(Duration.ZERO);
      if (batch.isEmpty()) {
        break;
      }
      if (!backoff.applyAll(c, batch, apply)) {
        // MockConsumer hands each record out once: fetch again from where each partition was rewound to
        for (TopicPartition tp : List.of(P0, P1)) {
          for (long o = c.position(tp); o < 3; o++) {
            c.addRecord(new ConsumerRecord<>("t", tp.partition(), o, "k", "p" + tp.partition() + "-" + o));
          }
        }
      }
    }
    assertThat(backoff.retries()).isEqualTo(2);
    // every record exactly once, each partition in order
    assertThat(applied).containsExactlyInAnyOrder("p0-0", "p0-1", "p0-2", "p1-0", "p1-1", "p1-2");
    assertThat(applied.stream().filter(v -> v.startsWith("p0")).toList()).containsExactly("p0-0", "p0-1", "p0-2");
    assertThat(applied.stream().filter(v -> v.startsWith("p1")).toList()).containsExactly("p1-0", "p1-1", "p1-2");
  }

  @Test
  void otherFailuresAreTheCallersAndTheWaitDoublesUpToTheMaximum() {
    MockConsumer<String, String> c = consumer();
    RegistryBackoff backoff = new RegistryBackoff("test", Duration.ofMillis(1), Duration.ofMillis(4));
    assertThatThrownBy(() -> backoff.applyAll(c, c.poll(Duration.ZERO), r -> {
      throw new IllegalStateException("bad record");
    })).hasMessage("bad record");
    RuntimeException down = new RegistryUnavailableException("down", null);
    assertThat(List.of(backoff.await(down), backoff.await(down), backoff.await(down), backoff.await(down)))
        .containsExactly(1L, 2L, 4L, 4L);
    backoff.succeeded();
    assertThat(backoff.await(down)).isEqualTo(1L);
    assertThatThrownBy(() -> new RegistryBackoff("x", Duration.ZERO, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
