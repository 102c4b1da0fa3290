package io.adaptrec.schemas;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.Incompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;

/**
 * Confluent's compatibility levels. "Backward" means consumers on the new schema can read data
 * written with the old one (so upgrade consumers first); "forward" the opposite; "full" both.
 * Non-transitive levels check only against the latest version.
 */
public enum Compatibility {
  NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE;

  /**
   * @throws IllegalArgumentException listing the accepted values
   */
  public static Compatibility parse(String level) {
    try {
      return valueOf(level.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new IllegalArgumentException("Invalid compatibility level '" + level + "'; valid: "
          + List.of(values()), e);
    }
  }

  public boolean transitive() {
    return name().endsWith("_TRANSITIVE");
  }

  /**
   * Why {@code candidate} may not follow {@code existing} (oldest first); empty when it may.
   * Each message names the version it clashes with and Avro's reason.
   */
  public List<String> violations(Schema candidate, List<Schema> existing, List<Integer> versions) {
    List<String> out = new ArrayList<>();
    if (this == NONE || existing.isEmpty()) {
      return out;
    }
    int from = transitive() ? 0 : existing.size() - 1;
    for (int i = existing.size() - 1; i >= from; i--) {
      Schema old = existing.get(i);
      int version = versions.get(i);
      if (this != FORWARD && this != FORWARD_TRANSITIVE) {
        describe(SchemaCompatibility.checkReaderWriterCompatibility(candidate, old),
            "the new schema cannot read data written with version " + version, out);
      }
      if (this != BACKWARD && this != BACKWARD_TRANSITIVE) {
        describe(SchemaCompatibility.checkReaderWriterCompatibility(old, candidate),
            "version " + version + " cannot read data written with the new schema", out);
      }
    }
    return out;
  }

  private static void describe(SchemaCompatibility.SchemaPairCompatibility pair, String what, List<String> out) {
    if (pair.getType() == SchemaCompatibilityType.COMPATIBLE) {
      return;
    }
    for (Incompatibility inc : pair.getResult().getIncompatibilities()) {
      out.add(what + ": " + inc.getType() + " at " + inc.getLocation() + " (" + inc.getMessage() + ")");
    }
  }
}
