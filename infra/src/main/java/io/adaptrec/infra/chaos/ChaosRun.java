package io.adaptrec.infra.chaos;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.client.RecClient;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
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
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One chaos run against a running cluster: per scenario, steady traffic (interactions of a fresh
 * set of synthetic users, paced; recommendation requests for users already seen), the scenario's
 * faults while it runs, then the checks against brute force ({@link ChaosOracle}) once the system
 * settled. Users of different scenarios never overlap, so each scenario is accounted on its own;
 * the pools check covers every user of the cluster.
 */
public final class ChaosRun {

  /** A scenario: which faults, and whether 1 % bad input is mixed in. */
  public enum Scenario {
    WORKER_KILL("worker-kill", List.of(Fault.kill("worker-1")), false, false),
    STREAMS_KILL("streams-kill", List.of(Fault.kill("streams-1")), false, false),
    TASKMANAGER_KILL("taskmanager-kill", List.of(Fault.kill("taskmanager")), false, false),
    BROKER_RESTART("broker-restart", List.of(Fault.stop("kafka-2")), false, false),
    REGISTRY_OUTAGE("registry-outage", List.of(Fault.stop("registry")), false, false),
    /** While the registry is down, a worker, a streams instance and the TaskManager restart with empty schema caches. */
    REGISTRY_OUTAGE_RESTARTS("registry-outage-restarts", List.of(Fault.stop("registry").lasting(REGISTRY_OUTAGE_SECONDS)
        .meanwhile(Fault.kill("worker-1"), Fault.kill("streams-1"), Fault.kill("taskmanager"))), false, false),
    /** kill -9 of the trainer on its next "publishing adapter" log line. */
    TRAINER_KILL("trainer-kill", List.of(Fault.kill("trainer").on(RefreshLogLines.PUBLISHING)), false, false),
    BAD_INPUT("bad-input", List.of(), true, false),
    BAD_ADAPTERS("bad-adapters", List.of(), false, true),
    COMBINED("combined", List.of(Fault.kill("worker-1"), Fault.kill("streams-1"), Fault.stop("kafka-2"),
        Fault.kill("taskmanager")), true, true);

    final String cliName;
    final List<Fault> faults;
    final boolean badInput;
    final boolean badAdapters;

    Scenario(String cliName, List<Fault> faults, boolean badInput, boolean badAdapters) {
      this.cliName = cliName;
      this.faults = faults;
      this.badInput = badInput;
      this.badAdapters = badAdapters;
    }

    public String cliName() {
      return cliName;
    }

    public static Scenario parse(String s) {
      for (Scenario x : values()) {
        if (x.cliName.equals(s)) {
          return x;
        }
      }
      throw new IllegalArgumentException("unknown scenario '" + s + "'; one of: all, "
          + String.join(", ", java.util.Arrays.stream(values()).map(Scenario::cliName).toList()));
    }
  }

  /** How long past the traffic a fault waits for its trigger log line before it is injected anyway. */
  static final long TRIGGER_GRACE_MS = 60_000;

  /** How long the registry stays down in registry-outage-restarts: longer than a restarted role takes to need it. */
  static final int REGISTRY_OUTAGE_SECONDS = 60;

  /** Log lines a fault can wait for (the roles' own wording). */
  static final class RefreshLogLines {
    /** The trainer's line just before it writes and announces an adapter (RefreshLoop.publish). */
    static final String PUBLISHING = "publishing adapter ";

    private RefreshLogLines() {}
  }

  /**
   * Kill -9 (then start) or a graceful stop (then start) of one compose service.
   *
   * @param minDownSeconds the service stays down at least this long (else the run's --down)
   * @param during services killed with -9 and started again while this one is down, without waiting
   *     for their health (they may need this one to become healthy); checked after it is back
   * @param trigger null: at the scenario's fault time; else when the service logs a line containing it
   *     (given up, and the fault injected anyway, {@link #TRIGGER_GRACE_MS} after the traffic; the
   *     fault log says which)
   */
  record Fault(String service, boolean kill, int minDownSeconds, List<Fault> during, String trigger) {
    static Fault kill(String service) {
      return new Fault(service, true, 0, List.of(), null);
    }

    static Fault stop(String service) {
      return new Fault(service, false, 0, List.of(), null);
    }

    Fault lasting(int seconds) {
      return new Fault(service, kill, seconds, during, trigger);
    }

    Fault meanwhile(Fault... inner) {
      return new Fault(service, kill, minDownSeconds, List.of(inner), trigger);
    }

