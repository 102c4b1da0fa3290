package io.adaptrec.infra;

import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.client.RecClient;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.rollout.ArmTotals;
import io.adaptrec.worker.rollout.Controller;
import io.adaptrec.worker.rollout.RolloutOps;
import io.adaptrec.worker.rollout.Router;
import io.adaptrec.worker.serving.Worker;
import io.adaptrec.worker.training.RefreshLoop;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The refresh and rollout loop measured on the local stack (every role running): the dataset is cut
 * in time; the past is replayed (live traffic for the trainer, which fine-tunes and publishes); once
 * the first published adapter's experiment routes on the worker, the rest of the data arrives as
 * live traffic, each event as a recommendation request (the true next item among 20 candidates)
 * followed by the interaction itself, so the outcome topology has something to join, until the
 * controller decides or the live events run out. The report holds every trainer round, the time from
 * publication to serving, every experiment with its decisions and arm totals, and the client's own
 * per-arm count of responses and hits.
 */
public final class RolloutBenchmark {

  /**
   * @param liveFraction the most recent share of the interactions (by event time) sent as live traffic
   * @param maxLiveEvents stop the live phase after this many events (0: all)
   * @param publicationTimeout how long to wait for the trainer's first published adapter to be routed
   */
  public record Config(double liveFraction, int maxLiveEvents, Duration publicationTimeout, long seed) {
    public Config {
      if (liveFraction <= 0 || liveFraction >= 1) {
        throw new IllegalArgumentException("live fraction must be in (0, 1), got " + liveFraction);
      }
    }
  }

  private final LocalStack stack;
  private final Dataset data;
  private final Config cfg;
  private final PrintWriter out;

  public RolloutBenchmark(LocalStack stack, Dataset data, Config cfg, PrintWriter out) {
    this.stack = stack;
    this.data = data;
    this.cfg = cfg;
    this.out = out;
  }

  /** Replays the past, waits for an experiment, drives the live phase; the report as a JSON tree. */
  public Map<String, Object> run() throws Exception {
    long t0 = System.nanoTime();
    RefreshLoop trainer = stack.trainer().orElseThrow(() -> new IllegalStateException("the refresh role is not running"));
    Controller controller = stack.controller().orElseThrow(() -> new IllegalStateException("the control role is not running"));
    Worker worker = stack.worker().orElseThrow(() -> new IllegalStateException("the worker role is not running"));
    List<Dataset.Event> events = data.byTime();
    int cut = data.timeCut(1 - cfg.liveFraction());
    Dataset past = data.earliest(1 - cfg.liveFraction());
    List<Dataset.Event> live = events.subList(cut, events.size());
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("dataset", data.name());
    report.put("past_interactions", cut);
    report.put("live_interactions", live.size());
    progress("replaying %d past interactions (the trainer learns from them) ...", cut);
    new Replayer(stack.topics(), stack.bootstrapServers(), stack.clientSettings(), Replayer.Options.fastest(), System.err).replay(past, 0);
    long replayed = System.nanoTime();

    progress("waiting for the trainer's first published adapter to be routed ...");
    long until = System.nanoTime() + cfg.publicationTimeout().toNanos();
    String exp = null;
    while (exp == null && System.nanoTime() < until) {
      if (trainer.failure() != null || controller.failure() != null) {
        throw new IllegalStateException("trainer or controller failed", trainer.failure() != null ? trainer.failure()
            : controller.failure());
      }
      Router r = worker.router();
      exp = r.experiment() == null ? null : r.experiment().getExperimentId();
      Thread.sleep(200);
    }
    if (exp == null) {
      throw new IllegalStateException("no experiment was routed within " + cfg.publicationTimeout() + "; trainer rounds: "
          + trainer.rounds() + ", skipped examples: " + trainer.skipped());
    }
    long routed = System.nanoTime();
    long publishToServing = worker.publishToServingMillis();   // this experiment's; later ones may queue behind it
    progress("experiment %s routes on the worker; live traffic ...", exp);

    Map<String, int[]> byArm = new LinkedHashMap<>();   // arm -> responses in the experiment, hits@1 of the true item
    Properties client = stack.clientProperties();
    Topics topics = stack.topics();
    Map<Long, Set<Long>> seen = new HashMap<>();
    for (Dataset.Event e : past.interactions()) {
      seen.computeIfAbsent(e.userId(), k -> new HashSet<>()).add(e.itemId());
    }
    List<Long> catalogue = data.items().stream().map(Dataset.Item::itemId).toList();
    Random rnd = new Random(cfg.seed());
    int sent = 0;
    int errors = 0;
    String decided = null;
    try (RecClient rec = new RecClient(topics, client);
         KafkaProducer<Long, Interaction> interactions = new KafkaProducer<>(client,
             topics.interactions().keySerde().serializer(), topics.interactions().valueSerde().serializer())) {
      for (Dataset.Event e : live) {
        if (cfg.maxLiveEvents() > 0 && sent >= cfg.maxLiveEvents() || (decided = decision(controller, exp)) != null) {
          break;
        }
        Set<Long> s = seen.computeIfAbsent(e.userId(), k -> new HashSet<>());
        List<Long> cands = candidates(e.itemId(), s, catalogue, rnd);
        RecommendationResponse r = rec.send(RecommendationRequest.newBuilder().setRequestId("live-" + sent)
            .setUserId(e.userId()).setCandidates(cands).setK(cands.size()).setRequestedAt(Instant.now()).setAsOf(null)
            .build()).get(60, TimeUnit.SECONDS);
        if (r.getError() != null) {
          errors++;
        }
        if (exp.equals(r.getExperimentId())) {
          int[] c = byArm.computeIfAbsent(r.getArm(), k -> new int[2]);
          c[0]++;
          if (!r.getItems().isEmpty() && r.getItems().get(0).getItemId() == e.itemId()) {
            c[1]++;
          }
        }
        interactions.send(new ProducerRecord<>(topics.interactions().name(), e.userId(), Interaction.newBuilder()
            .setUserId(e.userId()).setItemId(e.itemId()).setEventTime(Instant.ofEpochMilli(e.eventTimeMillis()))
            .setKind(InteractionKind.VIEW).setRating(null).build()));
        s.add(e.itemId());
        if (++sent % 500 == 0) {
          progress("  %d/%d live events; in %s: %s", sent, live.size(), exp, armsText(byArm));
        }
      }
      interactions.flush();
    }
    if (decided == null) {
      // the last outcomes may still be on their way through the outcome topology and the controller
      long wait = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while ((decided = decision(controller, exp)) == null && System.nanoTime() < wait) {
        Thread.sleep(200);
      }
    }
    long done = System.nanoTime();
    report.put("replay_seconds", (replayed - t0) / 1e9);
    report.put("publication_wait_seconds", (routed - replayed) / 1e9);
    report.put("live_seconds", (done - routed) / 1e9);
    report.put("live_events_sent", sent);
    report.put("live_errors", errors);
    report.put("experiment", exp);
    report.put("decision", decided);
    Map<String, Object> arms = new LinkedHashMap<>();
    byArm.forEach((arm, c) -> arms.put(arm, Map.of("responses", c[0], "hits_at_1", c[1],
        "hit_at_1", c[0] == 0 ? 0.0 : c[1] / (double) c[0])));
    report.put("client_arms", arms);
    report.put("publish_to_serving_ms", publishToServing);
    List<Map<String, Object>> rounds = trainer.rounds().stream().map(RolloutBenchmark::roundJson).toList();
    report.put("trainer_rounds", rounds);
    report.put("trainer_skipped_interactions", trainer.skipped());
    List<Map<String, Object>> experiments = new ArrayList<>();
    for (RolloutOps.Status s : RolloutOps.status(client, topics)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("experiment", s.rollout().getExperimentId());
      m.put("state", s.rollout().getState().name());
      m.put("reason", s.rollout().getReason());
      m.put("control", totals(s.control()));
      m.put("treatment", totals(s.treatment()));
      List<String> log = new ArrayList<>();
      for (RolloutDecision d : s.log()) {
        log.add(d.getDecidedAt() + " " + d.getAction() + " by " + d.getActor() + ": " + d.getReason());
      }
      m.put("decisions", log);
      experiments.add(m);
    }
    report.put("experiments", experiments);
    report.put("seconds", (done - t0) / 1e9);
    progress("done in %.0f s: %s %s; trainer rounds %d; publication -> serving %d ms", (done - t0) / 1e9, exp,
        decided == null ? "undecided" : decided, rounds.size(), publishToServing);
    return report;
  }

