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
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Configuration keys declared as data (name, default, allowed range, meaning) and a parser that
 * validates values against them. Roles declare their keys once (a {@code List<Key>}) and read typed
 * values in their config record's factory; the role's sample properties file documents the same keys.
 *
 * <p>Two ways to parse, one per style a role has settled on:
 * <ul>
 *   <li>{@link #parse} (collecting): every problem is collected and {@link #check} throws once,
 *       listing all of them, each naming the key and its declared range. Values are stripped of
 *       surrounding white space and integers may use {@code _} separators. Keys starting with
 *       {@code kafka.} are passed through to the Kafka clients with the prefix removed ({@link
 *       #kafka}); any other undeclared key is a problem.</li>
 *   <li>{@link #failFast}: the first problem throws at once; an undeclared key is rejected before
 *       anything is read, and there is no pass-through ({@code kafka.}-named keys are ordinary
 *       declared keys). Values are used as given (numbers may carry surrounding white space) and
 *       messages name the key and the numeric bounds, e.g. {@code pool.size must be in [1, 1000],
 *       was 0}.</li>
 * </ul>
 */
public final class ConfigKeys {

  /** One configuration key: name, default (null = required), allowed range, meaning. */
  public record Key(String name, String defaultValue, String range, String doc) {}

  private static final String KAFKA = "kafka.";

  private final String role;
  private final List<Key> keys;
  private final Function<String, String> values;
  private final boolean failFast;
  private final List<String> errors = new ArrayList<>();
  private final Map<String, String> kafka = new LinkedHashMap<>();

  private ConfigKeys(String role, List<Key> keys, Function<String, String> values, boolean failFast) {
    this.role = role;
    this.keys = List.copyOf(keys);
    this.values = values;
    this.failFast = failFast;
  }

  /** A collecting parser over {@code props}; unknown keys (other than {@code kafka.*}) are errors. */
  public static ConfigKeys parse(String role, List<Key> keys, Properties props) {
    ConfigKeys in = new ConfigKeys(role, keys, props::getProperty, false);
    for (String name : new TreeSet<>(props.stringPropertyNames())) {
      if (name.startsWith(KAFKA)) {
        in.kafka.put(name.substring(KAFKA.length()), props.getProperty(name));
      } else if (!in.declared(name)) {
        in.errors.add("unknown key '" + name + "'");
      }
    }
    return in;
  }

  /**
   * A fail-fast parser over {@code values}: throws at once on the first undeclared key (in the map's
   * order), and every read below throws on its first problem.
   */
  public static ConfigKeys failFast(List<Key> keys, Map<String, String> values) {
    ConfigKeys in = new ConfigKeys(null, keys, values::get, true);
    for (String name : values.keySet()) {
      if (!in.declared(name)) {
        throw new IllegalArgumentException("unknown config key '" + name + "'; known keys: "
            + keys.stream().map(Key::name).toList());
      }
    }
    return in;
  }

  /** Reads a properties file (UTF-8) as it stands. */
  public static Properties read(Path file) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    }
    return p;
  }

  /** Reads a properties file; system properties with a declared key's name override it. */
  public static Properties load(Path file, List<Key> keys) {
    Properties p = new Properties();
    if (file != null) {
      try {
        p = read(file);
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

  private boolean declared(String name) {
    return keys.stream().anyMatch(k -> k.name().equals(name));
  }

  private Key key(String name) {
    return keys.stream().filter(k -> k.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("undeclared key " + name));
  }

  private String range(String name) {
    return key(name).range();
  }

  /** Records a problem (collecting) or throws it (fail-fast), each style with its own wording. */
  /** A problem no single key shows (two keys that do not go together), reported like the others. */
  public void invalid(String message) {
    problem(message, message);
  }

  private void problem(String collected, String thrown) {
    if (failFast) {
      throw new IllegalArgumentException(thrown);
    }
    errors.add(collected);
  }

  private String raw(String name) {
    String v = values.apply(name);
    if (v == null) {
      v = key(name).defaultValue();
    }
    if (v == null) {
      String required = name + " is required; expected " + range(name);
      problem(required, required);
      return "";
    }
    return failFast ? v : v.strip();
  }

  /** The value as given (or its default), without further checks. */
  public String text(String name) {
    return raw(name);
  }

  public String text(String name, Predicate<String> ok) {
    String v = raw(name);
    if (!ok.test(v)) {
      problem(name + "='" + v + "' is not allowed; expected " + range(name),
          name + " must be " + range(name) + ", was '" + v + "'");
    }
    return v;
  }

  /** A value that must not be blank ({@code text(name, s -> !s.isBlank())} in the collecting style). */
  public String nonBlank(String name) {
    String v = raw(name);
    if (v.isBlank()) {
      problem(name + "='" + v + "' is not allowed; expected " + range(name), name + " must not be empty");
    }
    return v;
  }

  public long integer(String name, long min, long max) {
    String v = raw(name);
    long x;
    try {
      x = Long.parseLong(failFast ? v.trim() : v.replace("_", ""));
    } catch (NumberFormatException e) {
      problem(name + "='" + v + "' is not an integer; expected " + range(name),
          name + " must be an integer in [" + min + ", " + max + "], was '" + v + "'");
      return min;
    }
    if (x < min || x > max) {
      problem(name + "=" + x + " is out of range " + range(name),
          name + " must be in [" + min + ", " + max + "], was " + x);
    }
    return Math.max(min, Math.min(max, x));
  }

  /** A number in [min, max]. */
  public double decimal(String name, double min, double max) {
    return decimal(name, min, max, true);
  }

  /** A number in [min, max], or in (min, max] where {@code minInclusive} is false. */
  public double decimal(String name, double min, double max, boolean minInclusive) {
    String v = raw(name);
    String bounds = (minInclusive ? "[" : "(") + min + ", " + max + "]";
    double x;
    try {
      x = Double.parseDouble(failFast ? v.trim() : v);
    } catch (NumberFormatException e) {
      problem(name + "='" + v + "' is not a number; expected " + range(name),
          name + " must be a number in " + bounds + ", was '" + v + "'");
      return max;
    }
    if (!((minInclusive ? x >= min : x > min) && x <= max)) {
      problem(name + "=" + v + " is out of range " + range(name), name + " must be in " + bounds + ", was " + x);
      return max;
    }
    return x;
  }

  public boolean bool(String name) {
    String v = raw(name).toLowerCase(Locale.ROOT);
    if (!v.equals("true") && !v.equals("false")) {
      problem(name + "='" + v + "' is not allowed; expected true | false", name + " must be true or false, was '" + v + "'");
    }
    return v.equals("true");
  }

  /** The {@code kafka.*} pass-through settings, prefix removed (always empty when fail-fast). */
  public Map<String, String> kafka() {
    return Map.copyOf(kafka);
  }

  /** Throws one exception listing every problem found so far, if any (fail-fast has thrown already). */
  public void check() {
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException("invalid " + role + " configuration:\n  " + String.join("\n  ", errors));
    }
  }
}