    Fault on(String logLine) {
      return new Fault(service, kill, minDownSeconds, during, logLine);
    }

    String describe() {
      return (kill ? "kill -9 " : "stop ") + service + (trigger == null ? "" : " on its log line '" + trigger.strip() + "'")
          + (during.isEmpty() ? "" : " (meanwhile " + String.join(", ", during.stream().map(Fault::describe).toList()) + ")");
    }
  }

  /** Settings of a run; the window and pool rules must be the cluster's (compose defaults). */
  public record Options(int eventsPerSecond, double requestsPerSecond, int durationSeconds, double faultAt,
      int downSeconds, double badRate, int users, int items, long worldSeed, long seed, int windowLength,
      long graceMs, int poolSize, int minHistory, Duration settleTimeout, long userBase) {}

  /** Kinds of bad input, injected in turn; {@code deadLettered}: the system must route it to dead-letter. */
  enum Bad {
    UNDECODABLE(true), WRONG_SCHEMA(true), NEGATIVE_ITEM(true), NAN_RATING(true), LATE(true), DUPLICATE(false),
    UNKNOWN_ITEM(false), UNDECODABLE_REQUEST(true);

    final boolean deadLettered;

    Bad(boolean deadLettered) {
      this.deadLettered = deadLettered;
    }
  }

  private final Topics topics;
  private final Properties client;
  private final DockerFaults docker;
  private final Options o;
  private final PrintWriter out;

  public ChaosRun(Topics topics, Properties client, DockerFaults docker, Options options, PrintWriter out) {
    this.topics = topics;
    this.client = client;
    this.docker = docker;
    this.o = options;
    this.out = out;
  }

  /** Publishes the synthetic world's catalogue (the same items every run: ids 0..items-1). */
  public void publishCatalogue() throws Exception {
    SyntheticGenerator world = new SyntheticGenerator(world(o.worldSeed()));
    try (KafkaProducer<byte[], byte[]> p = producer()) {
      for (Dataset.Item it : world.items()) {
        Item value = new Item(it.itemId(), it.title(), it.genres(), Map.of("dataset", world.name()), Instant.EPOCH);
        p.send(new ProducerRecord<>(topics.items().name(), key(topics.items().name(), it.itemId()),
            topics.items().valueSerde().serializer().serialize(topics.items().name(), value))).get();
      }
    }
  }

  private SyntheticConfig world(long seed) {
    return world(seed, o.users(), o.items());
  }

  /**
   * The synthetic world of a run: {@code items} items, users with 20-60 events (fewer for a small
   * catalogue); {@code compose-test.sh} replays the same world (seed 42, 300 users, 200 items).
   */
  public static SyntheticConfig world(long seed, int users, int items) {
    int max = Math.min(60, items / 2);
    return SyntheticConfig.defaults().withSeed(seed).withSize(users, items, Math.min(20, max), max);
  }

