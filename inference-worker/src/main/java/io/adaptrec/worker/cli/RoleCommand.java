package io.adaptrec.worker.cli;

import io.adaptrec.worker.serving.HealthServer;
import io.adaptrec.worker.serving.ServingConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * What {@code serve}, {@code refresh} and {@code control} share: one config file (with
 * {@code --set} overrides), a role started from it, stopped by Ctrl-C / SIGTERM.
 */
abstract class RoleCommand<R extends AutoCloseable> implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1",
            description = "Config file (see inference-worker/config/inference-worker.properties); -Dkey=value overrides.")
    Path config;

    @Option(names = "--set", description = "key=value overriding the config file (repeatable).")
    Map<String, String> set = Map.of();

    /** Starts the role; returns once it runs. */
    abstract R start(ServingConfig cfg) throws Exception;

    /** The line printed once it runs. */
    abstract String running(ServingConfig cfg, R role);

    /** Printed after it stopped (null: nothing). */
    String stopped(R role) {
        return null;
    }

    /**
     * Health of a role that has no HTTP server of its own (the trainer, the controller): its
     * failure (null while it runs) and gauges (name without prefix: value). RoleCommand then serves
     * {@code /health/live}, {@code /health/ready} and {@code /metrics} on {@code http.host}:{@code http.port}.
     * Null (the worker): the role serves them itself.
     */
    Health health(R role) {
        return null;
    }

    record Health(String prefix, Supplier<Throwable> failure, Map<String, Supplier<Number>> gauges) {}

    private static HealthServer healthServer(ServingConfig cfg, Health h) throws java.io.IOException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        h.gauges().forEach((name, value) -> Gauge.builder(h.prefix() + "." + name, () -> value.get().doubleValue())
                .register(registry));
        Supplier<String> problem = () -> {
            Throwable t = h.failure().get();
            return t == null ? null : "failed: " + t;
        };
        return new HealthServer(cfg.httpHost(), cfg.httpPort(), () -> problem.get() == null, problem, registry::scrape);
    }

    @Override
    public final Integer call() throws Exception {
        ServingConfig cfg = ServingConfig.load(config, set);
        CountDownLatch stop = new CountDownLatch(1);
        R role = start(cfg);
        Health h = health(role);
        HealthServer http = h == null ? null : healthServer(cfg, h);
        java.lang.Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                if (http != null) {
                    http.close();
                }
                role.close();
            } catch (Exception e) {
                System.err.println("stopping failed: " + e);
            }
            String s = stopped(role);
            if (s != null) {
                System.out.println(s);
            }
            stop.countDown();
        }, "role-shutdown"));
        System.out.println(running(cfg, role));
        if (http != null) {
            System.out.printf("health http://%s:%d/health/ready, metrics /metrics%n", cfg.httpHost(), http.port());
        }
        stop.await();
        return 0;
    }
}
