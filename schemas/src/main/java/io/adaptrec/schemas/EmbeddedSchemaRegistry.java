package io.adaptrec.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-memory schema registry speaking the Confluent Schema Registry REST API (the subset that
 * serdes, Flink's Confluent format and Confluent's own client use), bound to 127.0.0.1. It backs
 * the local stack and the tests; production points {@code schema.registry.url} at a real
 * Confluent (or compatible) registry instead.
 *
 * <p>Endpoints, also under {@code /apis/ccompat/v7}: {@code POST /subjects/{s}/versions},
 * {@code POST /subjects/{s}}, {@code GET /schemas/ids/{id}[/schema|/versions]},
 * {@code GET /schemas/types}, {@code GET /subjects}, {@code GET /subjects/{s}/versions},
 * {@code GET /subjects/{s}/versions/{v|latest}[/schema]}, {@code DELETE /subjects/{s}},
 * {@code GET|PUT /config[/{s}]}, {@code DELETE /config/{s}},
 * {@code POST /compatibility/subjects/{s}/versions[/{v|latest}]}, {@code GET /mode}. Only Avro
 * schemas without references are accepted. State is lost on close.
 */
public final class EmbeddedSchemaRegistry implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedSchemaRegistry.class);
  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final String CCOMPAT_PREFIX = "/apis/ccompat/v7";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SchemaStore store = new SchemaStore();
  private final HttpServer server;
  private final ExecutorService executor;
  private final String expectedAuth;
  private final String url;
  private volatile boolean closed;
  /** While true, only requests with {@link #RESTORE_HEADER} are served; the others get 503 (retried by every client). */
  private volatile boolean restoring;

  /**
   * The header of the requests that restore a saved state into a registry started {@link
   * #startRestoring restoring}; every other request waits (503) until {@link #ready()}.
   */
  public static final String RESTORE_HEADER = "X-AdaptRec-Restore";

  private EmbeddedSchemaRegistry(int port, String basicAuthUserInfo) throws IOException {
    this.expectedAuth = basicAuthUserInfo == null ? null
        : "Basic " + Base64.getEncoder().encodeToString(basicAuthUserInfo.getBytes(StandardCharsets.UTF_8));
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 50);
    this.executor = Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "schema-registry-http");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
    this.url = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Starts a registry on {@code port} (0 = a free port), without authentication. */
  public static EmbeddedSchemaRegistry start(int port) {
    return start(port, null);
  }

  /**
   * Starts a registry that also requires HTTP basic authentication with {@code userInfo}
   * ("user:password"), like a secured Confluent registry; null means no authentication.
   */
  public static EmbeddedSchemaRegistry start(int port, String userInfo) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("registry port must be 0 (free port) or 1-65535, got " + port);
    }
    try {
      EmbeddedSchemaRegistry r = new EmbeddedSchemaRegistry(port, userInfo);
      LOG.info("Embedded schema registry at {}", r.url());
      return r;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot start the schema registry on 127.0.0.1:" + port
          + " (port in use?): " + e.getMessage(), e);
    }
  }

  /**
   * Starts a registry that answers 503 to every request without {@link #RESTORE_HEADER} until
   * {@link #ready()}: a registry restarted with a snapshot must not answer "unknown schema id" (a
   * permanent error that sends valid records to the dead letters) before the snapshot is back in;
   * 503 is an outage, which every role waits out.
   */
  public static EmbeddedSchemaRegistry startRestoring(int port, String userInfo) {
    EmbeddedSchemaRegistry r = start(port, userInfo);
    r.restoring = true;
    return r;
  }

  /** Opens a {@link #startRestoring restoring} registry to every client. */
  public void ready() {
    if (restoring) {
      restoring = false;
      LOG.info("Schema registry at {} restored; serving every client", url);
    }
  }

  /** Base URL for {@code schema.registry.url}, e.g. {@code http://127.0.0.1:40123}. */
  public String url() {
    return url;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    server.stop(0);
    executor.shutdownNow();
  }

  /** Runs the registry as its own process: {@code EmbeddedSchemaRegistry [port]} (default 8081). */
  public static void main(String[] args) throws InterruptedException {
    int port = 8081;
    if (args.length > 0) {
      try {
        port = Integer.parseInt(args[0]);
      } catch (NumberFormatException e) {
        System.err.println("Usage: EmbeddedSchemaRegistry [port]   (port: 0-65535, default 8081; got '" + args[0] + "')");
        System.exit(2);
      }
    }
    String userInfo = System.getenv("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO");
    EmbeddedSchemaRegistry registry = start(port, userInfo == null || userInfo.isBlank() ? null : userInfo);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      registry.close();
      stopped.countDown();
    }, "schema-registry-shutdown"));
    System.out.println("Schema registry listening at " + registry.url() + " (Ctrl-C to stop)");
    stopped.await();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      int status = 200;
      JsonNode body;
      try {
        if (expectedAuth != null && !expectedAuth.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
          throw new RegistryException("Unauthorized", 401, 401, null);
        }
        if (restoring && ex.getRequestHeaders().getFirst(RESTORE_HEADER) == null) {
          throw new RegistryException("the registry is restoring its saved schemas; retry shortly", 503, 50301, null);
        }
        body = route(ex);
      } catch (RegistryException e) {
        status = e.httpStatus();
        body = error(e.errorCode(), e.getMessage());
      } catch (IllegalArgumentException e) {
        status = 422;
        body = error(42203, e.getMessage());
      } catch (IOException | RuntimeException e) {
        LOG.warn("Schema registry failed on {} {}", ex.getRequestMethod(), ex.getRequestURI(), e);
        status = 500;
        body = error(50001, "Error in the embedded registry: " + e);
      }
      byte[] bytes = (body.isTextual() ? body.asText() : JSON.writeValueAsString(body)).getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", body.isTextual() ? "application/json" : CONTENT_TYPE);
      ex.sendResponseHeaders(status, bytes.length);
      ex.getResponseBody().write(bytes);
    }
  }

  /** Returns the response body; a TextNode is sent as-is (the raw-schema endpoints). */
  private JsonNode route(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getRawPath();
    if (path.startsWith(CCOMPAT_PREFIX)) {
      path = path.substring(CCOMPAT_PREFIX.length());
    }
    List<String> seg = Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).map(EmbeddedSchemaRegistry::decode)
        .toList();
    Map<String, String> query = query(ex.getRequestURI().getRawQuery());
    String method = ex.getRequestMethod();
    int n = seg.size();
    String first = n == 0 ? "" : seg.get(0);
    switch (first) {
      case "" -> {
        return JSON.createObjectNode();
      }
      case "subjects" -> {
        if (n == 1 && method.equals("GET")) {
          return strings(store.subjects());
        }
        String subject = n >= 2 ? seg.get(1) : null;
        if (n == 2 && method.equals("POST")) {
          return versionJson(store.lookup(subject, schemaOf(ex)));
        }
        if (n == 2 && method.equals("DELETE")) {
          return ints(store.deleteSubject(subject));
        }
        if (n == 3 && seg.get(2).equals("versions") && method.equals("GET")) {
          return ints(store.versions(subject));
        }
        if (n == 3 && seg.get(2).equals("versions") && method.equals("POST")) {
          return JSON.createObjectNode().put("id", store.register(subject, schemaOf(ex)));
        }
        if (n == 4 && seg.get(2).equals("versions") && method.equals("GET")) {
          return versionJson(store.version(subject, seg.get(3)));
        }
        if (n == 5 && seg.get(2).equals("versions") && method.equals("GET") && seg.get(4).equals("schema")) {
          return JSON.getNodeFactory().textNode(store.version(subject, seg.get(3)).schema());
        }
        if (n == 5 && seg.get(2).equals("versions") && method.equals("GET") && seg.get(4).equals("referencedby")) {
          store.version(subject, seg.get(3));
          return JSON.createArrayNode(); // references are not supported, so nothing refers to anything
        }
      }
      case "schemas" -> {
        if (n == 2 && seg.get(1).equals("types") && method.equals("GET")) {
          return strings(List.of("AVRO"));
        }
        if (n >= 3 && seg.get(1).equals("ids") && method.equals("GET")) {
          int id = parseId(seg.get(2));
          if (n == 3) {
            return JSON.createObjectNode().put("schema", store.schemaById(id));
          }
          if (n == 4 && seg.get(3).equals("schema")) {
            return JSON.getNodeFactory().textNode(store.schemaById(id));
          }
          if (n == 4 && seg.get(3).equals("versions")) {
            ArrayNode out = JSON.createArrayNode();
            store.subjectVersionsOfId(id).forEach(v ->
                out.addObject().put("subject", v.subject()).put("version", v.version()));
            return out;
          }
        }
      }
      case "config" -> {
        if (n == 1 && method.equals("GET")) {
          return JSON.createObjectNode().put("compatibilityLevel", store.globalCompatibility().name());
        }
        if (n == 1 && method.equals("PUT")) {
          Compatibility level = compatibilityOf(ex);
          store.setGlobalCompatibility(level);
          return JSON.createObjectNode().put("compatibility", level.name());
        }
        if (n == 2 && method.equals("GET")) {
          String subject = seg.get(1);
          Compatibility level = store.subjectCompatibility(subject)
              .or(() -> "true".equals(query.get("defaultToGlobal"))
                  ? Optional.of(store.globalCompatibility()) : Optional.empty())
              .orElseThrow(() -> new RegistryException("Subject '" + subject
                  + "' does not have subject-level compatibility configured", 404, 40408, null));
          return JSON.createObjectNode().put("compatibilityLevel", level.name());
        }
        if (n == 2 && method.equals("PUT")) {
          Compatibility level = compatibilityOf(ex);
          store.setSubjectCompatibility(seg.get(1), level);
          return JSON.createObjectNode().put("compatibility", level.name());
        }
        if (n == 2 && method.equals("DELETE")) {
          Compatibility was = store.subjectCompatibility(seg.get(1)).orElse(store.globalCompatibility());
          store.deleteSubjectCompatibility(seg.get(1));
          return JSON.createObjectNode().put("compatibilityLevel", was.name());
        }
      }
      case "compatibility" -> {
        if (method.equals("POST") && n >= 4 && seg.get(1).equals("subjects") && seg.get(3).equals("versions")
            && n <= 5) {
          List<String> problems = store.checkCompatibility(seg.get(2), n == 5 ? seg.get(4) : null, schemaOf(ex));
          ObjectNode out = JSON.createObjectNode().put("is_compatible", problems.isEmpty());
          if ("true".equals(query.get("verbose"))) {
            problems.forEach(out.putArray("messages")::add);
          }
          return out;
        }
      }
      case "mode" -> {
        if (method.equals("GET")) {
          return JSON.createObjectNode().put("mode", "READWRITE");
        }
      }
      default -> {
        // falls through to 404
      }
    }
    throw new RegistryException("HTTP 404 Not Found: " + method + " " + ex.getRequestURI().getPath()
        + " is not part of the embedded registry's Confluent API subset", 404, 404, null);
  }

  /** The "schema" of a Confluent register/lookup/compatibility request body, checked to be plain Avro. */
  private static String schemaOf(HttpExchange ex) throws IOException {
    JsonNode req = readBody(ex);
    String type = req.path("schemaType").asText("AVRO");
    if (!type.equals("AVRO")) {
      throw new RegistryException("Invalid schema type " + type + ": the embedded registry supports only AVRO",
          422, 42201, null);
    }
    if (req.path("references").size() > 0) {
      throw new RegistryException("Schema references are not supported by the embedded registry", 422, 42201, null);
    }
    JsonNode schema = req.get("schema");
    if (schema == null || !schema.isTextual()) {
      throw new RegistryException("Request body must be {\"schema\": \"<Avro schema JSON as a string>\"}",
          422, 42201, null);
    }
    return schema.asText();
  }

  private static Compatibility compatibilityOf(HttpExchange ex) throws IOException {
    JsonNode level = readBody(ex).get("compatibility");
    if (level == null) {
      throw new RegistryException("Request body must be {\"compatibility\": \"BACKWARD|FORWARD|FULL|...\"}",
          422, 42203, null);
    }
    return Compatibility.parse(level.asText());
  }

  private static JsonNode readBody(HttpExchange ex) throws IOException {
    try (InputStream in = ex.getRequestBody()) {
      byte[] bytes = in.readAllBytes();
      try {
        return bytes.length == 0 ? JSON.createObjectNode() : JSON.readTree(bytes);
      } catch (IOException e) {
        throw new RegistryException("Request body is not JSON: " + e.getMessage(), 400, 400, e);
      }
    }
  }

  private static int parseId(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new RegistryException("Schema id '" + s + "' is not an integer", 404, 40403, e);
    }
  }

  private static ObjectNode versionJson(SchemaStore.Version v) {
    return JSON.createObjectNode().put("subject", v.subject()).put("version", v.version()).put("id", v.id())
        .put("schema", v.schema());
  }

  private static ObjectNode error(int code, String message) {
    return JSON.createObjectNode().put("error_code", code).put("message", message);
  }

  private static ArrayNode strings(List<String> values) {
    ArrayNode a = JSON.createArrayNode();
    values.forEach(a::add);
    return a;
  }

  private static ArrayNode ints(List<Integer> values) {
    ArrayNode a = JSON.createArrayNode();
    values.forEach(a::add);
    return a;
  }

  private static String decode(String segment) {
    return URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  private static Map<String, String> query(String rawQuery) {
    Map<String, String> out = new HashMap<>();
    if (rawQuery != null) {
      for (String pair : rawQuery.split("&")) {
        int eq = pair.indexOf('=');
        out.put(decode(eq < 0 ? pair : pair.substring(0, eq)), eq < 0 ? "" : decode(pair.substring(eq + 1)));
      }
    }
    return out;
  }
}