  /** Runs one scenario and its checks; {@code index} separates its users from other scenarios'. */
  public Map<String, Object> run(Scenario scenario, int index) throws Exception {
    long base = o.userBase() + (long) index * 100_000;
    List<Dataset.Event> events = new ArrayList<>();
    for (Dataset.Event e : new SyntheticGenerator(world(o.seed() + index))) {
      events.add(new Dataset.Event(base + e.userId(), e.itemId(), e.eventTimeMillis(), e.rating()));
    }
    events.sort(java.util.Comparator.comparingLong(Dataset.Event::eventTimeMillis));
    int total = (int) Math.min(events.size(), (long) o.eventsPerSecond() * o.durationSeconds());
    events = events.subList(0, total);
    out.printf("chaos [%s]: %d interactions of %d new users at %d/s, requests at %.0f/s, %s%s%n", scenario.cliName(), total,
        events.stream().map(Dataset.Event::userId).distinct().count(), o.eventsPerSecond(), o.requestsPerSecond(),
        scenario.faults.isEmpty() ? "no process faults" : "faults " + scenario.faults.stream().map(Fault::describe).toList(),
        scenario.badInput ? ", " + Math.round(o.badRate() * 100) + " % bad input" : "");
    out.flush();

    List<ChaosOracle.Sent> sent = Collections.synchronizedList(new ArrayList<>());
    Set<String> expectedDeadLetters = ConcurrentHashMap.newKeySet();
    Map<Bad, AtomicLong> injected = new TreeMap<>();
    for (Bad b : Bad.values()) {
      injected.put(b, new AtomicLong());
    }
    List<Long> seenUsers = new CopyOnWriteArrayList<>();
    Map<String, CompletableFuture<RecommendationResponse>> requests = new ConcurrentHashMap<>();
    Map<String, Long> sentAt = new ConcurrentHashMap<>();
    Map<String, Long> roundTrip = new ConcurrentHashMap<>();
    List<Map<String, Object>> faultLog = new CopyOnWriteArrayList<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicLong sendErrors = new AtomicLong();
    Map<String, BadAdapters.Kind> badAdapters = new ConcurrentHashMap<>();

    long t0 = System.nanoTime();
    long startEpochMs = System.currentTimeMillis();
    long durationNanos = TimeUnit.SECONDS.toNanos(o.durationSeconds());
    Thread faults = new Thread(() -> injectFaults(scenario, t0, durationNanos, faultLog, badAdapters, failure), "chaos-faults");
    try (KafkaProducer<byte[], byte[]> producer = producer(); RecClient rec = new RecClient(topics, client)) {
      faults.start();
      Random rnd = new Random(o.seed() * 31 + index);
      Map<Long, Dataset.Event> lastOf = new HashMap<>();
      double requestEvery = o.requestsPerSecond() > 0 ? o.eventsPerSecond() / o.requestsPerSecond() : Double.MAX_VALUE;
      double nextRequest = requestEvery;
      int badTurn = 0;
      for (int i = 0; i < total; i++) {
        if (failure.get() != null) {
          break;
        }
        long due = t0 + (long) (i * 1e9 / o.eventsPerSecond());
        long wait = due - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
        Dataset.Event e = events.get(i);
        sendInteraction(producer, e, sent, sendErrors);
        if (!lastOf.containsKey(e.userId())) {
          seenUsers.add(e.userId());
        }
        lastOf.put(e.userId(), e);
        if (scenario.badInput && rnd.nextDouble() < o.badRate()) {
          Bad kind = Bad.values()[badTurn++ % Bad.values().length];
          injected.get(kind).incrementAndGet();
          injectBad(producer, kind, e, rnd, sent, expectedDeadLetters, sendErrors);
        }
        if (i + 1 >= nextRequest) {
          nextRequest += requestEvery;
          long user = seenUsers.get(rnd.nextInt(seenUsers.size()));
          RecommendationRequest req = RecClient.request(user, 10, null);
          long at = System.nanoTime();
          sentAt.put(req.getRequestId(), at);
          requests.put(req.getRequestId(), rec.send(req).whenComplete((r, x) ->
              roundTrip.put(req.getRequestId(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - at))));
        }
        if ((i + 1) % Math.max(1, total / 10) == 0) {
          out.printf("chaos [%s]: %d/%d interactions, %d requests (%d answered), faults so far %d%n", scenario.cliName(),
              i + 1, total, requests.size(), roundTrip.size(), faultLog.size());
          out.flush();
        }
      }
      producer.flush();
      faults.join();
      if (failure.get() != null) {
        throw new IllegalStateException("fault injection failed: " + failure.get().getMessage(), failure.get());
      }
      // every request answered (or the settle time is up)
      long deadline = System.nanoTime() + o.settleTimeout().toNanos();
      while (roundTrip.size() < requests.size() && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
      Thread.sleep(3000);   // late doubles, if any, would arrive now
    }
    long trafficMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

    // ---- requests: exactly one response each, from a full read_committed scan
    Map<String, Integer> responses = new HashMap<>();
    Map<String, Integer> statuses = new TreeMap<>();
    Set<String> adapters = new HashSet<>();
    TopicScan.toEnd(client, topics.recResponses().name(), Duration.ofSeconds(60), r -> {
      if (r.value() == null) {
        return;
      }
      RecommendationResponse resp;
      try {
        resp = topics.recResponses().valueSerde().deserializer().deserialize(r.topic(), r.value());
      } catch (RuntimeException x) {
        return;
      }
      if (requests.containsKey(resp.getRequestId())) {
        if (responses.merge(resp.getRequestId(), 1, Integer::sum) == 1) {
          statuses.merge(resp.getStatus().name(), 1, Integer::sum);
          adapters.add(resp.getAdapterVersion());
        }
      }
    });
    long answered = responses.size();
    long lost = requests.size() - answered;
    long doubled = responses.values().stream().filter(n -> n > 1).count();
    List<Long> trips = new ArrayList<>(roundTrip.values());
    Collections.sort(trips);

    // ---- interactions: final user state against brute force, waited for until equal or the settle time is up
    Map<Long, List<ChaosOracle.Entry>> expected;
    synchronized (sent) {
      expected = ChaosOracle.expectedHistories(new ArrayList<>(sent), o.windowLength(), o.graceMs());
    }
    long settleStart = System.nanoTime();
    long deadline = settleStart + o.settleTimeout().toNanos();
    ChaosOracle.HistoryDiff histories;
    Map<Long, UserState> finalStates;
    while (true) {
      finalStates = latest(topics.userState().name(), b -> topics.userState().valueSerde().deserializer()
          .deserialize(topics.userState().name(), b), UserState::getUserId);
      histories = ChaosOracle.compareHistories(expected, histories(finalStates, expected.keySet()));
      if (histories.equal() || System.nanoTime() > deadline) {
        break;
      }
      Thread.sleep(3000);
    }
    long stateSettleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - settleStart);

    // ---- pools: every user's final pool against brute force on the final embeddings
    List<String> poolDiffs;
    long poolsStart = System.nanoTime();
    while (true) {
      List<ChaosOracle.FinalState> states = new ArrayList<>();
      for (UserState s : finalStates.values()) {
        float[] emb = new float[s.getEmbedding().size()];
        for (int i = 0; i < emb.length; i++) {
          emb[i] = s.getEmbedding().get(i);
        }
        states.add(new ChaosOracle.FinalState(s.getUserId(), s.getHistory().size(), emb, s.getEmbeddingVersion()));
      }
      Map<Long, SimilarUserPool> pools = latest(topics.userPools().name(), b -> topics.userPools().valueSerde().deserializer()
          .deserialize(topics.userPools().name(), b), SimilarUserPool::getUserId);
      Map<Long, List<Long>> actual = new HashMap<>();
      pools.forEach((u, p) -> actual.put(u, p.getNeighbours().stream().map(n -> n.getUserId()).toList()));
      poolDiffs = ChaosOracle.comparePools(ChaosOracle.expectedPools(states, o.poolSize(), o.minHistory()), actual);
      if (poolDiffs.isEmpty() || System.nanoTime() > deadline) {
        break;
      }
      Thread.sleep(3000);
      finalStates = latest(topics.userState().name(), b -> topics.userState().valueSerde().deserializer()
          .deserialize(topics.userState().name(), b), UserState::getUserId);
    }
    long poolsSettleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - poolsStart);

