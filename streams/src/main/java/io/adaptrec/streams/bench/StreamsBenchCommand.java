package io.adaptrec.streams.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code adaptrec bench streams ...}: registered by the infra CLI; runnable on its own via {@link #main}. */
@Command(name = "streams", mixinStandardHelpOptions = true,
        description = "Benchmark the user-state topology: throughput and interaction -> user-state latency.")
public final class StreamsBenchCommand implements Callable<Integer> {
    @Option(names = "--users", defaultValue = "10000", description = "distinct users (default ${DEFAULT-VALUE})")
    int users;
    @Option(names = "--events", defaultValue = "200000", description = "interactions to send (default ${DEFAULT-VALUE})")
    long events;
    @Option(names = "--items", defaultValue = "2000", description = "catalogue size (default ${DEFAULT-VALUE})")
    int items;
    @Option(names = "--rate", defaultValue = "20000", description = "offered interactions/s, 0 = unthrottled (default ${DEFAULT-VALUE})")
    int rate;
    @Option(names = "--history-length", defaultValue = "20", description = "L (default ${DEFAULT-VALUE})")
    int historyLength;
    @Option(names = "--commit-interval-ms", defaultValue = "100", description = "Streams commit interval (default ${DEFAULT-VALUE})")
    long commitIntervalMs;
    @Option(names = "--threads", defaultValue = "1", description = "stream threads (default ${DEFAULT-VALUE})")
    int threads;
    @Option(names = "--seed", defaultValue = "42", description = "event generator seed (default ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--bootstrap", description = "Kafka bootstrap servers (default: an embedded broker)")
    String bootstrap;
    @Option(names = "--registry", description = "schema registry URL (default: an embedded registry)")
    String registry;
    @Option(names = "--report-json", description = "write the result as JSON to this file")
    Path reportJson;
    @Option(names = "--no-progress", description = "no progress bar (e.g. in CI logs)")
    boolean noProgress;
    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a streams.properties key for this run, "
            + "repeatable (e.g. --set kafka.producer.linger.ms=5 --set statestore.cache.max.bytes=0)")
    Map<String, String> overrides = new LinkedHashMap<>();
    @Option(names = "--decode-user-state", description = "let the measuring consumer Avro-decode every user-state "
            + "value (default: it reads key and headers only, so its own decoding is not charged to the topology)")
    boolean decodeUserState;

    public StreamsBenchCommand() {}

    @Override
    public Integer call() throws Exception {
        StreamsBenchmark.BenchResult r = StreamsBenchmark.run(new StreamsBenchmark.BenchConfig(users, events, items,
                rate, historyLength, commitIntervalMs, threads, seed, bootstrap, registry, !noProgress, overrides,
                decodeUserState));
        System.out.printf("streams bench: %d events in %.1f s = %.0f events/s (offered %.0f/s); latency p50 %.1f ms, "
                        + "p95 %.1f ms, p99 %.1f ms, max %.1f ms; %d user-state records%n",
                r.events(), r.seconds(), r.eventsPerSec(), r.offeredPerSec(), r.p50LatencyMs(), r.p95LatencyMs(),
                r.p99LatencyMs(), r.maxLatencyMs(), r.received());
        if (reportJson != null) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(reportJson.toFile(), r.toJson());
            System.out.println("report: " + reportJson);
        }
        return r.received() == r.events() ? 0 : 1;
    }

    public static void main(String[] args) {
        if (System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "classpath:log4j2-streams.properties");
        }
        System.exit(new picocli.CommandLine(new StreamsBenchCommand()).execute(args));
    }
}