  /** One trainer round as a JSON object (the benchmark's and the demo's reports). */
  static Map<String, Object> roundJson(RefreshLoop.Round r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("round", r.number());
    m.put("examples", r.examples());
    m.put("train", r.train());
    m.put("held_out", r.heldOut());
    m.put("production", r.production());
    m.put("production_hr1", r.productionHr1());
    m.put("production_ndcg5", r.productionNdcg5());
    m.put("candidate", r.candidate());
    m.put("candidate_hr1", r.candidateHr1());
    m.put("candidate_ndcg5", r.candidateNdcg5());
    m.put("published", r.published());
    m.put("reason", r.reason());
    m.put("seconds", r.seconds());
    return m;
  }

  /** The final decision's action on {@code exp}, or null while it runs. */
  static String decision(Controller c, String exp) {
    for (RolloutDecision d : c.decisions()) {
      if (d.getExperimentId().equals(exp) && (d.getAction() == RolloutAction.PROMOTE || d.getAction() == RolloutAction.ROLLBACK)) {
        return d.getAction().name();
      }
    }
    return null;
  }

  static Map<String, Object> totals(ArmTotals t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("served", t.served());
    m.put("errors", t.errors());
    m.put("outcomes", t.outcomes());
    m.put("hits_at_1", t.hitsAt1());
    m.put("hit_at_1", t.outcomes() == 0 ? 0.0 : t.hitsAt1() / (double) t.outcomes());
    m.put("ndcg", t.outcomes() == 0 ? 0.0 : t.ndcgSum() / t.outcomes());
    m.put("p99_ms", t.latency().quantileMicros(0.99) / 1000.0);
    m.put("missing_outcomes", t.missing());
    m.put("late_outcomes", t.late());
    return m;
  }

  private static String armsText(Map<String, int[]> byArm) {
    StringBuilder sb = new StringBuilder();
    byArm.forEach((arm, c) -> sb.append(String.format("%s %d responses, hit@1 %.3f; ", arm, c[0],
        c[0] == 0 ? 0.0 : c[1] / (double) c[0])));
    return sb.toString();
  }

  /** The true next item among 19 the user never interacted with, in random order. */
  static List<Long> candidates(long target, Set<Long> seen, List<Long> catalogue, Random rnd) {
    List<Long> pool = new ArrayList<>(catalogue);
    pool.removeIf(i -> seen.contains(i) || i == target);
    Collections.shuffle(pool, rnd);
    List<Long> out = new ArrayList<>(pool.subList(0, Math.min(19, pool.size())));
    out.add(rnd.nextInt(out.size() + 1), target);
    return out;
  }

  private void progress(String fmt, Object... args) {
    out.printf("bench rollout: " + fmt + "%n", args);
    out.flush();
  }
}
