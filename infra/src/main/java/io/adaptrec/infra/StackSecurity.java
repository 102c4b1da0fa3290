package io.adaptrec.infra;

import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.ConfigKeys;
import io.adaptrec.schemas.EmbeddedKafkaBroker;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The credentials of a {@code --secure} local stack: one SASL/SCRAM user per role (and one for the
 * broker itself and one for CLI clients), and one basic-auth user of the registry. Random
 * passwords, made once and kept in {@code credentials.properties} (owner-only) in the data dir, so
 * a stack restarted on the same data dir keeps them; nothing is hard-coded.
 */
final class StackSecurity {
  static final String BROKER = "broker";
  static final String STREAMS = "streams";
  static final String POOLS = "pools";
  static final String WORKER = "worker";
  static final String TRAINER = "trainer";
  static final String CONTROLLER = "controller";
  /** The CLI tools, the gateway and the dashboard. */
  static final String CLIENT = "client";
  static final List<String> USERS = List.of(BROKER, STREAMS, POOLS, WORKER, TRAINER, CONTROLLER, CLIENT);
  private static final String REGISTRY_KEY = "registry.basic.auth.user.info";
  private static final String REGISTRY_USER = "adaptrec";

  private final Map<String, String> passwords;
  private final String registryUserInfo;

  private StackSecurity(Map<String, String> passwords, String registryUserInfo) {
    this.passwords = Map.copyOf(passwords);
    this.registryUserInfo = registryUserInfo;
  }

  /** Reads {@code dir/credentials.properties}, or makes and writes it (mode 600 where the file system has modes). */
  static StackSecurity loadOrCreate(Path dir) throws IOException {
    Path file = dir.resolve("credentials.properties");
    Properties p = Files.exists(file) ? ConfigKeys.read(file) : new Properties();
    boolean changed = false;
    SecureRandom random = new SecureRandom();
    Map<String, String> passwords = new TreeMap<>();
    for (String user : USERS) {
      String key = "scram." + user;
      if (p.getProperty(key) == null) {
        p.setProperty(key, password(random));
        changed = true;
      }
      passwords.put(user, p.getProperty(key));
    }
    if (p.getProperty(REGISTRY_KEY) == null) {
      p.setProperty(REGISTRY_KEY, REGISTRY_USER + ":" + password(random));
      changed = true;
    }
    if (changed) {
      writePrivate(file, p, "credentials of this secured local stack: SCRAM passwords per user, the registry's basic auth");
    }
    return new StackSecurity(passwords, p.getProperty(REGISTRY_KEY));
  }

  private static String password(SecureRandom random) {
    byte[] b = new byte[18];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  EmbeddedKafkaBroker.Scram scram() {
    return new EmbeddedKafkaBroker.Scram(BROKER, passwords);
  }

  String registryUserInfo() {
    return registryUserInfo;
  }

  /**
   * The Kafka client settings (Kafka's and Confluent's own names) of {@code user}: SASL/SCRAM to the
   * broker and basic authentication to the registry. Every role takes these as its {@code kafka.*}
   * pass-through (the pools job as {@code kafka.client.*}).
   */
  Map<String, String> settings(String user) {
    Map<String, String> m = new LinkedHashMap<>(scram().clientSettings(user));
    m.put(AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO");
    m.put(AvroSerdeConfig.BASIC_AUTH_USER_INFO, registryUserInfo);
    return m;
  }

  /** {@code settings} with each key prefixed (a role's pass-through). */
  static Map<String, String> prefixed(String prefix, Map<String, String> settings) {
    Map<String, String> m = new LinkedHashMap<>();
    settings.forEach((k, v) -> m.put(prefix + k, v));
    return m;
  }

  /** Writes the {@link #CLIENT} user's settings to {@code file} (owner-only): what {@code --client-config} reads. */
  void writeClientConfig(Path file) throws IOException {
    Properties p = new Properties();
    p.putAll(settings(CLIENT));
    writePrivate(file, p, "client settings of this secured local stack: pass to any adaptrec command as --client-config "
        + file.getFileName());
  }

  private static void writePrivate(Path file, Properties p, String comment) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp);
    try {
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: the data dir's own permissions are all there is
    }
    try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
      p.store(w, comment);
    }
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
