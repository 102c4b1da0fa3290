package io.adaptrec.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the embedded registry's schemas across restarts of a stack with a persistent data dir.
 * The registry holds them in memory, while every Kafka record carries a schema id: after a restart
 * the old records are only readable if each schema is registered again <em>under the same id and
 * version</em>. A real Confluent registry keeps them in its {@code _schemas} topic; this does the
 * same job through the registry's own REST API, so it works with any Confluent-API registry.
 *
 * <p>The snapshot is written every {@value #PERIOD_SECONDS} s when something changed, and on close.
 * A restore that cannot reproduce an id fails loudly rather than letting records decode with the
 * wrong schema.
 */
final class RegistrySnapshot implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RegistrySnapshot.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  static final long PERIOD_SECONDS = 5;

  /** One registered schema version. */
  record Entry(String subject, int version, int id, String schema) {}

  /**
   * The file's content.
   *
   * @param compatibility the global compatibility level
   * @param subjectCompatibility subject-level overrides (subjects without one follow the global level)
   */
  record Snapshot(String compatibility, Map<String, String> subjectCompatibility, List<Entry> schemas) {}

  private final String url;
  private final String authHeader;   // null: no authentication
  private final Path file;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final ScheduledExecutorService timer;
  private Snapshot lastWritten;

  private RegistrySnapshot(String url, String userInfo, Path file) {
    this.url = url;
    this.authHeader = userInfo == null ? null
        : "Basic " + java.util.Base64.getEncoder().encodeToString(userInfo.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    this.file = file;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "registry-snapshot");
      t.setDaemon(true);
      return t;
    });
  }

  /** Restores {@code file} into the (empty) registry at {@code url} if it exists, then keeps it up to date. */
  static RegistrySnapshot attach(String url, Path file) throws IOException, InterruptedException {
    return attach(url, null, file);
  }

  /** As {@link #attach(String, Path)} for a registry that wants basic authentication ({@code userInfo} "user:password", null: none). */
  static RegistrySnapshot attach(String url, String userInfo, Path file) throws IOException, InterruptedException {
    RegistrySnapshot s = new RegistrySnapshot(url, userInfo, file);
    if (Files.exists(file)) {
      Snapshot saved = JSON.readValue(file.toFile(), Snapshot.class);
      s.restore(saved);
      s.lastWritten = saved;
      LOG.info("Restored {} schema versions into the registry from {}", saved.schemas().size(), file);
    }
    s.timer.scheduleWithFixedDelay(s::saveQuietly, PERIOD_SECONDS, PERIOD_SECONDS, TimeUnit.SECONDS);
    return s;
  }

  /**
   * Reads every subject version and the compatibility levels (subject-level ones only for subjects
   * that have versions: a level set on an empty subject is not kept).
   */
  Snapshot export() throws IOException, InterruptedException {
    List<Entry> entries = new ArrayList<>();
    Map<String, String> levels = new TreeMap<>();
    for (JsonNode subject : get("/subjects")) {
      String s = subject.asText();
      JsonNode level = send("GET", "/config/" + enc(s), null, true);
      if (level != null) {
        levels.put(s, level.path("compatibilityLevel").asText());
      }
      for (JsonNode v : get("/subjects/" + enc(s) + "/versions")) {
        JsonNode sv = get("/subjects/" + enc(s) + "/versions/" + v.asInt());
        entries.add(new Entry(s, sv.get("version").asInt(), sv.get("id").asInt(), sv.get("schema").asText()));
      }
    }
    entries.sort(Comparator.comparing(Entry::subject).thenComparingInt(Entry::version));
    return new Snapshot(get("/config").path("compatibilityLevel").asText("BACKWARD"), levels, entries);
  }

  /**
   * Registers the saved versions so that ids and versions come out as saved: a registry hands out
   * a new id only for a schema it has not seen, so schemas must first appear in id order, while
   * each subject's versions must be registered in version order. Greedily register any subject's
   * next version whose id already exists (it reuses the id), else the one introducing the next id.
   * Compatibility is NONE while restoring: every version was admitted once, possibly under a level
   * that has changed since; the saved levels are set afterwards.
   */
  void restore(Snapshot saved) throws IOException, InterruptedException {
    send("PUT", "/config", JSON.writeValueAsString(Map.of("compatibility", "NONE")));
    Map<String, List<Entry>> bySubject = new HashMap<>();
    for (Entry e : saved.schemas()) {
      bySubject.computeIfAbsent(e.subject(), k -> new ArrayList<>()).add(e);
    }
    bySubject.values().forEach(l -> l.sort(Comparator.comparingInt(Entry::version)));
    Map<String, Integer> next = new HashMap<>();
    int maxId = 0;
    int remaining = saved.schemas().size();
    while (remaining > 0) {
      Entry pick = null;
      for (Map.Entry<String, List<Entry>> s : bySubject.entrySet()) {
        int i = next.getOrDefault(s.getKey(), 0);
        if (i >= s.getValue().size()) {
          continue;
        }
        Entry candidate = s.getValue().get(i);
        if (candidate.id() <= maxId || (pick == null && candidate.id() == maxId + 1)) {
          pick = candidate;
          if (candidate.id() <= maxId) {
            break;
          }
        }
      }
      if (pick == null) {
        throw new IllegalStateException("Registry snapshot " + file + " cannot be restored with its original ids"
            + " (gaps from deleted schemas?). Remove the data dir, or restore into a real registry.");
      }
      JsonNode reply = send("POST", "/subjects/" + enc(pick.subject()) + "/versions",
          JSON.writeValueAsString(Map.of("schema", pick.schema())));
      int id = reply.path("id").asInt(-1);
      if (id != pick.id()) {
        throw new IllegalStateException("Registry snapshot " + file + ": subject " + pick.subject() + " version "
            + pick.version() + " came back as id " + id + " instead of " + pick.id()
            + "; records written before the restart would decode with the wrong schema. Remove the data dir.");
      }
      maxId = Math.max(maxId, id);
      next.merge(pick.subject(), 1, Integer::sum);
      remaining--;
    }
    for (Map.Entry<String, String> level : saved.subjectCompatibility().entrySet()) {
      send("PUT", "/config/" + enc(level.getKey()), JSON.writeValueAsString(Map.of("compatibility", level.getValue())));
    }
    send("PUT", "/config", JSON.writeValueAsString(Map.of("compatibility", saved.compatibility())));
  }

  /** Writes the snapshot if it changed since the last write (atomically: never a torn file). */
  synchronized void save() throws IOException, InterruptedException {
    Snapshot now = export();
    if (now.equals(lastWritten)) {
      return;
    }
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), now);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    lastWritten = now;
  }

  private void saveQuietly() {
    try {
      save();
    } catch (Exception e) {
      LOG.warn("Could not write the registry snapshot {}: {}", file, e.toString());
    }
  }

  @Override
  public void close() throws Exception {
    timer.shutdownNow();
    timer.awaitTermination(5, TimeUnit.SECONDS);
    save();
  }

  private JsonNode get(String path) throws IOException, InterruptedException {
    return send("GET", path, null, false);
  }

  private JsonNode send(String method, String path, String body) throws IOException, InterruptedException {
    return send(method, path, body, false);
  }

  /** @param absentIsNull a 404 answers null instead of failing (e.g. a subject without its own level) */
  private JsonNode send(String method, String path, String body, boolean absentIsNull) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(10))
        .header("Accept", CONTENT_TYPE)
        .header(io.adaptrec.schemas.EmbeddedSchemaRegistry.RESTORE_HEADER, "true");
    if (authHeader != null) {
      b.header("Authorization", authHeader);
    }
    if (body != null) {
      b.header("Content-Type", CONTENT_TYPE).method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (absentIsNull && r.statusCode() == 404) {
      return null;
    }
    if (r.statusCode() / 100 != 2) {
      throw new IOException(method + " " + url + path + " answered " + r.statusCode() + ": " + r.body());
    }
    return JSON.readTree(r.body());
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
