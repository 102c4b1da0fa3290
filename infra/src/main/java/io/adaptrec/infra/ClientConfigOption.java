package io.adaptrec.infra;

import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.ConfigKeys;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.Option;

/**
 * {@code --client-config FILE} (and {@code --client-setting KEY=VALUE} over it): the Kafka client settings a command needs to reach a secured
 * cluster, as Kafka's own tools take them ({@code --command-config}): {@code security.protocol},
 * {@code sasl.*}, {@code ssl.*}, and the registry's {@code basic.auth.user.info} under Confluent's
 * names. Every command that talks to a cluster mixes it in, so one file serves them all; the local
 * stack started with {@code up --secure} writes one. Default: {@code $ADAPTREC_CLIENT_CONFIG}, else
 * none (a PLAINTEXT cluster without registry authentication).
 */
public final class ClientConfigOption {
  @Option(names = "--client-config", paramLabel = "FILE", defaultValue = "${env:ADAPTREC_CLIENT_CONFIG}",
      description = "Kafka client settings (security.protocol, sasl.*, ssl.*) and the registry's basic.auth.user.info, "
          + "as a properties file (default: $ADAPTREC_CLIENT_CONFIG, else none).")
  Path file;

  @Option(names = "--client-setting", paramLabel = "KEY=VALUE",
      description = "One such setting, over the file's (repeatable), e.g. security.protocol=SASL_SSL.")
  Map<String, String> extra = new HashMap<>();

  private Map<String, String> settings;

  /** The file's settings (empty without a file); a file that cannot be read fails naming it. */
  public Map<String, String> settings() {
    if (settings == null) {
      Map<String, String> m = new HashMap<>();
      if (file != null && !file.toString().isBlank()) {
        Properties p;
        try {
          p = ConfigKeys.read(file);
        } catch (IOException e) {
          throw new IllegalArgumentException("--client-config " + file + " cannot be read: " + e.getMessage(), e);
        }
        if (p.containsKey("bootstrap.servers")) {
          throw new IllegalArgumentException("--client-config " + file + " sets bootstrap.servers; pass the brokers with --bootstrap");
        }
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k).trim()));
      }
      m.putAll(extra);
      if (extra.containsKey("bootstrap.servers")) {
        throw new IllegalArgumentException("--client-setting bootstrap.servers: pass the brokers with --bootstrap");
      }
      settings = Map.copyOf(m);
    }
    return settings;
  }

  /** {@code bootstrap.servers} plus the file's settings: the base of every Kafka client of the command. */
  public Properties client(String bootstrap) {
    Properties p = new Properties();
    p.putAll(settings());
    p.setProperty("bootstrap.servers", bootstrap);
    return p;
  }

  /** The registry at {@code url} with the file's serde settings (basic authentication). */
  public AvroSerdeConfig serde(String url) {
    return AvroSerdeConfig.of(Endpoints.stripSlash(url), settings());
  }
}
