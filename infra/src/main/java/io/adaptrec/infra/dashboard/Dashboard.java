package io.adaptrec.infra.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.adaptrec.schemas.Topics;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The live dashboard: a JDK HTTP server (as the gateway) on one host and port serving
 *
 * <ul>
 *   <li>{@code GET /}: one self-contained page (HTML, CSS and JavaScript in one resource, nothing
 *       fetched from elsewhere) that polls {@code /api/overview} every 2 s and fills its panels, and
 *       looks a user up ({@code ?user=ID} on load, or the form);</li>
 *   <li>{@code GET /api/overview}: throughput, latency, consumer lag per role, arms and experiments,
 *       adapters, dead letters ({@link DashboardFeed} over the topics, {@link GroupLag} over the
 *       Admin API, plus what in-process roles report);</li>
 *   <li>{@code GET /api/users/{id}}: one user's history, pool and last recommendation (404 with a
 *       JSON error when no topic knows the user);</li>
 *   <li>{@code GET /health}: {@code {"status": "up"}}.</li>
 * </ul>
 *
 * Everything comes from the topics and the cluster's consumer groups, so it works against a real
 * cluster as well; in the local stack {@link Local} adds the worker's own view and role names.
 */
public final class Dashboard implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String PAGE = "/io/adaptrec/infra/dashboard/index.html";

  /**
   * What in-process roles add.
   *
   * @param worker     the worker's view now (empty when no worker runs)
   * @param groupRoles consumer group id to the role that owns it, in display order
   * @param localLags  lags read in-process (e.g. the worker's state mirror), by name; -1 = not known
   */
  public record Local(Supplier<Optional<WorkerView>> worker, Map<String, String> groupRoles,
      Supplier<Map<String, Long>> localLags) {
    /** Nothing in-process: the dashboard against a cluster. */
    public static Local none() {
      return new Local(Optional::empty, Map.of(), Map::of);
    }
  }

  private final DashboardFeed feed;
  private final GroupLag lag;
  private final Local local;
  private final HttpServer server;
  private final ExecutorService executor;
  private final byte[] page;

  /**
   * Starts reading the topics and serving.
   *
   * @param client {@code bootstrap.servers} and any security settings
   * @param port   0 = any free port
   */
  public Dashboard(Topics topics, Properties client, String host, int port, Local local) throws IOException {
    this.page = page();
    this.local = local;
    this.feed = new DashboardFeed(topics, client);
    try {
      this.lag = new GroupLag(client, topics.prefix(), local.groupRoles(), System::currentTimeMillis);
      this.server = HttpServer.create(new InetSocketAddress(host, port), 0);
    } catch (IOException | RuntimeException e) {
      feed.close();
      throw e;
    }
    this.executor = Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "dashboard-http");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  private static byte[] page() throws IOException {
    try (InputStream in = Dashboard.class.getResourceAsStream(PAGE)) {
      if (in == null) {
        throw new IOException("dashboard page " + PAGE + " is missing from the classpath");
      }
      return in.readAllBytes();
    }
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The base URL, e.g. {@code http://127.0.0.1:8070}. */
  public String url() {
    return "http://" + server.getAddress().getHostString() + ":" + port();
  }

  private void handle(HttpExchange ex) throws IOException {
    try {
      String path = ex.getRequestURI().getPath();
      if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
        send(ex, 405, "application/json", json(Map.of("error", "only GET")));
      } else if (path.equals("/") || path.equals("/index.html")) {
        send(ex, 200, "text/html; charset=utf-8", page);
      } else if (path.equals("/health")) {
        send(ex, 200, "application/json", json(Map.of("status", "up")));
      } else if (path.equals("/api/overview")) {
        send(ex, 200, "application/json", json(overview()));
      } else if (path.startsWith("/api/users/")) {
        String id = path.substring("/api/users/".length());
        long user;
        try {
          user = Long.parseLong(id);
        } catch (NumberFormatException e) {
          send(ex, 400, "application/json", json(Map.of("error", "user id must be a number, got '" + id + "'")));
          return;
        }
        Optional<Map<String, Object>> u = feed.user(user);
        if (u.isPresent()) {
          send(ex, 200, "application/json", json(u.get()));
        } else {
          send(ex, 404, "application/json", json(Map.of("error", "no user-state, pool or response for user " + user
              + " (yet)", "userId", user)));
        }
      } else {
        send(ex, 404, "application/json", json(Map.of("error", "no such page: " + path)));
      }
    } catch (RuntimeException e) {
      send(ex, 500, "application/json", json(Map.of("error", e.toString())));
    }
  }

  /** The overview document: the feed's panels plus consumer lag. */
  Map<String, Object> overview() {
    Optional<WorkerView> worker = local.worker().get();
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("generatedAt", System.currentTimeMillis());
    o.putAll(feed.overview(worker));
    Map<String, Object> lags = new LinkedHashMap<>(lag.get());
    List<Map<String, Object>> in = new ArrayList<>();
    local.localLags().get().forEach((name, value) -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", name);
      m.put("lag", value < 0 ? null : value);
      in.add(m);
    });
    Map<String, Object> feedLag = new LinkedHashMap<>();
    feedLag.put("name", "dashboard feed (backlog of its catch-up)");
    @SuppressWarnings("unchecked")
    Map<String, Object> f = (Map<String, Object>) o.get("feed");
    feedLag.put("lag", f.get("behindAtStart"));
    in.add(feedLag);
    lags.put("inProcess", in);
    o.put("lag", lags);
    return o;
  }

  private static byte[] json(Object body) throws IOException {
    return JSON.writeValueAsString(body).getBytes(StandardCharsets.UTF_8);
  }

  private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", type);
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = "HEAD".equals(ex.getRequestMethod());
    ex.sendResponseHeaders(status, head ? -1 : body.length);
    try (OutputStream os = ex.getResponseBody()) {
      if (!head) {
        os.write(body);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    lag.close();
    feed.close();
  }
}