    // ---- adapters: every damaged one rejected before traffic; no rejected adapter ever served a request
    Map<String, String> rejected = BadAdapters.rejected(topics, client);
    while (!rejected.keySet().containsAll(badAdapters.keySet()) && System.nanoTime() < deadline) {
      Thread.sleep(3000);
      rejected = BadAdapters.rejected(topics, client);
    }
    Map<String, String> rejectedNow = rejected;
    Set<String> rejectedSet = rejectedNow.keySet();
    long badRejected = badAdapters.keySet().stream().filter(rejectedSet::contains).count();
    List<String> servedRejected = adapters.stream().filter(rejectedSet::contains).sorted().toList();
    Map<String, String> badReasons = new TreeMap<>();
    badAdapters.forEach((v, k) -> badReasons.put(k.name().toLowerCase(), rejectedSet.contains(v) ? rejectedNow.get(v) : "NOT REJECTED"));

    // ---- dead letters, one scan per try: every injected bad record by its coordinates, every damaged
    // adapter by its version (the controller's letters carry no source offset)
    Set<String> found = new HashSet<>();
    Set<String> lettered = new HashSet<>();
    Map<String, Integer> reasons = new TreeMap<>();
    // a letter written during this scenario for a record nobody injected: a valid record lost to the dead letters
    Map<String, String> unexpected = new TreeMap<>();
    while (true) {
      found.clear();
      lettered.clear();
      reasons.clear();
      unexpected.clear();
      TopicScan.toEnd(client, topics.deadLetter().name(), Duration.ofSeconds(60), rec -> {
        if (rec.value() == null) {
          return;
        }
        try {
          DeadLetter d = topics.deadLetter().valueSerde().deserializer().deserialize(rec.topic(), rec.value());
          String coord = d.getTopic() + "/" + d.getPartition() + "/" + d.getOffset();
          if (expectedDeadLetters.contains(coord) && found.add(coord)) {
            reasons.merge(reasonKind(d.getError()), 1, Integer::sum);
          }
          if (d.getTopic().equals(topics.adapters().name())) {
            badAdapters.keySet().stream().filter(v -> d.getError().contains(v)).forEach(lettered::add);
          } else if (!expectedDeadLetters.contains(coord) && d.getFailedAt().toEpochMilli() >= startEpochMs) {
            unexpected.put(coord, d.getError().length() > 200 ? d.getError().substring(0, 200) + "..." : d.getError());
          }
        } catch (RuntimeException x) {
          // a dead letter we cannot read is not one of ours
        }
      });
      boolean all = found.size() == expectedDeadLetters.size() && lettered.size() == badAdapters.size();
      if (all || System.nanoTime() > deadline) {
        break;
      }
      Thread.sleep(3000);
    }
    long adapterDeadLetters = lettered.size();

