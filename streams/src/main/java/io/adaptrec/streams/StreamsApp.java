package io.adaptrec.streams;

import io.adaptrec.schemas.TopicAdmin;
import io.adaptrec.schemas.Topics;
import io.adaptrec.streams.outcome.OutcomeTopology;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point of the streams role: {@code java -jar streams.jar [streams.properties]}. Only wires:
 * config, topics, the applications (user state, catalogue check and, unless {@code
 * outcome.enabled=false}, outcomes), the query endpoint, a shutdown hook.
 */
public final class StreamsApp {
    static {
        // the jar ships its own log configuration; an explicit -Dlog4j2.configurationFile wins
        if (System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "classpath:log4j2-streams.properties");
        }
    }

    private static final Logger log = LoggerFactory.getLogger(StreamsApp.class);

    private StreamsApp() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 1 || (args.length == 1 && args[0].startsWith("-"))) {
            System.err.println("usage: java -jar streams.jar [config.properties]   (keys: see streams.properties)");
            System.exit(2);
        }
        UserStateConfig config;
        try {
            config = args.length == 1 ? UserStateConfig.load(Path.of(args[0])) : UserStateConfig.defaults();
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        Running running = start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running.close();
            stopped.countDown();
        }, "adaptrec-streams-shutdown"));
        // An application that failed for good (ERROR: e.g. its global thread died) cannot recover in
        // this process: exit, so that the restart policy (compose, Kubernetes) starts a fresh one
        // instead of leaving an instance that looks alive and does nothing.
        while (!stopped.await(2, java.util.concurrent.TimeUnit.SECONDS)) {
            String dead = running.failedForGood();
            if (dead != null) {
                log.error("streams: {} failed for good; exiting so that the process is restarted", dead);
                System.exit(1);
            }
        }
    }

    /** A started user-state application (plus catalogue check, outcomes and query endpoint). */
    public static final class Running implements AutoCloseable {
        private final KafkaStreams userState;
        private final KafkaStreams catalogueCheck;
        private final KafkaStreams outcomes;
        private final QueryServer query;
        private final StreamCounters counters;

        private Running(KafkaStreams userState, KafkaStreams catalogueCheck, KafkaStreams outcomes, QueryServer query,
                        StreamCounters counters) {
            this.userState = userState;
            this.catalogueCheck = catalogueCheck;
            this.outcomes = outcomes;
            this.query = query;
            this.counters = counters;
        }

        public KafkaStreams streams() { return userState; }
        /** The outcome application ({@link OutcomeTopology}), or null when {@code outcome.enabled=false}. */
        public KafkaStreams outcomes() { return outcomes; }
        public StreamCounters counters() { return counters; }

        /** The applications in ERROR (they stop for good; a new process is the cure), or null. */
        public String failedForGood() {
            List<String> dead = new ArrayList<>();
            if (userState.state() == KafkaStreams.State.ERROR) dead.add("user-state");
            if (catalogueCheck.state() == KafkaStreams.State.ERROR) dead.add("catalogue-check");
            if (outcomes != null && outcomes.state() == KafkaStreams.State.ERROR) dead.add("outcomes");
            return dead.isEmpty() ? null : String.join(", ", dead);
        }
        /** The bound query port, or -1 when the endpoint is disabled. */
        public int queryPort() { return query == null ? -1 : query.port(); }

        @Override
        public void close() {
            if (query != null) query.close();
            userState.close(Duration.ofSeconds(30));
            catalogueCheck.close(Duration.ofSeconds(30));
            if (outcomes != null) outcomes.close(Duration.ofSeconds(30));
            log.info("streams stopped; counters: {}", counters);
        }
    }

    /** Starts everything and returns at once; the applications reach RUNNING in the background. */
    public static Running start(UserStateConfig config) throws java.io.IOException {
        StreamCounters counters = new StreamCounters();
        Topics topics = UserStateTopology.topics(config);
        if (config.ensureTopics()) ensureTopics(config, topics);
        KafkaStreams outcomes = null;
        if (config.outcome().enabled()) {
            try (Admin a = Admin.create(adminConfig(config))) {
                OutcomeTopology.checkCopartitioned(a, topics, Duration.ofSeconds(30));
            }
            outcomes = new KafkaStreams(OutcomeTopology.buildTopology(config, topics, counters),
                    OutcomeTopology.streamsConfig(config, topics, counters));
            outcomes.setUncaughtExceptionHandler(e -> {
                log.error("outcome stream thread failed; replacing it", e);
                return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            });
        }
        KafkaStreams userState = new KafkaStreams(UserStateTopology.buildTopology(config, topics, counters),
                UserStateTopology.streamsConfig(config, counters));
        KafkaStreams check = new KafkaStreams(CatalogueCheck.buildTopology(config, topics, counters),
                CatalogueCheck.streamsConfig(config, counters));
        userState.setUncaughtExceptionHandler(e -> {
            log.error("stream thread failed; replacing it", e);
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        // a record whose schema the registry cannot serve now fails its thread (DeadLetters.Handler):
        // every application replaces the thread, which reprocesses from the last commit
        check.setUncaughtExceptionHandler(e -> {
            log.error("catalogue-check stream thread failed; replacing it", e);
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        QueryServer query = null;
        KafkaStreams outcomesRef = outcomes;
        if (config.httpEnabled()) {
            Map<String, KafkaStreams> apps = new LinkedHashMap<>();
            apps.put("user-state", userState);
            apps.put("catalogue-check", check);
            if (outcomes != null) apps.put("outcomes", outcomes);
            query = new QueryServer(config.httpHost(), config.httpPort(), id -> lookup(userState, topics, config, id),
                    () -> metrics(userState, outcomesRef, counters), () -> notLive(apps), () -> notReady(apps));
        }
        userState.start();
        check.start();
        if (outcomes != null) outcomes.start();
        log.info("streams started: application {} on {}, topics prefix '{}'{}", config.applicationId(),
                config.bootstrapServers(), config.topicPrefix(),
                outcomes == null ? "" : "; outcomes as " + OutcomeTopology.applicationId(config));
        return new Running(userState, check, outcomes, query, counters);
    }

    /** Applications that failed for good (a container restart is the cure), or null. */
    static String notLive(Map<String, KafkaStreams> apps) {
        List<String> dead = new ArrayList<>();
        apps.forEach((name, app) -> {
            KafkaStreams.State s = app.state();
            if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.PENDING_ERROR || s == KafkaStreams.State.NOT_RUNNING) {
                dead.add(name + " " + s);
            }
        });
        return dead.isEmpty() ? null : String.join(", ", dead);
    }

    /** Applications not RUNNING yet (created, rebalancing, restoring), or null when all run. */
    static String notReady(Map<String, KafkaStreams> apps) {
        List<String> waiting = new ArrayList<>();
        apps.forEach((name, app) -> {
            if (app.state() != KafkaStreams.State.RUNNING) {
                waiting.add(name + " " + app.state());
            }
        });
        return waiting.isEmpty() ? null : String.join(", ", waiting);
    }

    private static Map<String, Object> adminConfig(UserStateConfig config) {
        Map<String, Object> admin = new LinkedHashMap<>();
        admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        admin.putAll(config.kafkaOverrides());
        return admin;
    }

    private static void ensureTopics(UserStateConfig config, Topics topics) {
        List<io.adaptrec.schemas.Topic<?, ?>> needed = new ArrayList<>(List.of(topics.items(), topics.interactions(),
                topics.itemEmbeddings(), topics.userState(), topics.deadLetter()));
        if (config.outcome().enabled()) needed.addAll(List.of(topics.recResponses(), topics.experimentMetrics()));
        try (Admin a = Admin.create(adminConfig(config))) {
            TopicAdmin.Report r = TopicAdmin.ensureTopics(a, needed,
                    (short) config.topicReplicationFactor(), Duration.ofSeconds(30));
            if (!r.created().isEmpty()) log.info("created topics {}", r.created());
        }
    }

    static QueryServer.Lookup lookup(KafkaStreams streams, Topics topics, UserStateConfig config, long userId) {
        try {
            KeyQueryMetadata md = streams.queryMetadataForKey(UserStateTopology.USER_STORE, userId,
                    topics.interactions().keySerde().serializer());
            if (md == null || md.equals(KeyQueryMetadata.NOT_AVAILABLE)) {
                return QueryServer.Lookup.unavailable("application state " + streams.state());
            }
            String self = config.httpHost() + ":" + config.httpPort();
            String owner = md.activeHost().host() + ":" + md.activeHost().port();
            if (config.httpPort() > 0 && md.activeHost().port() > 0 && !owner.equals(self)) {
                return QueryServer.Lookup.elsewhere(owner);
            }
            ReadOnlyKeyValueStore<Long, UserHistory> store = streams.store(StoreQueryParameters.fromNameAndType(
                    UserStateTopology.USER_STORE, QueryableStoreTypes.<Long, UserHistory>keyValueStore()));
            UserHistory h = store.get(userId);
            return h == null ? QueryServer.Lookup.notFound() : QueryServer.Lookup.found(h);
        } catch (InvalidStateStoreException e) {
            return QueryServer.Lookup.unavailable(e.getMessage());
        }
    }

    private static Map<String, Object> metrics(KafkaStreams streams, KafkaStreams outcomes, StreamCounters counters) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("state", streams.state().toString());
        if (outcomes != null) m.put("outcome_state", outcomes.state().toString());
        m.putAll(counters.snapshot());
        return m;
    }
}
