package io.adaptrec.infra;

import io.adaptrec.flink.KafkaIo;
import io.adaptrec.infra.dashboard.Dashboard;
import io.adaptrec.infra.dashboard.WorkerView;
import io.adaptrec.flink.PoolsConfig;
import io.adaptrec.flink.SimilarUserPoolsJob;
import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.EmbeddedKafkaBroker;
import io.adaptrec.schemas.EmbeddedSchemaRegistry;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.TopicAdmin;
import io.adaptrec.schemas.Topics;
import io.adaptrec.streams.StreamsApp;
import io.adaptrec.streams.UserStateConfig;
import io.adaptrec.streams.outcome.OutcomeTopology;
import io.adaptrec.worker.rollout.Controller;
import io.adaptrec.worker.serving.ServingConfig;
import io.adaptrec.worker.serving.Worker;
import io.adaptrec.worker.training.RefreshLoop;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole system in one JVM: an embedded KRaft broker, the embedded schema registry, every
 * topic, a Flink MiniCluster, and the role applications (the streams UserStateTopology app and
 * the SimilarUserPools job, reading and writing through the broker exactly as they would on real
 * clusters). Started in that order; {@link #close()} stops in reverse order, so every role drains
 * and commits while the broker and registry it talks to are still up.
 *
 * <pre>{@code
 * try (LocalStack stack = LocalStack.start(StackConfig.defaults())) {
 *   stack.bootstrapServers(); stack.registryUrl(); stack.topics();
 * }
 * }</pre>
 */
public final class LocalStack implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LocalStack.class);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  static final String POOLS_JOB_NAME = "adaptrec-similar-user-pools";

  /** Something to stop, with the name used in logs and errors. */
  private record Component(String name, AutoCloseable stopper) {}

  private final StackConfig config;
  private final Path dataDir;
  private final boolean temporaryDataDir;
  private final Deque<Component> started = new ArrayDeque<>();
  private final long startNanos = System.nanoTime();
  private long startMillis;
  private EmbeddedKafkaBroker broker;
  private StackSecurity security;   // null unless --secure
  private EmbeddedSchemaRegistry registry;
  private RegistrySnapshot snapshot;
  private Topics topics;
  private EmbeddedFlink flink;
  private StreamsApp.Running streams;
  private UserStateConfig streamsConfig;
  private PoolsConfig poolsConfig;
  private JobID poolsJob;
  private ServingConfig workerConfig;
  private volatile Worker worker;   // read by the dashboard; replaced by restartWorker
  private Gateway gateway;
  private Controller controller;
  private RefreshLoop trainer;
  private Dashboard dashboard;
  private boolean closed;

  private LocalStack(StackConfig config, Path dataDir, boolean temporaryDataDir) {
    this.config = config;
    this.dataDir = dataDir;
    this.temporaryDataDir = temporaryDataDir;
  }

  /** Starts everything the config asks for; on any failure stops what already started and rethrows. */
  public static LocalStack start(StackConfig config) throws Exception {
    boolean temporary = config.dataDir() == null;
    Path dir = temporary ? Files.createTempDirectory("adaptrec-stack-")
        : Files.createDirectories(config.dataDir().toAbsolutePath());
    LocalStack stack = new LocalStack(config, dir, temporary);
    try {
      stack.startAll();
      return stack;
    } catch (Exception | Error e) {
      LOG.error("Local stack failed to start: {}; stopping what already started", e.getMessage());
      stack.close();
      throw e;
    }
  }

  private void startAll() throws Exception {
    int kafkaPort = Ports.choose("--kafka-port", config.kafkaPort(), StackConfig.DEFAULT_KAFKA_PORT);
    EmbeddedKafkaBroker.Config brokerConfig = EmbeddedKafkaBroker.defaults().withPort(kafkaPort).withLogDir(dataDir.resolve("kafka"));
    if (config.secure()) {
      security = StackSecurity.loadOrCreate(dataDir);
      brokerConfig = brokerConfig.withScram(security.scram());
    }
    broker = brokerConfig.start();
    started.push(new Component("Kafka broker", broker));

    int registryPort = Ports.choose("--registry-port", config.registryPort(), StackConfig.DEFAULT_REGISTRY_PORT);
    registry = EmbeddedSchemaRegistry.startRestoring(registryPort, security == null ? null : security.registryUserInfo());
    started.push(new Component("schema registry", registry));
    if (!temporaryDataDir) {
      // the embedded registry keeps schemas in memory; persisted Kafka data is only readable
      // after a restart if every schema comes back under its old id
      snapshot = RegistrySnapshot.attach(registry.url(), security == null ? null : security.registryUserInfo(),
          dataDir.resolve("registry-snapshot.json"));
      started.push(new Component("registry snapshot", snapshot));
    }
    registry.ready();

    topics = new Topics(config.topicPrefix(), AvroSerdeConfig.of(registry.url(), settings(StackSecurity.CLIENT)));
    if (security != null) {
      security.writeClientConfig(clientConfigFile());
    }
    try (Admin admin = Admin.create(clientProperties())) {
      TopicAdmin.Report report = TopicAdmin.ensureTopics(admin, topics.all(), (short) 1, Duration.ofSeconds(30));
      if (!report.fewerPartitions().isEmpty()) {
        LOG.warn("Topics with fewer partitions than declared (kept as they are): {}", report.fewerPartitions());
      }
    }

    int restPort = Ports.choose("--flink-rest-port", config.flinkRestPort(), StackConfig.DEFAULT_FLINK_REST_PORT);
    flink = EmbeddedFlink.start(restPort, 2 * config.flinkParallelism(), Files.createDirectories(dataDir.resolve("flink/tmp")));
    started.push(new Component("Flink MiniCluster", flink));

    if (config.roles().contains(Role.STREAMS)) {
      int queryPort = Ports.choose("--streams-query-port", config.streamsQueryPort(), StackConfig.DEFAULT_STREAMS_QUERY_PORT);
      streamsConfig = UserStateConfig.defaults().with(Map.of(
          "bootstrap.servers", broker.bootstrapServers(),
          "schema.registry.url", registry.url(),
          "topic.prefix", config.topicPrefix(),
          "topics.ensure", "false", // created above, all of them, with their declared policies
          "state.dir", dataDir.resolve("streams").toString(),
          "query.http.port", Integer.toString(queryPort)))
          .with(StackSecurity.prefixed("kafka.", settings(StackSecurity.STREAMS))).with(config.settings(Role.STREAMS));
      streams = StreamsApp.start(streamsConfig);
      started.push(new Component("streams role (UserStateTopology)", streams));
      awaitStreamsRunning();
    }

    if (config.roles().contains(Role.POOLS)) {
      poolsConfig = PoolsConfig.defaults().with(Map.of(
          "parallelism", Integer.toString(config.flinkParallelism()),
          "state.backend", config.flinkStateBackend(),
          "checkpoint.interval-ms", Long.toString(config.flinkCheckpointMs()),
          "checkpoint.dir", Files.createDirectories(dataDir.resolve("flink/checkpoints")).toUri().toString(),
          "kafka.bootstrap-servers", broker.bootstrapServers(),
          "schema.registry.url", registry.url(),
          "topic.prefix", config.topicPrefix(),
          "kafka.group-id", config.topicPrefix() + "similar-user-pools",
          "kafka.transactional-id-prefix", config.topicPrefix() + "similar-user-pools"))
          .with(StackSecurity.prefixed(PoolsConfig.KAFKA_CLIENT, settings(StackSecurity.POOLS))).with(config.settings(Role.POOLS));
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
      SimilarUserPoolsJob.configureEnvironment(env, poolsConfig);
      new SimilarUserPoolsJob(poolsConfig, poolsConfig.partitioner(), KafkaIo.source(poolsConfig),
          KafkaIo.sink(poolsConfig)).withDeadLetterSink(KafkaIo.deadLetterSink(poolsConfig)).build(env);
      poolsJob = flink.submit(env, POOLS_JOB_NAME, START_TIMEOUT);
      JobID id = poolsJob;
      started.push(new Component("pools role (SimilarUserPools job)", () -> flink.cancel(id)));
    }
    if (config.roles().contains(Role.CONTROL) && config.modelDir() != null) {
      // first, so that an adapter the trainer publishes finds a controller to start its experiment
      controller = Controller.start(modelRoleConfig(Role.CONTROL, 0));
      started.push(new Component("control role (rollout controller)", controller));
    }
    if (config.roles().contains(Role.WORKER) && config.modelDir() != null) {
      int port = Ports.choose("--worker-port", config.workerHttpPort(), StackConfig.DEFAULT_WORKER_HTTP_PORT);
      workerConfig = modelRoleConfig(Role.WORKER, port);
      worker = Worker.start(workerConfig);
      started.push(new Component("worker role (inference worker)", () -> worker.close()));   // the current one
    }
    if (config.roles().contains(Role.REFRESH) && config.modelDir() != null) {
      trainer = RefreshLoop.start(modelRoleConfig(Role.REFRESH, 0));
      started.push(new Component("refresh role (trainer)", trainer));
    }
    if (config.roles().contains(Role.GATEWAY) && worker != null) {
      int port = Ports.choose("--gateway-port", config.gatewayPort(), StackConfig.DEFAULT_GATEWAY_PORT);
      gateway = new Gateway(topics, clientProperties(), Ports.HOST, port, Duration.ofSeconds(30));
      started.push(new Component("gateway role (HTTP)", gateway));
    }
    if (config.roles().contains(Role.DASHBOARD)) {
      // last: it shows every other role, and stops first
      int port = Ports.choose("--dashboard-port", config.dashboardPort(), StackConfig.DEFAULT_DASHBOARD_PORT);
      dashboard = new Dashboard(topics, clientProperties(), Ports.HOST, port, dashboardLocal());
      started.push(new Component("dashboard role (HTTP)", dashboard));
    }
    startMillis = (System.nanoTime() - startNanos) / 1_000_000;
    LOG.info("Local stack up in {} ms", startMillis);
  }

  /**
   * What the dashboard learns in-process: the worker's adapters and mirror lag (read through
   * {@link #worker()}, so a restarted worker is followed), and which role owns which consumer group.
   */
  private Dashboard.Local dashboardLocal() {
    Map<String, String> groups = new LinkedHashMap<>();
    if (streamsConfig != null) {
      groups.put(streamsConfig.applicationId(), "streams: user state");
      if (streamsConfig.outcome().enabled()) {
        groups.put(OutcomeTopology.applicationId(streamsConfig), "streams: outcomes");
      }
      groups.put(io.adaptrec.streams.CatalogueCheck.applicationId(streamsConfig), "streams: catalogue check");
    }
    if (poolsConfig != null) {
      groups.put(poolsConfig.groupId(), "pools: Flink job (commits on checkpoints)");
    }
    if (workerConfig != null) {
      groups.put(workerConfig.groupId(), "worker: rec-requests");
    }
    return new Dashboard.Local(() -> worker().map(w -> {
      io.adaptrec.worker.rollout.Router router = w.router();
      return new WorkerView(workerConfig.instanceId(), router.production(),
          router.experiment() == null ? null : router.experiment().getExperimentId(),
          List.copyOf(w.model().loadedAdapters()), w.rejectedAdapters(), w.mirror().lag(), w.answered(),
          w.notReadyReason());
    }), groups, () -> worker().map(w -> Map.of("worker: state mirror (user-state, user-pools, interactions, items)",
        w.mirror().lag())).orElse(Map.of()));
  }

  /**
   * The worker-module configuration of {@code role} (worker, trainer, controller): the stack's
   * broker, registry, prefix and model, adapters under the data dir, one PyTorch intra-op thread
   * each (on two cores they share the machine with Streams and Flink), then the role's own settings.
   */
  private ServingConfig modelRoleConfig(Role role, int httpPort) throws java.io.IOException {
    return modelRoleConfig(role, httpPort, Map.of());
  }

  private ServingConfig modelRoleConfig(Role role, int httpPort, Map<String, String> extra) throws java.io.IOException {
    Properties p = new Properties();
    p.setProperty("bootstrap.servers", broker.bootstrapServers());
    p.setProperty("schema.registry.url", registry.url());
    p.setProperty("topic.prefix", config.topicPrefix());
    p.setProperty("model.dir", config.modelDir().toAbsolutePath().toString());
    p.setProperty("serving.instance.id", "local-" + role.cliName() + "-1");
    p.setProperty("serving.djl.threads", "1");
    p.setProperty("http.port", Integer.toString(httpPort));
    p.setProperty("adapters.dir", Files.createDirectories(dataDir.resolve("adapters")).toString());
    p.setProperty("rollout.controller.id", config.topicPrefix() + "rollout-controller");
    String user = switch (role) {
      case REFRESH -> StackSecurity.TRAINER;
      case CONTROL -> StackSecurity.CONTROLLER;
      default -> StackSecurity.WORKER;
    };
    StackSecurity.prefixed("kafka.", settings(user)).forEach(p::setProperty);
    config.settings(role).forEach(p::setProperty);
    extra.forEach(p::setProperty);
    return ServingConfig.fromProperties(p);
  }

  /** The user-state app must be RUNNING before "up" is announced, or the first records would wait on a rebalance. */
  private void awaitStreamsRunning() throws InterruptedException {
    awaitRunning(streams.streams(), "streams role (user state)");
    if (streams.outcomes() != null) {
      awaitRunning(streams.outcomes(), "streams role (outcomes)");
    }
  }

  private static void awaitRunning(KafkaStreams app, String name) throws InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (app.state() != KafkaStreams.State.RUNNING) {
      KafkaStreams.State s = app.state();
      if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING || s == KafkaStreams.State.PENDING_ERROR) {
        throw new IllegalStateException(name + " stopped while starting (state " + s + "); see the log above");
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(name + " not RUNNING after " + START_TIMEOUT + " (state " + s + ")");
      }
      Thread.sleep(100);
    }
  }

  public StackConfig config() {
    return config;
  }

  /** {@code host:port} for {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return broker.bootstrapServers();
  }

  /** The Kafka (and registry) client settings of {@code user} in a secured stack; empty otherwise. */
  private Map<String, String> settings(String user) {
    return security == null ? Map.of() : security.settings(user);
  }

  /**
   * {@code bootstrap.servers} plus, in a {@code --secure} stack, the client user's SASL/SCRAM and
   * registry settings: the base of any client of this stack (tests, demo, benchmarks).
   */
  public Properties clientProperties() {
    Properties p = new Properties();
    p.putAll(settings(StackSecurity.CLIENT));
    p.setProperty("bootstrap.servers", broker.bootstrapServers());
    return p;
  }

  /** The security settings alone (empty unless {@code --secure}), e.g. for a {@link Replayer}'s producer. */
  public Map<String, Object> clientSettings() {
    return Map.copyOf(settings(StackSecurity.CLIENT));
  }

  /** Where a {@code --secure} stack writes its client settings (for {@code --client-config}); absent otherwise. */
  public Path clientConfigFile() {
    return dataDir.resolve("client.properties");
  }

  /** Whether the broker takes SASL/SCRAM users only and the registry basic authentication. */
  public boolean secure() {
    return security != null;
  }

  /** Base URL for {@code schema.registry.url}. */
  public String registryUrl() {
    return registry.url();
  }

  /** The topic declarations of this stack (its prefix, serdes bound to its registry). */
  public Topics topics() {
    return topics;
  }

  public Path dataDir() {
    return dataDir;
  }

  public boolean temporaryDataDir() {
    return temporaryDataDir;
  }

  public URI flinkRestAddress() {
    return flink.restAddress();
  }

  /** The running streams role, if started. */
  public Optional<StreamsApp.Running> streams() {
    return Optional.ofNullable(streams);
  }

  /** The pools job's config, if started (e.g. to know its minimum history). */
  public Optional<PoolsConfig> poolsConfig() {
    return Optional.ofNullable(poolsConfig);
  }

  /** The running worker, if started (needs a model). */
  public Optional<Worker> worker() {
    return Optional.ofNullable(worker);
  }

  /**
   * Stops the worker and starts a new one with the same configuration, as an operator restarting
   * it on a live system would: it mirrors the topics from the beginning and warms its cache
   * before it takes traffic. Returns the milliseconds until the new worker was ready.
   */
  public synchronized long restartWorker() throws Exception {
    if (worker == null) {
      throw new IllegalStateException("no worker runs in this stack");
    }
    worker.close();
    long t0 = System.nanoTime();
    worker = Worker.start(workerConfig);
    return (System.nanoTime() - t0) / 1_000_000;
  }

  /**
   * As {@link #restartWorker()}, with {@code settings} (worker configuration keys, e.g.
   * {@code serving.engine}) over the stack's own from now on; returns the ms until it was ready.
   */
  public synchronized long restartWorker(Map<String, String> settings) throws Exception {
    if (worker == null) {
      throw new IllegalStateException("no worker runs in this stack");
    }
    ServingConfig next = modelRoleConfig(Role.WORKER, workerConfig.httpPort(), settings);
    worker.close();
    workerConfig = next;
    long t0 = System.nanoTime();
    worker = Worker.start(workerConfig);
    return (System.nanoTime() - t0) / 1_000_000;
  }

  /** The rollout controller, if started (needs a model). */
  public Optional<Controller> controller() {
    return Optional.ofNullable(controller);
  }

  /**
   * Starts the trainer now, with the stack's refresh settings, unless one runs: {@code demo} starts
   * it after its bootstrap replay, so that it learns from live traffic only (a trainer captures
   * examples from the interactions that arrive after its own mirror caught up).
   */
  public synchronized RefreshLoop startTrainer() throws Exception {
    if (closed) {
      throw new IllegalStateException("the stack is stopped");
    }
    if (config.modelDir() == null) {
      throw new IllegalStateException("the trainer needs a model (--model DIR)");
    }
    if (trainer == null) {
      trainer = RefreshLoop.start(modelRoleConfig(Role.REFRESH, 0));
      started.push(new Component("refresh role (trainer)", trainer));
    }
    return trainer;
  }

  /** The trainer, if started (needs a model). */
  public Optional<RefreshLoop> trainer() {
    return Optional.ofNullable(trainer);
  }

  /** The gateway's base URL, if started. */
  public Optional<String> gatewayUrl() {
    return gateway == null ? Optional.empty() : Optional.of("http://" + Ports.HOST + ":" + gateway.port());
  }

  /** The dashboard's base URL, if started. */
  public Optional<String> dashboardUrl() {
    return dashboard == null ? Optional.empty() : Optional.of(dashboard.url());
  }

  /** Role applications that are configured to run here. */
  public List<Role> roles() {
    return new ArrayList<>(config.roles());
  }

  /**
   * What is wrong right now, as sentences (empty when healthy): a role application that stopped
   * or failed. {@code up} polls it so a dead role does not go unnoticed.
   */
  public List<String> problems() {
    List<String> problems = new ArrayList<>();
    if (streams != null) {
      KafkaStreams.State s = streams.streams().state();
      if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.PENDING_ERROR || s == KafkaStreams.State.NOT_RUNNING) {
        problems.add("streams role is " + s);
      }
      KafkaStreams.State o = streams.outcomes() == null ? null : streams.outcomes().state();
      if (o == KafkaStreams.State.ERROR || o == KafkaStreams.State.PENDING_ERROR || o == KafkaStreams.State.NOT_RUNNING) {
        problems.add("streams role's outcome topology is " + o);
      }
    }
    if (poolsJob != null) {
      try {
        JobStatus s = flink.status(poolsJob);
        if (s.isGloballyTerminalState()) {
          problems.add("pools job is " + s + ": " + firstLine(flink.failureOf(poolsJob)));
        } else if (s != JobStatus.RUNNING) {
          problems.add("pools job is " + s);
        }
      } catch (Exception e) {
        problems.add("pools job status unknown: " + e.getMessage());
      }
    }
    if (worker != null && worker.notReadyReason() != null) {
      problems.add("worker is not ready: " + worker.notReadyReason());
    }
    if (controller != null && controller.failure() != null) {
      problems.add("rollout controller failed: " + controller.failure());
    }
    if (trainer != null && trainer.failure() != null) {
      problems.add("trainer failed: " + trainer.failure());
    }
    return problems;
  }

  /** A readable description of what runs where, for {@code up} and {@code demo}. */
  public String describe() {
    Map<String, String> lines = new LinkedHashMap<>();
    lines.put("Kafka bootstrap servers", bootstrapServers() + "   (embedded KRaft broker " + org.apache.kafka.common.utils.AppInfoParser.getVersion()
        + (security != null ? ", SASL_PLAINTEXT + " + EmbeddedKafkaBroker.SCRAM_MECHANISM + ": one user per role" : "") + ")");
    lines.put("Schema registry", registryUrl() + "   (Confluent REST API" + (security != null ? ", basic authentication" : "") + ")");
    if (security != null) {
      lines.put("Client settings", clientConfigFile() + "   (pass to any ./adaptrec command: --client-config FILE)");
    }
    lines.put("Flink MiniCluster", "REST " + flink.restAddress() + ", " + flink.slots() + " slots, job parallelism "
        + config.flinkParallelism());
    lines.put("Data dir", dataDir + (temporaryDataDir ? "   (temporary: deleted on exit; --data-dir to keep)" : "   (kept)"));
    List<String> roles = new ArrayList<>();
    if (streams != null) {
      roles.add("streams  " + Role.STREAMS.description() + "; application.id " + streamsConfig.applicationId()
          + (streams.queryPort() > 0 ? ", queries http://" + Ports.HOST + ":" + streams.queryPort() + "/users/{id}" : ""));
    }
    if (poolsJob != null) {
      roles.add("pools    " + Role.POOLS.description() + "; Flink job " + poolsJob + ", checkpoints every "
          + config.flinkCheckpointMs() + " ms");
    }
    if (worker != null) {
      roles.add("worker   " + Role.WORKER.description() + "; model " + config.modelDir() + ", adapter "
          + worker.model().adapterVersion() + ", health http://" + Ports.HOST + ":" + worker.httpPort() + "/health/ready");
    } else if (config.roles().contains(Role.WORKER)) {
      roles.add("worker   not started: no model (--model DIR; train one with ./adaptrec train --out DIR)");
    }
    if (trainer != null) {
      roles.add("refresh  " + Role.REFRESH.description() + "; adapters under " + dataDir.resolve("adapters"));
    }
    if (controller != null) {
      roles.add("control  " + Role.CONTROL.description() + "; production " + controller.production()
          + " (./adaptrec rollout status)");
    }
    if (gateway != null) {
      roles.add("gateway  POST http://" + Ports.HOST + ":" + gateway.port() + "/recommendations {\"userId\": 1, \"k\": 10}");
    }
    if (dashboard != null) {
      roles.add("dashboard " + dashboard.url() + "/   (live: throughput, latency, lag, arms, adapters, dead letters; "
          + "?user=ID looks a user up)" + (worker == null ? "; no worker: model panels say so" : ""));
    }
    lines.put("Roles running", roles.isEmpty() ? "none (broker, registry and Flink only)" : String.join("\n" + " ".repeat(28), roles));
    StringBuilder sb = new StringBuilder();
    lines.forEach((k, v) -> sb.append(String.format("  %-24s  %s%n", k, v)));
    sb.append("  Topics:\n");
    for (Topic<?, ?> t : topics.all()) {
      sb.append(String.format("    %-36s %2d partitions  %s%n", t.name(), t.partitions(), t.cleanupPolicy().configValue()));
    }
    return sb.toString();
  }

  /** Milliseconds {@link #start} took. */
  public long startMillis() {
    return startMillis;
  }

  /** Stops every started component in reverse order; failures are logged and the rest still stop. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    List<String> failures = new ArrayList<>();
    while (!started.isEmpty()) {
      Component c = started.pop();
      long t0 = System.nanoTime();
      try {
        c.stopper().close();
        LOG.info("stopped {} in {} ms", c.name(), (System.nanoTime() - t0) / 1_000_000);
      } catch (Exception e) {
        failures.add(c.name() + ": " + e);
        LOG.warn("stopping {} failed: {}", c.name(), e.toString());
      }
    }
    if (temporaryDataDir) {
      deleteRecursively(dataDir);
    }
    if (!failures.isEmpty()) {
      LOG.warn("Local stack stopped with {} problem(s): {}", failures.size(), failures);
    }
  }

  private static String firstLine(String text) {
    int nl = text.indexOf('\n');
    return nl < 0 ? text : text.substring(0, nl);
  }

  /** Deletes {@code dir} and everything under it; problems are logged, not thrown. */
  static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.warn("Could not delete {}: {}", dir, e.getMessage());
    }
  }
}
