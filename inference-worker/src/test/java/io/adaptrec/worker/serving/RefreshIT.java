package io.adaptrec.worker.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.worker.adapters.Manifests;
import io.adaptrec.worker.adapters.Verifier;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.training.RefreshLoop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The trainer on the embedded broker: live interactions become examples (history before the new
 * item, the pool as of then), a round fine-tunes LoRA warm-started from production, measures both
 * adapters on the most recent held-out examples, and publishes a verified, content-versioned
 * adapter whose manifest names its parent and carries the offline metrics.
 */
class RefreshIT {

    @Test
    void liveInteractionsBecomeAPublishedAdapter() throws Exception {
        try (ServingFixture world = new ServingFixture()) {
            Path adapters = Files.createTempDirectory("refresh-adapters");
            Properties p = world.config("refresh-1");
            p.setProperty("adapters.dir", adapters.toString());
            p.setProperty("adapters.inline.max-bytes", "0");   // force the shared-directory path
            p.setProperty("refresh.min-new", "60");
            p.setProperty("refresh.min-examples", "10");
            p.setProperty("refresh.epochs", "1");
            p.setProperty("refresh.max-regression", "1");
            try (RefreshLoop trainer = RefreshLoop.start(ServingConfig.fromProperties(p))) {
                // new interactions after everything the users did: an unseen item each, later in time
                Random rnd = new Random(5);
                long t0 = world.times.values().stream().mapToLong(t -> t[t.length - 1]).max().orElseThrow() + 1000;
                int sent = 0;
                for (int round = 0; round < 2; round++) {
                    for (long u = 1; u <= ServingFixture.USERS; u++) {
                        long[] unseen = world.unseen(u, 20);
                        long item = unseen[rnd.nextInt(unseen.length)];
                        world.send(world.topics.interactions(), u, Interaction.newBuilder().setUserId(u).setItemId(item)
                                .setEventTime(Instant.ofEpochMilli(t0 + sent * 10L)).setKind(InteractionKind.VIEW)
                                .setRating(null).build());
                        sent++;
                    }
                }
                world.flush();
                await().atMost(Duration.ofMinutes(2)).until(() -> !trainer.rounds().isEmpty() || trainer.failure() != null);
                assertThat(trainer.failure()).isNull();
                RefreshLoop.Round r = trainer.rounds().get(0);
                assertThat(r.production()).isEqualTo("v1");
                assertThat(r.examples()).isBetween(60, sent);
                assertThat(r.heldOut()).isEqualTo((int) Math.round(r.examples() * 0.2));
                assertThat(r.train() + r.heldOut()).isEqualTo(r.examples());
                assertThat(r.productionHr1()).isBetween(0.0, 1.0);
                assertThat(r.published()).isTrue();

                List<AdapterManifest> published = new ArrayList<>();
                TopicScan.toEnd(RolloutIT.client(), world.topics.adapters().name(), Duration.ofSeconds(30), rec -> published.add(
                        world.topics.adapters().valueSerde().deserializer().deserialize(rec.topic(), rec.value())));
                assertThat(published).hasSize(1);
                AdapterManifest m = published.get(0);
                assertThat(m.getVersion()).isEqualTo(r.candidate()).startsWith("lora-");
                assertThat(m.getParentVersion()).isEqualTo("v1");
                assertThat(m.getPayload()).isNull();
                assertThat(m.getLocation()).startsWith("file:");
                assertThat(m.getOfflineMetrics()).containsKeys("refresh.hr@1", "refresh.ndcg@5", "refresh.production.hr@1",
                        "refresh.heldout.size", "refresh.train.size");
                assertThat(m.getOfflineMetrics().get("refresh.heldout.size")).isEqualTo(r.heldOut());
                byte[] weights = Manifests.weights(m, adapters);
                assertThat(Manifests.contentVersion(weights)).isEqualTo(m.getVersion());
                try (LanguageModel lm = RecLMSystem.loadModel(world.modelDir)) {
                    assertThat(Verifier.verify(lm, m, weights).verified()).as("a fine-tuned adapter passes verification").isTrue();
                }
            }
        }
    }
}
