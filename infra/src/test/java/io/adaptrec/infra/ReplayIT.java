package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.Item;
import io.adaptrec.schemas.Topics;
import io.adaptrec.schemas.testkit.TestKafka;
import io.adaptrec.schemas.testkit.TestRegistry;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.Datasets;
import io.adaptrec.worker.data.LoadOptions;
import io.adaptrec.worker.data.LoadResult;
import io.adaptrec.worker.data.SyntheticConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** Replays into the shared test broker and registry and reads everything back with our deserializer. */
class ReplayIT {
  /** Where CI provides MovieLens-100K: ../shared/datasets/ml-100k next to the repository (tests run in infra/). */
  static final Path ML_100K = Path.of("..").toAbsolutePath().normalize().resolve("../shared/datasets/ml-100k").normalize();

  @Test
  void movieLens100kArrivesCompleteAndReadable() throws Exception {
    assertThat(ML_100K.resolve("u.data")).as("MovieLens-100K must be present at %s (CI provides it)", ML_100K).exists();
    LoadResult loaded = Datasets.load(DatasetKind.MOVIELENS, ML_100K, LoadOptions.defaults());
    Topics topics = TestRegistry.freshTopics();
    TestKafka.createTopics(List.of(topics.items(), topics.interactions()));

    Replayer.Summary summary = new Replayer(topics, TestKafka.bootstrapServers(), Map.of(), Replayer.Options.fastest(), System.err)
        .replay(loaded.dataset(), loaded.report().skippedLines());
    assertThat(summary.items()).isEqualTo(1_682);
    assertThat(summary.interactions()).isEqualTo(100_000);
    assertThat(summary.skipped()).isZero();

    List<ConsumerRecord<Long, Item>> items = TopicReader.readAll(TestKafka.bootstrapServers(), topics.items(), Duration.ofSeconds(60));
    List<ConsumerRecord<Long, Interaction>> interactions =
        TopicReader.readAll(TestKafka.bootstrapServers(), topics.interactions(), Duration.ofSeconds(120));
    assertThat(items).hasSize(1_682);
    assertThat(interactions).hasSize(100_000);

    Map<Long, Item> byId = items.stream().collect(Collectors.toMap(ConsumerRecord::key, ConsumerRecord::value));
    assertThat(byId).hasSize(1_682);
    items.forEach(r -> assertThat(r.value().getItemId()).isEqualTo(r.key()));
    Item toyStory = byId.get(1L);
    assertThat(toyStory.getTitle()).isEqualTo("Toy Story (1995)");
    assertThat(toyStory.getGenres()).containsExactly("Animation", "Children's", "Comedy");
    assertThat(toyStory.getAttributes()).containsEntry("dataset", loaded.dataset().name());

    // u.data's first line: 196	242	3	881250949
    ConsumerRecord<Long, Interaction> first = interactions.stream()
        .filter(r -> r.key() == 196L && r.value().getItemId() == 242L).findFirst().orElseThrow();
    assertThat(first.value().getUserId()).isEqualTo(196L);
    assertThat(first.value().getRating()).isEqualTo(3.0f);
    assertThat(first.value().getKind()).isEqualTo(InteractionKind.RATE);
    assertThat(first.value().getEventTime()).isEqualTo(Instant.ofEpochSecond(881250949L));
    interactions.forEach(r -> assertThat(r.value().getUserId()).isEqualTo(r.key()));
    assertThat(interactions.stream().map(ConsumerRecord::key).distinct().count()).isEqualTo(943);
    assertPerUserEventTimeOrder(interactions);
  }

