package io.adaptrec.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * Client of the Confluent Schema Registry REST API (the subset a serde needs), with the caches
 * that keep it off the hot path: after the first record of a type, serializing and deserializing
 * make no HTTP calls.
 *
 * <p>Thread-safe; share one instance among all serdes of a process (each JDK HttpClient owns a
 * selector thread).
 */
public final class RegistryClient {
  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A subject's schema at one version. */
  public record SchemaVersion(String subject, int version, int id, Schema schema) {}

  private record SubjectSchema(String subject, String canonical) {}

  private record CachedLatest(SchemaVersion value, long fetchedAtNanos) {}

  private final AvroSerdeConfig config;
  private final List<URI> baseUrls;
  private final String authHeader;
  private final HttpClient http;

  private final Map<SubjectSchema, Integer> idBySubjectSchema = new ConcurrentHashMap<>();
  private final Map<Integer, Schema> schemaById = new ConcurrentHashMap<>();
  private final Map<String, CachedLatest> latestBySubject = new ConcurrentHashMap<>();

  public RegistryClient(AvroSerdeConfig config) {
    this.config = config;
    this.baseUrls = config.registryUrls().stream().map(RegistryClient::withoutUserInfo).toList();
    this.authHeader = config.basicAuthUserInfo() == null
        ? null
        : "Basic " + Base64.getEncoder().encodeToString(config.basicAuthUserInfo().getBytes(StandardCharsets.UTF_8));
    this.http = HttpClient.newBuilder()
        .connectTimeout(Duration.ofMillis(config.requestTimeoutMillis()))
        .build();
  }

  public AvroSerdeConfig config() {
    return config;
  }

  /** The registry URLs as configured (credentials removed), for messages. */
  public String urls() {
    return baseUrls.toString();
  }

  /** Registers {@code schema} under {@code subject} (a no-op returning the id if it is there). */
  public int register(String subject, Schema schema) {
    String canonical = schema.toString();
    return idBySubjectSchema.computeIfAbsent(new SubjectSchema(subject, canonical), k -> {
      JsonNode r = call("POST", "/subjects/" + enc(subject) + "/versions", schemaBody(canonical));
      int id = r.get("id").asInt();
      schemaById.putIfAbsent(id, schema);
      return id;
    });
  }

  /**
   * The id of {@code schema} in {@code subject}, without registering it.
   *
   * @throws RegistryException with {@link RegistryException#isNotFound()} when not registered
   */
  public int lookupId(String subject, Schema schema) {
    String canonical = schema.toString();
    return idBySubjectSchema.computeIfAbsent(new SubjectSchema(subject, canonical), k -> {
      JsonNode r = call("POST", "/subjects/" + enc(subject), schemaBody(canonical));
      int id = r.get("id").asInt();
      schemaById.putIfAbsent(id, schema);
      return id;
    });
  }

  /** The schema with global id {@code id}; cached forever, as ids are immutable. */
  public Schema schemaById(int id) {
    return schemaById.computeIfAbsent(id, k -> {
      JsonNode r = call("GET", "/schemas/ids/" + id, null);
      return parse(r.get("schema").asText(), "schema id " + id);
    });
  }

  /** The latest version of {@code subject}, reused for {@code latest.cache.ttl.sec}. */
  public SchemaVersion latest(String subject) {
    long ttl = config.latestCacheTtlSeconds();
    CachedLatest cached = latestBySubject.get(subject);
    if (cached != null && (ttl < 0 || System.nanoTime() - cached.fetchedAtNanos() < ttl * 1_000_000_000L)) {
      return cached.value();
    }
    SchemaVersion v = version(subject, "latest");
    latestBySubject.put(subject, new CachedLatest(v, System.nanoTime()));
    return v;
  }

  /** {@code version} is a number or "latest"; never cached. */
  public SchemaVersion version(String subject, String version) {
    JsonNode r = call("GET", "/subjects/" + enc(subject) + "/versions/" + enc(version), null);
    Schema schema = parse(r.get("schema").asText(), "subject " + subject);
    int id = r.get("id").asInt();
    schemaById.putIfAbsent(id, schema);
    return new SchemaVersion(r.get("subject").asText(), r.get("version").asInt(), id, schema);
  }

