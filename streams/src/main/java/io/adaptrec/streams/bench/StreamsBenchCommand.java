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
    @Option(names = "--warmup-events", defaultValue = "-1", description = "events sent first and left out of every "
            + "figure (JIT, first-time users, first transactions); default: a fifth of --events")
    long warmupEvents;
    @Option(names = "--find-rate", description = "search the highest offered rate whose steady-state p99 stays within "
            + "--p99-target-ms and that the topology sustains: rates from --rate doubling until one fails, then halving "
            + "the gap three times; each try runs --run-seconds after a warm-up of a quarter of that")
    boolean findRate;
    @Option(names = "--p99-target-ms", defaultValue = "200", description = "p99 goal of --find-rate (default ${DEFAULT-VALUE})")
    double p99TargetMs;
    @Option(names = "--run-seconds", defaultValue = "20", description = "steady-state seconds per --find-rate try (default ${DEFAULT-VALUE})")
    int runSeconds;
    @Option(names = "--max-rate", defaultValue = "64000", description = "highest rate --find-rate tries (default ${DEFAULT-VALUE})")
    int maxRate;

    @Option(names = "--repeats", defaultValue = "0", description = "run --rate this many times in one JVM, after one "
            + "uncounted try of the same size that warms the JIT, each on a fresh topology and topics with "
            + "--run-seconds of steady state, and report the median steady-state p99 and throughput (default 0: one run)")
    int repeats;

    public StreamsBenchCommand() {}

    @Override
    public Integer call() throws Exception {
        StreamsBenchmark.BenchConfig config = new StreamsBenchmark.BenchConfig(users, events, items,
                rate, historyLength, commitIntervalMs, threads, seed, bootstrap, registry, !noProgress, overrides,
                decodeUserState, warmupEvents >= 0 ? warmupEvents : events / 5);
        if (findRate && repeats > 0) {
            throw new IllegalArgumentException("--find-rate and --repeats do not go together");
        }
        if (findRate) {
            return onSharedBroker(config, (kafka, reg) -> findRate(config, kafka, reg));
        }
        if (repeats > 0) {
            return onSharedBroker(config, (kafka, reg) -> repeats(config, kafka, reg));
        }
        StreamsBenchmark.BenchResult r = StreamsBenchmark.run(config);
        describe(r);
        if (reportJson != null) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(reportJson.toFile(), r.toJson());
            System.out.println("report: " + reportJson);
        }
        return r.received() == r.events() ? 0 : 1;
    }

    private static void describe(StreamsBenchmark.BenchResult r) {
        System.out.printf("streams bench: %d events (%s warm-up) at %.0f/s offered: steady state %.0f events/s over %.1f s"
                        + "%s; latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms; %d user-state records"
                        + " (topology processed %d interactions, %d sends failed)%n",
                r.events(), r.setup().get("warmup_events"), r.offeredPerSec(), r.eventsPerSec(), r.seconds(),
                r.sustained() ? "" : " (NOT sustained)", r.p50LatencyMs(), r.p95LatencyMs(),
                r.p99LatencyMs(), r.maxLatencyMs(), r.received(), r.counters().get("interactions"),
                r.setup().get("send_errors"));
    }

    /**
     * The rate search: one embedded broker and registry for all tries (unless --bootstrap), a fresh
     * topology and topics per try. A try meets the goal when it is sustained and its steady-state
     * p99 is within the target.
     */
    private interface OnBroker {
        int run(String kafka, String registry) throws Exception;
    }

    /** One embedded broker and registry for several tries (unless --bootstrap / --registry name real ones). */
    private static int onSharedBroker(StreamsBenchmark.BenchConfig base, OnBroker body) throws Exception {
        java.util.List<AutoCloseable> started = new java.util.ArrayList<>();
        String kafka = base.bootstrap();
        String reg = base.registry();
        try {
            if (kafka == null) {
                io.adaptrec.schemas.EmbeddedKafkaBroker b = io.adaptrec.schemas.EmbeddedKafkaBroker.start();
                started.add(0, b);
                kafka = b.bootstrapServers();
            }
            if (reg == null) {
                io.adaptrec.schemas.EmbeddedSchemaRegistry r = io.adaptrec.schemas.EmbeddedSchemaRegistry.start(0);
                started.add(0, r);
                reg = r.url();
            }
            return body.run(kafka, reg);
        } finally {
            for (AutoCloseable a : started) {
                a.close();
            }
        }
    }

    /** --repeats: the same rate several times, JIT-warm, each try a fresh topology; medians over the tries. */
    private int repeats(StreamsBenchmark.BenchConfig base, String kafka, String reg) throws Exception {
        if (base.rate() < 1 || runSeconds < 5) {
            throw new IllegalArgumentException("--repeats needs --rate >= 1 and --run-seconds >= 5");
        }
        long steadyEvents = (long) base.rate() * runSeconds;
        long warm = steadyEvents / 4;
        System.out.printf("streams bench: one uncounted try to warm the JIT, then %d at %d/s%n", repeats, base.rate());
        describe(StreamsBenchmark.run(base.at(base.rate(), steadyEvents + warm, warm, kafka, reg)));
        java.util.List<Map<String, Object>> tries = new java.util.ArrayList<>();
        double[] p99 = new double[repeats];
        double[] rate = new double[repeats];
        int sustained = 0;
        for (int i = 0; i < repeats; i++) {
            StreamsBenchmark.BenchResult r = StreamsBenchmark.run(base.at(base.rate(), steadyEvents + warm, warm, kafka, reg));
            describe(r);
            tries.add(r.toJson());
            p99[i] = r.p99LatencyMs();
            rate[i] = r.eventsPerSec();
            sustained += r.sustained() ? 1 : 0;
        }
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("offered_per_sec", base.rate());
        report.put("run_seconds", runSeconds);
        report.put("repeats", repeats);
        report.put("sustained_tries", sustained);
        report.put("p99_ms_median", median(p99));
        report.put("p99_ms_min", java.util.Arrays.stream(p99).min().orElse(0));
        report.put("p99_ms_max", java.util.Arrays.stream(p99).max().orElse(0));
        report.put("events_per_sec_median", median(rate));
        report.put("tries", tries);
        System.out.printf("streams bench: %d tries at %d/s: steady-state p99 median %.1f ms (%.1f .. %.1f), "
                        + "throughput median %.0f/s, %d of %d sustained%n", repeats, base.rate(), median(p99),
                report.get("p99_ms_min"), report.get("p99_ms_max"), median(rate), sustained, repeats);
        if (reportJson != null) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(reportJson.toFile(), report);
            System.out.println("report: " + reportJson);
        }
        return sustained == repeats ? 0 : 1;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /**
     * The rate search: a fresh topology and topics per try on one broker. A try meets the goal when it
     * is sustained and its steady-state p99 is within the target.
     */
    private int findRate(StreamsBenchmark.BenchConfig base, String kafka, String reg) throws Exception {
        if (base.rate() < 1 || runSeconds < 5 || maxRate < base.rate()) {
            throw new IllegalArgumentException("--find-rate needs --rate >= 1 (the first rate tried), --run-seconds >= 5, "
                    + "--max-rate >= --rate");
        }
        // the first try would otherwise run on a cold JVM (p99 of seconds while the JIT compiles) and
        // send the search downwards for the wrong reason
        System.out.printf("streams bench: one uncounted try at %d/s to warm the JIT%n", base.rate());
        long warmSteady = (long) base.rate() * runSeconds;
        describe(StreamsBenchmark.run(base.at(base.rate(), warmSteady + warmSteady / 4, warmSteady / 4, kafka, reg)));
        java.util.List<Map<String, Object>> tries = new java.util.ArrayList<>();
        int good = 0;
        int bad = 0;
        int next = base.rate();
        while (true) {
            long steadyEvents = (long) next * runSeconds;
            long warm = steadyEvents / 4;
            StreamsBenchmark.BenchResult r = StreamsBenchmark.run(base.at(next, steadyEvents + warm, warm, kafka, reg));
            describe(r);
            boolean ok = r.sustained() && r.p99LatencyMs() <= p99TargetMs;
            Map<String, Object> t = new LinkedHashMap<>(r.toJson());
            t.put("meets_target", ok);
            tries.add(t);
            System.out.printf("streams bench: %d/s %s%n", next, ok ? "meets the target" : "misses it");
            if (ok) {
                good = next;
            } else {
                bad = next;
            }
            if (bad == 0) {
                if (next >= maxRate) break;
                next = Math.min(maxRate, next * 2);
            } else if (good == 0) {
                if (next <= 250) break;   // even the lowest tried misses: report that
                next = next / 2;
            } else if (bad - good > Math.max(250, good / 8)) {
                next = (good + bad) / 2;
            } else {
                break;
            }
        }
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("p99_target_ms", p99TargetMs);
        report.put("run_seconds", runSeconds);
        report.put("highest_rate_meeting_target", good);
        report.put("lowest_rate_missing_target", bad == 0 ? null : bad);
        report.put("tries", tries);
        System.out.printf("streams bench: highest offered rate with steady-state p99 <= %.0f ms and sustained: %s%n",
                p99TargetMs, good == 0 ? "none of the rates tried" : good + " events/s");
        if (reportJson != null) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(reportJson.toFile(), report);
            System.out.println("report: " + reportJson);
        }
        return 0;
    }

    public static void main(String[] args) {
        if (System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "classpath:log4j2-streams.properties");
        }
        System.exit(new picocli.CommandLine(new StreamsBenchCommand()).execute(args));
    }
}
