package io.adaptrec.schemas;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Configuration keys declared as data (name, default, allowed range, meaning) and a parser that
 * validates a {@link Properties} against them, collecting every problem before failing, each one
 * naming the key and its range. Keys starting with {@code kafka.} are passed through to the Kafka
 * clients with the prefix removed (security settings for a real cluster, client tuning).
 *
 * <p>Roles declare their keys once (a {@code List<Key>}) and read typed values in their config
 * record's factory; the role's sample properties file documents the same keys.
 */
public final class ConfigKeys {

  /** One configuration key: name, default (null = required), allowed range, meaning. */
  public record Key(String name, String defaultValue, String range, String doc) {}

  private final String role;
  private final List<Key> keys;
  private final Properties props;
  private final List<String> errors = new ArrayList<>();
  private final Map<String, String> kafka = new LinkedHashMap<>();

  private ConfigKeys(String role, List<Key> keys, Properties props) {
    this.role = role;
    this.keys = List.copyOf(keys);
    this.props = props;
    for (String name : new TreeSet<>(props.stringPropertyNames())) {
      if (name.startsWith("kafka.")) {
        kafka.put(name.substring("kafka.".length()), props.getProperty(name));
      } else if (keys.stream().noneMatch(k -> k.name().equals(name))) {
        errors.add("unknown key '" + name + "'");
      }
    }
  }

  /** A parser over {@code props}; unknown keys (other than {@code kafka.*}) are errors. */
  public static ConfigKeys parse(String role, List<Key> keys, Properties props) {
    return new ConfigKeys(role, keys, props);
  }

  /** Reads a properties file; system properties with a declared key's name override it. */
  public static Properties load(Path file, List<Key> keys) {
    Properties p = new Properties();
    if (file != null) {
      try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(r);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read config file " + file + ": " + e.getMessage(), e);
      }
    }
    for (Key k : keys) {
      String sys = System.getProperty(k.name());
      if (sys != null) {
        p.setProperty(k.name(), sys);
      }
    }
    return p;
  }

  private Key key(String name) {
    return keys.stream().filter(k -> k.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("undeclared key " + name));
  }

  private String raw(String name) {
    String v = props.getProperty(name);
    if (v == null) {
      v = key(name).defaultValue();
    }
    if (v == null) {
      errors.add(name + " is required; expected " + key(name).range());
      return "";
    }
    return v.strip();
  }

  public String text(String name, Predicate<String> ok) {
    String v = raw(name);
    if (!ok.test(v)) {
      errors.add(name + "='" + v + "' is not allowed; expected " + key(name).range());
    }
    return v;
  }

  public long integer(String name, long min, long max) {
    String v = raw(name);
    try {
      long x = Long.parseLong(v.replace("_", ""));
      if (x < min || x > max) {
        errors.add(name + "=" + x + " is out of range " + key(name).range());
      }
      return Math.max(min, Math.min(max, x));
    } catch (NumberFormatException e) {
      errors.add(name + "='" + v + "' is not an integer; expected " + key(name).range());
      return min;
    }
  }

  public double decimal(String name, double min, double max) {
    String v = raw(name);
    try {
      double x = Double.parseDouble(v);
      if (!(x >= min && x <= max)) {
        errors.add(name + "=" + v + " is out of range " + key(name).range());
        return max;
      }
      return x;
    } catch (NumberFormatException e) {
      errors.add(name + "='" + v + "' is not a number; expected " + key(name).range());
      return max;
    }
  }

  public boolean bool(String name) {
    String v = raw(name).toLowerCase(Locale.ROOT);
    if (!v.equals("true") && !v.equals("false")) {
      errors.add(name + "='" + v + "' is not allowed; expected true | false");
    }
    return v.equals("true");
  }

  /** The {@code kafka.*} pass-through settings, prefix removed. */
  public Map<String, String> kafka() {
    return Map.copyOf(kafka);
  }

  /** Throws one exception listing every problem found so far, if any. */
  public void check() {
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException("invalid " + role + " configuration:\n  " + String.join("\n  ", errors));
    }
  }
}
