package io.adaptrec.schemas;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * The in-memory state of {@link EmbeddedSchemaRegistry}: global ids, subjects with their
 * versions, compatibility levels. All methods are synchronized; the registry is a test and
 * local-stack component where simplicity beats concurrency.
 *
 * <p>Errors are thrown as {@link RegistryException} carrying Confluent's HTTP status and
 * error_code, which the HTTP layer turns into Confluent's error JSON.
 */
final class SchemaStore {
  /** One version of a subject. */
  record Version(String subject, int version, int id, String schema) {}

  private final Map<Integer, String> schemaById = new HashMap<>();
  private final Map<String, Integer> idByCanonical = new HashMap<>();
  private final Map<String, List<Version>> subjects = new TreeMap<>();
  private final Map<String, Compatibility> subjectCompatibility = new HashMap<>();
  private Compatibility globalCompatibility = Compatibility.BACKWARD;
  private int nextId = 1;

  /** Registers {@code schemaText} under {@code subject}, or returns its id if already there. */
  synchronized int register(String subject, String schemaText) {
    Schema schema = parse(schemaText);
    String canonical = schema.toString();
    List<Version> versions = subjects.getOrDefault(subject, List.of());
    for (Version v : versions) {
      if (v.schema().equals(canonical)) {
        return v.id();
      }
    }
    List<String> violations = violations(subject, schema);
    if (!violations.isEmpty()) {
      throw new RegistryException("Schema being registered is incompatible with an earlier schema for subject \""
          + subject + "\" (compatibility " + compatibility(subject) + "): " + String.join("; ", violations),
          409, 409, null);
    }
    // ids are global and deduplicated: the same schema under two subjects has one id
    int id = idByCanonical.computeIfAbsent(canonical, c -> {
      schemaById.put(nextId, c);
      return nextId++;
    });
    int version = versions.isEmpty() ? 1 : versions.get(versions.size() - 1).version() + 1;
    subjects.computeIfAbsent(subject, s -> new ArrayList<>()).add(new Version(subject, version, id, canonical));
    return id;
  }

  /** The version of {@code subject} holding {@code schemaText}. */
  synchronized Version lookup(String subject, String schemaText) {
    String canonical = parse(schemaText).toString();
    return versionsOf(subject).stream()
        .filter(v -> v.schema().equals(canonical))
        .findFirst()
        .orElseThrow(() -> new RegistryException("Schema not found in subject " + subject, 404, 40403, null));
  }

  synchronized String schemaById(int id) {
    String s = schemaById.get(id);
    if (s == null) {
      throw new RegistryException("Schema " + id + " not found", 404, 40403, null);
    }
    return s;
  }

  synchronized List<Version> subjectVersionsOfId(int id) {
    schemaById(id);
    List<Version> out = new ArrayList<>();
    subjects.values().forEach(vs -> vs.stream().filter(v -> v.id() == id).forEach(out::add));
    return out;
  }

  synchronized List<String> subjects() {
    return List.copyOf(subjects.keySet());
  }

  synchronized List<Integer> versions(String subject) {
    return versionsOf(subject).stream().map(Version::version).toList();
  }

  /** {@code version} is a positive number, "latest" or -1 (Confluent's alias for latest). */
  synchronized Version version(String subject, String version) {
    List<Version> versions = versionsOf(subject);
    if (isLatest(version)) {
      return versions.get(versions.size() - 1);
    }
    int n = parseVersion(version);
    return versions.stream().filter(v -> v.version() == n).findFirst()
        .orElseThrow(() -> new RegistryException("Version " + n + " not found for subject " + subject,
            404, 40402, null));
  }

  /** Deletes the subject; returns the versions it had. Schema ids stay resolvable, as in Confluent. */
  synchronized List<Integer> deleteSubject(String subject) {
    List<Integer> versions = versions(subject);
    subjects.remove(subject);
    subjectCompatibility.remove(subject);
    return versions;
  }

  /**
   * Checks {@code schemaText} against the subject's versions per its compatibility level, or
   * against one given version only. A subject without versions accepts anything.
   */
  synchronized List<String> checkCompatibility(String subject, String version, String schemaText) {
    Schema schema = parse(schemaText);
    if (version == null) {
      return violations(subject, schema);
    }
    List<Version> versions = subjects.getOrDefault(subject, List.of());
    if (versions.isEmpty() && isLatest(version)) {
      return List.of();
    }
    Version v = version(subject, version);
    Compatibility level = compatibility(subject);
    // against a single named version the transitive flavour means nothing
    Compatibility single = level.transitive() ? Compatibility.valueOf(level.name().replace("_TRANSITIVE", "")) : level;
    return single.violations(schema, List.of(new Schema.Parser().parse(v.schema())), List.of(v.version()));
  }

  synchronized Compatibility globalCompatibility() {
    return globalCompatibility;
  }

  synchronized void setGlobalCompatibility(Compatibility level) {
    globalCompatibility = level;
  }

  synchronized Optional<Compatibility> subjectCompatibility(String subject) {
    return Optional.ofNullable(subjectCompatibility.get(subject));
  }

  synchronized void setSubjectCompatibility(String subject, Compatibility level) {
    subjectCompatibility.put(subject, level);
  }

  synchronized void deleteSubjectCompatibility(String subject) {
    subjectCompatibility.remove(subject);
  }

  private Compatibility compatibility(String subject) {
    return subjectCompatibility.getOrDefault(subject, globalCompatibility);
  }

  private List<String> violations(String subject, Schema schema) {
    List<Version> versions = subjects.getOrDefault(subject, List.of());
    List<Schema> existing = new ArrayList<>();
    for (Version v : versions) {
      existing.add(new Schema.Parser().parse(v.schema()));
    }
    return compatibility(subject).violations(schema, existing, versions.stream().map(Version::version).toList());
  }

  private List<Version> versionsOf(String subject) {
    List<Version> versions = subjects.get(subject);
    if (versions == null || versions.isEmpty()) {
      throw new RegistryException("Subject '" + subject + "' not found.", 404, 40401, null);
    }
    return versions;
  }

  private static boolean isLatest(String version) {
    return "latest".equals(version) || "-1".equals(version);
  }

  private static int parseVersion(String version) {
    try {
      int n = Integer.parseInt(version);
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // reported below with the accepted forms
    }
    throw new RegistryException("The specified version '" + version
        + "' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"",
        422, 42202, null);
  }

  private static Schema parse(String schemaText) {
    if (schemaText == null || schemaText.isBlank()) {
      throw new RegistryException("Empty schema", 422, 42201, null);
    }
    try {
      return new Schema.Parser().parse(schemaText);
    } catch (SchemaParseException | NullPointerException e) {
      throw new RegistryException("Invalid schema: " + e.getMessage(), 422, 42201, e);
    }
  }
}
