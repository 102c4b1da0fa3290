package io.adaptrec.worker.serving;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Health and metrics over HTTP with the JDK's built-in server (as the streams role's query
 * endpoint; three plain GET routes need no framework): {@code /health/live} (200 while the
 * process runs its loops), {@code /health/ready} (200 only after the state mirror caught up and
 * the serving loop joined its group; 503 with the reason before), {@code /metrics} (Prometheus).
 */
public final class HealthServer implements AutoCloseable {

    private final HttpServer server;

    public HealthServer(String host, int port, BooleanSupplier live, Supplier<String> notReadyReason,
                        Supplier<String> metrics) throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "worker-http");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/health/live", ex -> send(ex, live.getAsBoolean() ? 200 : 503,
                live.getAsBoolean() ? "live\n" : "not live\n", "text/plain"));
        server.createContext("/health/ready", ex -> {
            String why = notReadyReason.get();
            send(ex, why == null ? 200 : 503, why == null ? "ready\n" : why + "\n", "text/plain");
        });
        server.createContext("/metrics", ex -> send(ex, 200, metrics.get(), "text/plain; version=0.0.4"));
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void send(HttpExchange ex, int status, String body, String type) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
