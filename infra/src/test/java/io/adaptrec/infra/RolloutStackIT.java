package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.client.RecClient;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.eval.Split;
import io.adaptrec.worker.model.RecLMConfig;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.model.TrainConfig;
import io.adaptrec.worker.rollout.Controller;
import io.adaptrec.worker.rollout.Router;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole loop on the embedded stack, every role running: replayed traffic reaches the trainer,
 * which fine-tunes and publishes an adapter; the controller verifies it and starts an experiment;
 * the worker routes users between production and the new adapter; the outcome topology joins each
 * response with the user's next interaction into experiment metrics; the controller decides and
 * records the decision on rollouts and the decision log, where {@code rollout status} shows it.
 */
class RolloutStackIT {
  @TempDir
  Path tmp;

  @Test
  void theTrainerPublishesAnExperimentRunsAndADecisionIsRecorded() throws Exception {
    Dataset all = new SyntheticGenerator(SyntheticConfig.defaults().withSeed(9).withSize(60, 50, 10, 22)).dataset();
    // each user's last 3 interactions arrive later, as live traffic answered by the experiment
    Map<Long, List<Dataset.Event>> byUser = new HashMap<>();
    all.interactions().forEach(e -> byUser.computeIfAbsent(e.userId(), k -> new ArrayList<>()).add(e));
    List<Dataset.Event> prefix = new ArrayList<>();
    List<Dataset.Event> later = new ArrayList<>();
    for (List<Dataset.Event> es : byUser.values()) {
      es.sort(Comparator.comparingLong(Dataset.Event::eventTimeMillis));
      prefix.addAll(es.subList(0, es.size() - 3));
      later.addAll(es.subList(es.size() - 3, es.size()));
    }
    later.sort(Comparator.comparingLong(Dataset.Event::eventTimeMillis));
    prefix.sort(Comparator.comparingLong(Dataset.Event::eventTimeMillis));
    Dataset past = new Dataset(all.name(), all.items(), prefix);
    Path model = tmp.resolve("model");
    TrainConfig tc = new TrainConfig(3, 2, 20, 1, 1, 2, 16, 3e-3f, 3e-3f, 3, 10, 9, 1f, 0.3f, 0);
    try (RecLMSystem sys = RecLMSystem.train(Split.create(past, Protocol.LOO).trainingData(1),
        new RecLMConfig(16, 1, 1, 256, 0f, true, 4, 8f, false), tc, s -> { })) {
      sys.save(model, "v1", Map.of());
    }
    StackConfig config = StackConfig.defaults().withFreePorts().withModel(model)
        .withRoleSettings(Role.REFRESH, Map.of("refresh.min-new", "300", "refresh.min-examples", "50",
            "refresh.epochs", "1", "refresh.max-regression", "1"))
        .withRoleSettings(Role.CONTROL, Map.of("rollout.canary.percent", "50", "rollout.min-samples", "15",
            "rollout.max-samples", "30", "rollout.decide.interval.ms", "300", "rollout.report.interval.ms", "1000"))
        .withRoleSettings(Role.WORKER, Map.of("serving.prewarm.users", "0"))
        .withRoleSettings(Role.STREAMS, Map.of("outcome.emit.interval.ms", "300"));
    try (LocalStack stack = LocalStack.start(config)) {
      assertThat(stack.trainer()).isPresent();
      assertThat(stack.controller()).isPresent();
      assertThat(stack.describe()).contains("refresh  ").contains("control  ");
      Topics topics = stack.topics();
      new Replayer(topics, stack.bootstrapServers(), Map.of(), Replayer.Options.fastest(), System.err).replay(past, 0);

      // the trainer learns from the replayed traffic and publishes; the controller starts an experiment
      await().atMost(Duration.ofMinutes(4)).until(() -> stack.trainer().get().rounds().stream()
          .anyMatch(r -> r.published()) || stack.trainer().get().failure() != null);
      assertThat(stack.trainer().get().failure()).isNull();
      String candidate = stack.trainer().get().rounds().stream().filter(r -> r.published()).findFirst()
          .orElseThrow().candidate();
      String exp = "exp-" + candidate;
      await().atMost(Duration.ofMinutes(1)).until(() -> {
        Router r = stack.worker().orElseThrow().router();
        return r.experiment() != null && r.experiment().getExperimentId().equals(exp);
      });

      // live traffic: a request, then the user's next interaction (its outcome)
      Controller controller = stack.controller().orElseThrow();
      Properties client = new Properties();
      client.setProperty("bootstrap.servers", stack.bootstrapServers());
      Random rnd = new Random(1);
      Set<Long> items = new HashSet<>();
      all.items().forEach(i -> items.add(i.itemId()));
      Map<String, Integer> served = new HashMap<>();
      try (RecClient rec = new RecClient(topics, client);
           KafkaProducer<Long, Interaction> events = new KafkaProducer<>(client,
               topics.interactions().keySerde().serializer(), topics.interactions().valueSerde().serializer())) {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
        int i = 0;
        while (!decided(controller, exp) && System.nanoTime() < deadline) {
          Dataset.Event e = later.get(i++ % later.size());
          List<Long> cands = candidates(e, byUser.get(e.userId()), items, rnd);
          RecommendationResponse r = rec.send(RecommendationRequest.newBuilder().setRequestId("live-" + i)
              .setUserId(e.userId()).setCandidates(cands).setK(20).setRequestedAt(Instant.now()).setAsOf(null).build())
              .get(60, TimeUnit.SECONDS);
          if (exp.equals(r.getExperimentId())) {
            served.merge(r.getArm(), 1, Integer::sum);
          }
          events.send(new ProducerRecord<>(topics.interactions().name(), e.userId(), Interaction.newBuilder()
              .setUserId(e.userId()).setItemId(e.itemId()).setEventTime(Instant.ofEpochMilli(e.eventTimeMillis()))
              .setKind(InteractionKind.VIEW).setRating(null).build())).get();
        }
      }
      assertThat(decided(controller, exp)).as("a decision within the traffic budget; served %s", served).isTrue();
      assertThat(served).containsKeys(Router.CONTROL, Router.TREATMENT);

      RolloutDecision d = controller.decisions().stream()
          .filter(x -> x.getExperimentId().equals(exp) && final_(x)).findFirst().orElseThrow();
      assertThat(d.getActor()).isEqualTo(Controller.ACTOR);
      assertThat(d.getSamplesControl()).isGreaterThanOrEqualTo(15);
      assertThat(d.getSamplesTreatment()).isGreaterThanOrEqualTo(15);
      assertThat(d.getReason()).isNotBlank();

      // recorded: the log has START then the decision; the metrics have both arms' outcomes
      List<RolloutDecision> log = new ArrayList<>();
      TopicScan.toEnd(client, topics.rolloutDecisions().name(), Duration.ofSeconds(30), r -> log.add(
          topics.rolloutDecisions().valueSerde().deserializer().deserialize(r.topic(), r.value())));
      assertThat(log).filteredOn(x -> x.getExperimentId().equals(exp)).extracting(RolloutDecision::getAction)
          .startsWith(RolloutAction.START).contains(d.getAction());
      Map<String, Long> outcomes = new HashMap<>();
      TopicScan.toEnd(client, topics.experimentMetrics().name(), Duration.ofSeconds(30), r -> {
        ArmMetrics m = topics.experimentMetrics().valueSerde().deserializer().deserialize(r.topic(), r.value());
        if (m.getExperimentId().equals(exp)) {
          outcomes.merge(m.getArm(), m.getOutcomes(), Math::max);
        }
      });
      assertThat(outcomes).containsKeys(Router.CONTROL, Router.TREATMENT);
      List<AdapterManifest> published = new ArrayList<>();
      TopicScan.toEnd(client, topics.adapters().name(), Duration.ofSeconds(30), r -> published.add(
          topics.adapters().valueSerde().deserializer().deserialize(r.topic(), r.value())));
      assertThat(published).extracting(AdapterManifest::getVersion).contains(candidate);
      assertThat(published).filteredOn(m -> m.getVersion().equals(candidate)).first()
          .satisfies(m -> assertThat(m.getParentVersion()).isEqualTo("v1"));

      StringWriter out = new StringWriter();
      int code = AdaptrecCli.build().setOut(new PrintWriter(out)).setErr(new PrintWriter(out)).execute("rollout",
          "status", "--log", "--bootstrap", stack.bootstrapServers(), "--registry", stack.registryUrl());
      assertThat(code).as(out.toString()).isZero();
      assertThat(out.toString()).contains(exp).contains(d.getAction().name()).contains("by controller");
      System.out.println(out);
    }
  }

  private static boolean final_(RolloutDecision d) {
    return d.getAction() == RolloutAction.PROMOTE || d.getAction() == RolloutAction.ROLLBACK;
  }

  private static boolean decided(Controller c, String exp) {
    return c.decisions().stream().anyMatch(d -> d.getExperimentId().equals(exp) && final_(d));
  }

  /** The target plus 19 items the user never interacted with. */
  private static List<Long> candidates(Dataset.Event target, List<Dataset.Event> history, Set<Long> items, Random rnd) {
    Set<Long> seen = new HashSet<>();
    history.forEach(x -> seen.add(x.itemId()));
    List<Long> pool = new ArrayList<>(items);
    pool.removeAll(seen);
    java.util.Collections.shuffle(pool, rnd);
    List<Long> out = new ArrayList<>(pool.subList(0, Math.min(19, pool.size())));
    out.add(rnd.nextInt(out.size() + 1), target.itemId());
    return out;
  }
}