    // ---- every faulted service still serves at the end (its latest health probe passed), not only once after its start
    List<String> unhealthyAtEnd = new ArrayList<>();
    for (Fault f : scenario.faults) {
      List<Fault> all = new ArrayList<>(List.of(f));
      all.addAll(f.during());
      for (Fault x : all) {
        if (!docker.lastProbePassed(x.service())) {
          unhealthyAtEnd.add(x.service());
        }
      }
    }

    // ---- evidence that the restarted roles met the outage with empty schema caches, and retried
    Map<String, Long> registryRetries = new TreeMap<>();
    if (scenario == Scenario.REGISTRY_OUTAGE_RESTARTS) {
      // RegistryBackoff's line (worker loops, streams global stores) and the streams handler's (a stream thread retried)
      String waited = "schema registry unavailable, retrying";
      registryRetries.put("worker-1", docker.countLogLines("worker-1", startEpochMs, waited));
      registryRetries.put("streams-1", docker.countLogLines("streams-1", startEpochMs, waited, "failing the stream thread to retry it"));
      registryRetries.put("taskmanager", docker.countLogLines("taskmanager", startEpochMs,
          "cannot be decoded while the schema registry is unavailable"));
    }

    // ---- the trainer's adapters of this scenario: none damaged (a kill -9 mid-publish must not leave one)
    List<String> trainerAdapters = new ArrayList<>();
    List<String> trainerAdaptersRejected = new ArrayList<>();
    String killedWhilePublishing = null;   // the version the trainer was publishing when it was killed
    Set<String> onTopic = new HashSet<>();
    if (scenario == Scenario.TRAINER_KILL) {
      for (Map<String, Object> f : faultLog) {
        Object line = f.get("trigger_line");
        if (line != null) {
          String rest = line.toString().substring(line.toString().indexOf(RefreshLogLines.PUBLISHING) + RefreshLogLines.PUBLISHING.length());
          killedWhilePublishing = rest.split("\\s+")[0];
        }
      }
      TopicScan.toEnd(client, topics.adapters().name(), Duration.ofSeconds(60), rec -> {
        if (rec.value() != null) {
          try {
            AdapterManifest m = topics.adapters().valueSerde().deserializer().deserialize(rec.topic(), rec.value());
            onTopic.add(m.getVersion());
            if (m.getCreatedAt().toEpochMilli() >= startEpochMs && !m.getVersion().startsWith(BadAdapters.PREFIX)) {
              trainerAdapters.add(m.getVersion());
            }
          } catch (RuntimeException x) {
            // the controller dead-letters what it cannot read; an unreadable trainer manifest shows as a dead letter
          }
        }
      });
      Map<String, String> rejectedByVerification = BadAdapters.rejected(topics, client);
      trainerAdapters.stream().filter(rejectedByVerification::containsKey).forEach(trainerAdaptersRejected::add);
    }

