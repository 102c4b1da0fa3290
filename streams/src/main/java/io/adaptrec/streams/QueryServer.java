package io.adaptrec.streams;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongFunction;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Interactive-query endpoint for debugging and the dashboard (JDK HttpServer + Jackson: nothing
 * heavier is needed for three read-only routes).
 *
 * <ul>
 *   <li>{@code GET /users/{id}}: 200 with the user's state; 404 unknown user; 307 to the instance
 *       that owns the user when it is another one; 503 while the store is not queryable
 *       (starting, rebalancing).</li>
 *   <li>{@code GET /metrics}: the counters and the application state.</li>
 *   <li>{@code GET /health/live}: 200 unless an application failed for good (ERROR, or shut down
 *       while the process runs): a probe that restarts the container; {@code GET /health/ready}:
 *       200 once every application is RUNNING, 503 with the states before (starting, rebalancing,
 *       restoring state).</li>
 * </ul>
 */
public final class QueryServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueryServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The answer to "where is user X": exactly one of the fields is meaningful per kind. */
    public record Lookup(Kind kind, UserHistory state, String otherInstance, String reason) {
        public enum Kind { FOUND, NOT_FOUND, ELSEWHERE, UNAVAILABLE }

        public static Lookup found(UserHistory h) { return new Lookup(Kind.FOUND, h, null, null); }
        public static Lookup notFound() { return new Lookup(Kind.NOT_FOUND, null, null, null); }
        public static Lookup elsewhere(String hostPort) { return new Lookup(Kind.ELSEWHERE, null, hostPort, null); }
        public static Lookup unavailable(String why) { return new Lookup(Kind.UNAVAILABLE, null, null, why); }
    }

    private final HttpServer server;
    private final ExecutorService executor;

    /**
     * @param notLive null while the applications can still serve, else why not
     * @param notReady null when every application is RUNNING, else why not
     */
    public QueryServer(String host, int port, LongFunction<Lookup> users, Supplier<Map<String, Object>> metrics,
                       Supplier<String> notLive, Supplier<String> notReady) throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
        executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "adaptrec-query-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/users/", ex -> handle(ex, () -> user(ex, users)));
        server.createContext("/metrics", ex -> handle(ex, () -> new Response(200, metrics.get(), null)));
        server.createContext("/health/live", ex -> handle(ex, () -> health(notLive.get(), "live")));
        server.createContext("/health/ready", ex -> handle(ex, () -> health(notReady.get(), "ready")));
        server.start();
        log.info("interactive queries on http://{}:{}/users/{{id}}", host, port());
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private record Response(int status, Object body, String location) {}

    private interface Route {
        Response answer() throws Exception;
    }

    private static Response health(String problem, String good) {
        return problem == null ? new Response(200, Map.of("status", good), null)
                : new Response(503, Map.of("status", "not " + good, "reason", problem), null);
    }

    private static Response user(HttpExchange ex, LongFunction<Lookup> users) {
        String id = ex.getRequestURI().getPath().substring("/users/".length());
        long userId;
        try {
            userId = Long.parseLong(id);
        } catch (NumberFormatException e) {
            return new Response(400, Map.of("error", "user id must be a long, was '" + id + "'"), null);
        }
        Lookup r = users.apply(userId);
        return switch (r.kind()) {
            case FOUND -> new Response(200, toJson(r.state()), null);
            case NOT_FOUND -> new Response(404, Map.of("error", "no state for user " + userId), null);
            case ELSEWHERE -> new Response(307, Map.of("owner", r.otherInstance()),
                    "http://" + r.otherInstance() + "/users/" + userId);
            case UNAVAILABLE -> new Response(503, Map.of("error", "state not queryable now: " + r.reason()), null);
        };
    }

    /** The JSON shape mirrors the Avro UserState, plus how many window items are not in the mean. */
    static Map<String, Object> toJson(UserHistory h) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("userId", h.userId());
        List<Map<String, Object>> history = new ArrayList<>();
        for (UserHistory.Entry e : h.entries()) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("itemId", e.itemId());
            entry.put("eventTime", e.eventTime());
            entry.put("rating", e.rating());
            history.add(entry);
        }
        m.put("history", history);
        m.put("embeddingVersion", h.embeddingVersion());
        m.put("embedding", h.embeddingUnsafe());
        m.put("itemsNotInEmbedding", h.missing());
        m.put("updatedAt", h.updatedAt());
        return m;
    }

    private static void handle(HttpExchange ex, Route route) throws IOException {
        try (ex) {
            Response r;
            if (!"GET".equals(ex.getRequestMethod())) {
                r = new Response(405, Map.of("error", "only GET is supported"), null);
            } else {
                try {
                    r = route.answer();
                } catch (Exception e) {
                    log.warn("query {} failed", ex.getRequestURI(), e);
                    r = new Response(500, Map.of("error", String.valueOf(e.getMessage())), null);
                }
            }
            byte[] body = JSON.writeValueAsBytes(r.body());
            ex.getResponseHeaders().set("Content-Type", "application/json");
            if (r.location() != null) ex.getResponseHeaders().set("Location", r.location());
            ex.sendResponseHeaders(r.status(), body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
