package io.adaptrec.worker.serving;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The worker's metrics, in Prometheus form through Micrometer: requests by status and path,
 * worker latency and model time (histograms), batch sizes, errors by kind, lag, cache hit rate.
 */
public final class WorkerMetrics {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConcurrentHashMap<String, Counter> requests = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> errors = new ConcurrentHashMap<>();
    private final Timer latency;
    private final Timer model;
    private final DistributionSummary batch;
    private final Counter newItems;
    private final Counter generated;

    public WorkerMetrics() {
        latency = Timer.builder("adaptrec.worker.request.latency")
                .description("worker time from reading a request to writing its response")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(10)).register(registry);
        model = Timer.builder("adaptrec.worker.model.time")
                .description("model time of one batch (stages 1-3)").publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(10)).register(registry);
        batch = DistributionSummary.builder("adaptrec.worker.batch.size").description("requests per poll")
                .publishPercentileHistogram().minimumExpectedValue(1.0).maximumExpectedValue(4096.0).register(registry);
        newItems = Counter.builder("adaptrec.worker.new.items.scored")
                .description("candidates scored through title/genre words only (items newer than the model)").register(registry);
        generated = Counter.builder("adaptrec.worker.candidates.generated")
                .description("requests whose candidates the worker generated").register(registry);
    }

    public void request(String status, String path, long latencyMicros) {
        requests.computeIfAbsent(status + "/" + path, k -> Counter.builder("adaptrec.worker.requests")
                .description("answered requests").tag("status", status).tag("path", path).register(registry)).increment();
        latency.record(latencyMicros, TimeUnit.MICROSECONDS);
    }

    /** kinds: invalid, timeout, model, undecodable, produce. */
    public void error(String kind) {
        errors.computeIfAbsent(kind, k -> Counter.builder("adaptrec.worker.errors").description("errors by kind")
                .tag("kind", k).register(registry)).increment();
    }

    /** An adapter refused before any traffic reached it; reason: the verifier's code (CHECKSUM, SHAPE, ...). */
    public void adapterRejected(String reason) {
        errors.computeIfAbsent("adapter/" + reason, k -> Counter.builder("adaptrec.worker.adapters.rejected")
                .description("adapters rejected by verification, by reason").tag("reason", reason).register(registry))
                .increment();
    }

    public void modelBatch(long nanos) {
        model.record(nanos, TimeUnit.NANOSECONDS);
    }

    public void batch(int size) {
        batch.record(size);
    }

    public void newItemsScored(int n) {
        newItems.increment(n);
    }

    public void candidatesGenerated() {
        generated.increment();
    }

    public void gauge(String name, String description, Supplier<Number> value) {
        Gauge.builder(name, value).description(description).register(registry);
    }

    /** Requests answered so far with {@code status} (any path). */
    public double requests(String status) {
        return requests.entrySet().stream().filter(e -> e.getKey().startsWith(status + "/"))
                .mapToDouble(e -> e.getValue().count()).sum();
    }

    /** The Prometheus text exposition. */
    public String scrape() {
        return registry.scrape();
    }
}