    Map<String, Object> r = new LinkedHashMap<>();
    r.put("name", scenario.cliName());
    r.put("events_sent", sent.size() - injected.get(Bad.DUPLICATE).get() - injected.get(Bad.UNKNOWN_ITEM).get()
        - injected.get(Bad.LATE).get());
    r.put("requests_sent", requests.size());
    r.put("faults_injected", faultLog.size());
    r.put("recovery_ms", faultLog.stream().mapToLong(f -> (Long) f.get("recovery_ms")).max().orElse(0));
    r.put("requests_answered", answered);
    r.put("requests_lost", lost);
    r.put("requests_doubled", doubled);
    r.put("interactions_lost", histories.entriesLost());
    r.put("interactions_doubled", histories.entriesDoubled());
    r.put("interactions_unexpected", histories.entriesUnexpected());
    r.put("pools_equal_bruteforce", poolDiffs.isEmpty());
    r.put("dead_lettered", found.size() + adapterDeadLetters);
    r.put("dead_letter_expected", expectedDeadLetters.size() + badAdapters.size());
    r.put("bad_adapters_published", badAdapters.size());
    r.put("bad_adapters_rejected", badRejected);
    r.put("bad_adapter_rejections", badReasons);
    r.put("rejected_adapters_served", servedRejected);
    r.put("faults", faultLog);
    r.put("bad_input_injected", injected.entrySet().stream().filter(e -> e.getValue().get() > 0)
        .collect(java.util.stream.Collectors.toMap(e -> e.getKey().name().toLowerCase(), e -> e.getValue().get(),
            (a, b) -> a, TreeMap::new)));
    r.put("undecodable_requests", injected.get(Bad.UNDECODABLE_REQUEST).get());
    r.put("dead_letter_reasons", reasons);
    r.put("dead_letter_unexpected", unexpected.size());
    r.put("services_unhealthy_at_end", unhealthyAtEnd);
    r.put("dead_letter_unexpected_examples", unexpected.entrySet().stream().limit(5).map(e -> e.getKey() + ": " + e.getValue()).toList());
    if (scenario == Scenario.REGISTRY_OUTAGE_RESTARTS) {
      r.put("registry_retries_logged", registryRetries);
    }
    if (scenario == Scenario.TRAINER_KILL) {
      r.put("trainer_killed_while_publishing", killedWhilePublishing);
      r.put("trainer_killed_adapter_reached_topic", killedWhilePublishing == null ? null : onTopic.contains(killedWhilePublishing));
      r.put("trainer_adapters_published", trainerAdapters);
      r.put("trainer_adapters_rejected", trainerAdaptersRejected);
    }
    r.put("statuses", statuses);
    r.put("adapters_serving", new java.util.TreeSet<>(adapters));
    r.put("round_trip_p50_ms", trips.isEmpty() ? null : trips.get(trips.size() / 2));
    r.put("round_trip_p99_ms", trips.isEmpty() ? null : trips.get(Math.min(trips.size() - 1, (int) Math.ceil(trips.size() * 0.99) - 1)));
    r.put("round_trip_max_ms", trips.isEmpty() ? null : trips.get(trips.size() - 1));
    r.put("users_checked", histories.usersChecked());
    r.put("pool_users_checked", finalStates.size());
    r.put("state_settle_ms", stateSettleMs);
    r.put("pools_settle_ms", poolsSettleMs);
    r.put("traffic_ms", trafficMs);
    r.put("send_errors", sendErrors.get());
    List<String> examples = new ArrayList<>(histories.examples());
    examples.addAll(poolDiffs.subList(0, Math.min(10, poolDiffs.size())));
    r.put("problems", examples);
    boolean ok = lost == 0 && doubled == 0 && histories.equal() && poolDiffs.isEmpty()
        && found.size() == expectedDeadLetters.size() && unexpected.isEmpty() && trainerAdaptersRejected.isEmpty()
        && unhealthyAtEnd.isEmpty()
        && sendErrors.get() == 0
        && badRejected == badAdapters.size() && adapterDeadLetters == badAdapters.size() && servedRejected.isEmpty();
    r.put("ok", ok);
    return r;
  }

  private void injectFaults(Scenario s, long t0, long durationNanos, List<Map<String, Object>> log,
      Map<String, BadAdapters.Kind> badAdapters, AtomicReference<Throwable> failure) {
    try {
      if (s.badAdapters) {
        long wait = t0 + (long) (durationNanos * o.faultAt()) - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
        badAdapters.putAll(BadAdapters.publish(topics, client));
        out.printf("chaos [%s]: published %d damaged adapters: %s%n", s.cliName(), badAdapters.size(), badAdapters.values());
        out.flush();
      }
      int n = s.faults.size();
      for (int i = 0; i < n; i++) {
        Fault f = s.faults.get(i);
        // spread the faults over the middle of the run: the first at faultAt, the rest evenly up to 80 %
        double at = n == 1 ? o.faultAt() : o.faultAt() + (0.8 - o.faultAt()) * i / (n - 1);
        long due = t0 + (long) (durationNanos * at);
        String triggerLine = null;
        if (f.trigger() == null) {
          long wait = due - System.nanoTime();
          if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
          }
        } else {
          long epochStart = System.currentTimeMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
          // the trainer publishes once a round is through (15-25 s on a busy 2-core box): wait for it up
          // to a minute past the traffic, as it still trains on what it received
          triggerLine = docker.awaitLogLine(f.service(), epochStart, f.trigger(),
              Math.max(1, TimeUnit.NANOSECONDS.toMillis(t0 + durationNanos - System.nanoTime()) + TRIGGER_GRACE_MS));
        }
        long f0 = System.nanoTime();
        if (f.kill()) {
          docker.kill(f.service());
        } else {
          docker.stop(f.service(), 30);
        }
        long stoppedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - f0);
        out.printf("chaos [%s]: %s at %.0f s%s%n", s.cliName(), f.describe(), (f0 - t0) / 1e9,
            f.trigger() == null ? "" : triggerLine == null ? " (its log line did not come within a minute after the traffic)"
                : " on: " + triggerLine.strip());
        out.flush();
        for (Fault inner : f.during()) {
          Thread.sleep(1000);
          docker.kill(inner.service());
          docker.start(inner.service());
          out.printf("chaos [%s]: %s killed -9 and started while %s is down%n", s.cliName(), inner.service(), f.service());
          out.flush();
        }
        long downUntil = f0 + TimeUnit.SECONDS.toNanos(Math.max(o.downSeconds(), f.minDownSeconds()));
        long rest = downUntil - System.nanoTime();
        if (rest > 0) {
          TimeUnit.NANOSECONDS.sleep(rest);
        }
        long r0 = System.nanoTime();
        docker.start(f.service());
        long healthyMs = docker.awaitHealthy(f.service(), 300_000);
        long recovery = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - r0);
        out.printf("chaos [%s]: %s back, healthy %d ms after its start%n", s.cliName(), f.service(), recovery);
        out.flush();
        Map<String, Long> innerRecovery = new LinkedHashMap<>();
        for (Fault inner : f.during()) {
          docker.awaitHealthy(inner.service(), 300_000);
          long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - r0);
          innerRecovery.put(inner.service(), ms);
          out.printf("chaos [%s]: %s healthy %d ms after %s was back%n", s.cliName(), inner.service(), ms, f.service());
          out.flush();
          recovery = Math.max(recovery, ms);
        }
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("fault", f.describe());
        if (f.trigger() != null) {
          entry.put("trigger_seen", triggerLine != null);
          entry.put("trigger_line", triggerLine == null ? null : triggerLine.strip());
        }
        if (!f.during().isEmpty()) {
          entry.put("meanwhile_healthy_ms_after_back", innerRecovery);
        }
        entry.put("at_ms", TimeUnit.NANOSECONDS.toMillis(f0 - t0));
        entry.put("stop_ms", stoppedMs);
        entry.put("down_ms", TimeUnit.NANOSECONDS.toMillis(r0 - f0));
        entry.put("recovery_ms", recovery);
        entry.put("health_wait_ms", healthyMs);
        log.add(entry);
      }
    } catch (Throwable t) {
      failure.set(t);
    }
  }

  private void sendInteraction(KafkaProducer<byte[], byte[]> producer, Dataset.Event e, List<ChaosOracle.Sent> sent,
      AtomicLong errors) {
    Interaction v = new Interaction(e.userId(), e.itemId(), Instant.ofEpochMilli(e.eventTimeMillis()),
        e.rating() == null ? InteractionKind.VIEW : InteractionKind.RATE, e.rating());
    sent.add(new ChaosOracle.Sent(e.userId(), e.itemId(), e.eventTimeMillis()));
    send(producer, topics.interactions().name(), key(topics.interactions().name(), e.userId()), value(v), null, errors);
  }

  private void injectBad(KafkaProducer<byte[], byte[]> producer, Bad kind, Dataset.Event last, Random rnd,
      List<ChaosOracle.Sent> sent, Set<String> expectedDeadLetters, AtomicLong errors) {
    String t = topics.interactions().name();
    long user = last.userId();
    byte[] k = key(t, user);
    Set<String> expect = kind.deadLettered ? expectedDeadLetters : null;   // where its coordinates go once acked
    switch (kind) {
      case UNDECODABLE -> {
        byte[] junk = new byte[12];
        rnd.nextBytes(junk);
        junk[0] = 0x7E;   // not the wire format's magic byte 0
        send(producer, t, k, junk, expect, errors);
      }
      case WRONG_SCHEMA -> {
        // a valid Avro record of another schema (an Item, as the items topic's serializer writes it)
        Item item = new Item(1L, "wrong topic", List.of(), Map.of(), Instant.EPOCH);
        send(producer, t, k, topics.items().valueSerde().serializer().serialize(topics.items().name(), item),
            expect, errors);
      }
      case NEGATIVE_ITEM -> send(producer, t, k, value(new Interaction(user, -7L, Instant.ofEpochMilli(last.eventTimeMillis()),
          InteractionKind.VIEW, null)), expect, errors);
      case NAN_RATING -> send(producer, t, k, value(new Interaction(user, last.itemId(), Instant.ofEpochMilli(last.eventTimeMillis() + 1),
          InteractionKind.RATE, Float.NaN)), expect, errors);
      case LATE -> {
        long time = last.eventTimeMillis() - o.graceMs() - 3_600_000L;
        sent.add(new ChaosOracle.Sent(user, last.itemId(), time));   // the oracle applies the grace rule itself
        send(producer, t, k, value(new Interaction(user, last.itemId(), Instant.ofEpochMilli(time), InteractionKind.VIEW, null)),
            expect, errors);
      }
      case DUPLICATE -> {
        sent.add(new ChaosOracle.Sent(user, last.itemId(), last.eventTimeMillis()));
        send(producer, t, k, value(new Interaction(user, last.itemId(), Instant.ofEpochMilli(last.eventTimeMillis()),
            last.rating() == null ? InteractionKind.VIEW : InteractionKind.RATE, last.rating())), expect, errors);
      }
      case UNKNOWN_ITEM -> {
        long item = 9_000_000L + rnd.nextInt(1000);   // no such item in the catalogue: kept, not embedded
        sent.add(new ChaosOracle.Sent(user, item, last.eventTimeMillis() + 2));
        send(producer, t, k, value(new Interaction(user, item, Instant.ofEpochMilli(last.eventTimeMillis() + 2),
            InteractionKind.VIEW, null)), expect, errors);
      }
      case UNDECODABLE_REQUEST -> {
        byte[] junk = new byte[16];
        rnd.nextBytes(junk);
        junk[0] = 0x7E;
        String rt = topics.recRequests().name();
        send(producer, rt, key(rt, user), junk, expect, errors);
      }
    }
  }

  private byte[] value(Interaction v) {
    return topics.interactions().valueSerde().serializer().serialize(topics.interactions().name(), v);
  }

  private byte[] key(String topic, long id) {
    return topics.interactions().keySerde().serializer().serialize(topic, id);
  }

  private static void send(KafkaProducer<byte[], byte[]> producer, String topic, byte[] key, byte[] value,
      Set<String> expectDeadLetter, AtomicLong errors) {
    producer.send(new ProducerRecord<>(topic, null, System.currentTimeMillis(), key, value), (RecordMetadata m, Exception x) -> {
      if (x != null) {
        errors.incrementAndGet();
      } else if (expectDeadLetter != null) {
        expectDeadLetter.add(m.topic() + "/" + m.partition() + "/" + m.offset());
      }
    });
  }

  private KafkaProducer<byte[], byte[]> producer() {
    Properties p = new Properties();
    p.putAll(client);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
    // a broker may be down for a while: keep retrying rather than fail the send
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "300000");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "adaptrec-chaos");
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private <V> Map<Long, V> latest(String topic, java.util.function.Function<byte[], V> decode,
      java.util.function.Function<V, Long> id) {
    Map<Long, V> m = new HashMap<>();
    TopicScan.toEnd(client, topic, Duration.ofSeconds(60), r -> {
      if (r.value() == null) {
        Long user = topics.userState().keySerde().deserializer().deserialize(topic, r.key());
        if (user != null) {
          m.remove(user);
        }
        return;
      }
      try {
        V v = decode.apply(r.value());
        m.put(id.apply(v), v);
      } catch (RuntimeException x) {
        // not decodable: the roles route such records themselves
      }
    });
    return m;
  }

  private static Map<Long, List<ChaosOracle.Entry>> histories(Map<Long, UserState> states, Set<Long> users) {
    Map<Long, List<ChaosOracle.Entry>> out = new HashMap<>();
    for (long u : users) {
      UserState s = states.get(u);
      if (s != null) {
        List<ChaosOracle.Entry> h = new ArrayList<>();
        for (HistoryEntry e : s.getHistory()) {
          h.add(new ChaosOracle.Entry(e.getItemId(), e.getEventTime().toEpochMilli()));
        }
        out.put(u, h);
      }
    }
    return out;
  }

  /** The dead letter's reason without its specifics (ids, times), for the per-reason counts. */
  static String reasonKind(String error) {
    String e = error == null ? "" : error;
    if (e.startsWith("late event")) {
      return "late event";
    }
    if (e.contains("is negative")) {
      return "negative id";
    }
    if (e.contains("not a finite number")) {
      return "not finite";
    }
    if (e.startsWith("undecodable request")) {
      return "undecodable request";
    }
    if (e.startsWith("cannot deserialize")) {
      return "cannot deserialize";
    }
    return e.length() > 40 ? e.substring(0, 40) : e;
  }
}