  /** Whether {@code schema} could be registered under {@code subject} given its compatibility level. */
  public boolean isCompatible(String subject, Schema schema) {
    JsonNode r = call("POST", "/compatibility/subjects/" + enc(subject) + "/versions/latest",
        schemaBody(schema.toString()));
    return r.get("is_compatible").asBoolean();
  }

  /** Sets the compatibility level of {@code subject}, or the global one when subject is null. */
  public void setCompatibility(String subject, String level) {
    ObjectNode body = JSON.createObjectNode().put("compatibility", level);
    call("PUT", subject == null ? "/config" : "/config/" + enc(subject), body);
  }

  public List<String> subjects() {
    List<String> out = new ArrayList<>();
    call("GET", "/subjects", null).forEach(n -> out.add(n.asText()));
    return out;
  }

  private static ObjectNode schemaBody(String canonical) {
    return JSON.createObjectNode().put("schema", canonical);
  }

  private static Schema parse(String text, String what) {
    try {
      return new Schema.Parser().parse(text);
    } catch (RuntimeException e) {
      throw new RegistryException("Registry returned an unparseable Avro schema for " + what + ": "
          + e.getMessage(), 200, -1, e);
    }
  }

  /** Tries each base URL in turn; only connection failures move on to the next one. */
  private JsonNode call(String method, String path, JsonNode body) {
    IOException lastFailure = null;
    for (URI base : baseUrls) {
      URI uri = URI.create(base.toString().replaceAll("/+$", "") + path);
      HttpRequest.Builder req = HttpRequest.newBuilder(uri)
          .timeout(Duration.ofMillis(config.requestTimeoutMillis()))
          .header("Accept", CONTENT_TYPE + ", application/json");
      if (authHeader != null) {
        req.header("Authorization", authHeader);
      }
      if (body == null) {
        req.method(method, HttpRequest.BodyPublishers.noBody());
      } else {
        req.header("Content-Type", CONTENT_TYPE)
            .method(method, HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8));
      }
      HttpResponse<String> resp;
      try {
        resp = http.send(req.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      } catch (IOException e) {
        lastFailure = e;
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RegistryException("Interrupted while calling schema registry " + uri, -1, -1, e);
      }
      return parseResponse(method, uri, resp);
    }
    String reason = lastFailure == null ? "no URL" : lastFailure.getClass().getSimpleName()
        + (lastFailure.getMessage() == null ? "" : ": " + lastFailure.getMessage());
    throw new RegistryException("Schema registry unreachable at " + baseUrls + " (" + reason + ")",
        -1, -1, lastFailure);
  }

  private static JsonNode parseResponse(String method, URI uri, HttpResponse<String> resp) {
    JsonNode json;
    try {
      json = resp.body().isEmpty() ? JSON.nullNode() : JSON.readTree(resp.body());
    } catch (IOException e) {
      throw new RegistryException("Schema registry " + method + " " + uri + " answered HTTP " + resp.statusCode()
          + " with a body that is not JSON: " + abbreviate(resp.body()), resp.statusCode(), -1, e);
    }
    if (resp.statusCode() / 100 == 2) {
      return json;
    }
    int code = json.path("error_code").asInt(resp.statusCode());
    String message = json.path("message").asText(abbreviate(resp.body()));
    throw new RegistryException("Schema registry " + method + " " + uri + " failed: HTTP " + resp.statusCode()
        + " error_code " + code + ": " + message, resp.statusCode(), code, null);
  }

  private static String abbreviate(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "...";
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static URI withoutUserInfo(String url) {
    URI u = URI.create(url);
    if (u.getUserInfo() == null) {
      return u;
    }
    return URI.create(u.getScheme() + "://" + u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort())
        + (u.getRawPath() == null ? "" : u.getRawPath()));
  }
}