  @Test
  void syntheticReplayKeepsEachUsersEventTimeOrderAndPacing() throws Exception {
    // 40 users over a 2-hour window, replayed at 7200x: about one second of pacing
    SyntheticConfig config = new SyntheticConfig(11L, 40, 60, 5, 15, 4, 0.8, 0.5, 1.0,
        SyntheticConfig.DEFAULT_START_MILLIS, 3_600_000L, 120_000L);
    Dataset d = Datasets.load(DatasetKind.SYNTHETIC, null, LoadOptions.defaults().withSynthetic(config)).dataset();
    long spanMillis = d.interactions().get(d.interactions().size() - 1).eventTimeMillis() - d.interactions().get(0).eventTimeMillis();
    double speedup = 7200;
    Topics topics = TestRegistry.freshTopics();
    TestKafka.createTopics(List.of(topics.items(), topics.interactions()));

    long t0 = System.nanoTime();
    Replayer.Summary summary = new Replayer(topics, TestKafka.bootstrapServers(), Map.of(),
        new Replayer.Options(speedup, Replayer.RecordTime.EVENT, false), System.err).replay(d, 0);
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertThat(summary.interactions()).isEqualTo(d.interactions().size());
    assertThat(seconds).as("paced replay of a %d ms span at %.0fx", spanMillis, speedup)
        .isGreaterThanOrEqualTo(0.95 * spanMillis / speedup / 1000);

    List<ConsumerRecord<Long, Interaction>> read = TopicReader.readAll(TestKafka.bootstrapServers(), topics.interactions(), Duration.ofSeconds(60));
    assertThat(read).hasSize(d.interactions().size());
    assertPerUserEventTimeOrder(read);
    // each user's sequence arrives exactly as generated, and --record-time event put the event time in the timestamp
    Map<Long, List<Long>> expected = d.interactions().stream().collect(Collectors.groupingBy(Dataset.Event::userId,
        Collectors.mapping(Dataset.Event::itemId, Collectors.toList())));
    Map<Long, List<Long>> actual = read.stream().collect(Collectors.groupingBy(ConsumerRecord::key,
        Collectors.mapping(r -> r.value().getItemId(), Collectors.toList())));
    assertThat(actual).isEqualTo(expected);
    read.forEach(r -> assertThat(r.timestamp()).isEqualTo(r.value().getEventTime().toEpochMilli()));
  }

  @Test
  void aConstantRateReplaySpacesInteractionsByTheRateWhateverTheirEventTimes() throws Exception {
    SyntheticConfig config = new SyntheticConfig(12L, 20, 40, 5, 10, 4, 0.8, 0.5, 1.0,
        SyntheticConfig.DEFAULT_START_MILLIS, 3_600_000L, 120_000L);
    Dataset d = Datasets.load(DatasetKind.SYNTHETIC, null, LoadOptions.defaults().withSynthetic(config)).dataset();
    Topics topics = TestRegistry.freshTopics();
    TestKafka.createTopics(List.of(topics.items(), topics.interactions()));
    double rate = 400;
    long t0 = System.nanoTime();
    Replayer.Summary summary = new Replayer(topics, TestKafka.bootstrapServers(), Map.of(),
        Replayer.Options.atRate(rate, false), System.err).replay(d, 0);
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertThat(summary.interactions()).isEqualTo(d.interactions().size());
    assertThat(seconds).as("%d interactions at %.0f/s", d.interactions().size(), rate)
        .isGreaterThanOrEqualTo(0.95 * (d.interactions().size() - 1) / rate);
    List<ConsumerRecord<Long, Interaction>> read = TopicReader.readAll(TestKafka.bootstrapServers(), topics.interactions(), Duration.ofSeconds(60));
    assertThat(read).hasSize(d.interactions().size());
    assertPerUserEventTimeOrder(read);
    assertThatThrownBy(() -> new Replayer.Options(10, Replayer.RecordTime.NOW, false, 100))
        .hasMessageContaining("not given with --speedup");
  }

  /** Records of one user share a partition; within it, offsets must follow event time. */
  static void assertPerUserEventTimeOrder(List<ConsumerRecord<Long, Interaction>> records) {
    Map<Long, ConsumerRecord<Long, Interaction>> last = new HashMap<>();
    for (ConsumerRecord<Long, Interaction> r : records) {
      ConsumerRecord<Long, Interaction> prev = last.put(r.key(), r);
      if (prev != null) {
        assertThat(r.partition()).as("partition of user %d", r.key()).isEqualTo(prev.partition());
        assertThat(r.offset()).isGreaterThan(prev.offset());
        assertThat(r.value().getEventTime()).as("event time order of user %d", r.key())
            .isAfterOrEqualTo(prev.value().getEventTime());
      }
    }
  }
}
