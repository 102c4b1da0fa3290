package io.adaptrec.schemas;

import java.io.Serializable;
import java.net.URI;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;

/**
 * Settings of the Avro serde, under Confluent's own property names so that a Kafka client config
 * written for Confluent's {@code KafkaAvroSerializer} works unchanged (and vice versa).
 *
 * <p>Serializable so Flink operators can carry it; the registry client itself is rebuilt from it
 * on the task manager.
 *
 * @param registryUrls {@code schema.registry.url}: one or more base URLs, tried in order
 * @param autoRegisterSchemas {@code auto.register.schemas} (default true): register the writer
 *     schema if the subject does not hold it yet
 * @param useLatestVersion {@code use.latest.version} (default false): write with the subject's
 *     latest schema instead of the record's own (only with auto.register.schemas=false)
 * @param specificAvroReader {@code specific.avro.reader} (default true here, false in Confluent):
 *     deserialize into generated classes when no target type was given
 * @param basicAuthUserInfo {@code basic.auth.user.info} ("user:password") when
 *     {@code basic.auth.credentials.source} is USER_INFO, or taken from the URL's user-info when it
 *     is URL; null for no authentication
 * @param latestCacheTtlSeconds {@code latest.cache.ttl.sec} (default -1 = forever): how long the
 *     latest schema looked up for use.latest.version is reused
 * @param requestTimeoutMillis {@code schema.registry.request.timeout.ms} (default 10000): per-request
 *     HTTP timeout
 */
public record AvroSerdeConfig(
    List<String> registryUrls,
    boolean autoRegisterSchemas,
    boolean useLatestVersion,
    boolean specificAvroReader,
    String basicAuthUserInfo,
    long latestCacheTtlSeconds,
    long requestTimeoutMillis)
    implements Serializable {

  public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
  public static final String AUTO_REGISTER_SCHEMAS = "auto.register.schemas";
  public static final String USE_LATEST_VERSION = "use.latest.version";
  public static final String SPECIFIC_AVRO_READER = "specific.avro.reader";
  public static final String BASIC_AUTH_CREDENTIALS_SOURCE = "basic.auth.credentials.source";
  public static final String BASIC_AUTH_USER_INFO = "basic.auth.user.info";
  public static final String LATEST_CACHE_TTL_SEC = "latest.cache.ttl.sec";
  public static final String REQUEST_TIMEOUT_MS = "schema.registry.request.timeout.ms";

  private static final long serialVersionUID = 1L;

  public AvroSerdeConfig {
    if (registryUrls == null || registryUrls.isEmpty()) {
      throw new ConfigException(SCHEMA_REGISTRY_URL + " is required (e.g. http://127.0.0.1:8081)");
    }
    registryUrls = List.copyOf(registryUrls);
    for (String url : registryUrls) {
      checkUrl(url);
    }
    if (autoRegisterSchemas && useLatestVersion) {
      throw new ConfigException(
          USE_LATEST_VERSION + "=true requires " + AUTO_REGISTER_SCHEMAS + "=false (as in Confluent's serde)");
    }
    if (basicAuthUserInfo != null && !basicAuthUserInfo.contains(":")) {
      throw new ConfigException(BASIC_AUTH_USER_INFO + " must look like 'user:password'");
    }
    if (requestTimeoutMillis <= 0) {
      throw new ConfigException(REQUEST_TIMEOUT_MS + " must be > 0, got " + requestTimeoutMillis);
    }
  }

  /** Defaults for a registry at {@code url}: auto-register, read into generated classes. */
  public static AvroSerdeConfig of(String url) {
    return new AvroSerdeConfig(List.of(url), true, false, true, null, -1, 10_000);
  }

  /**
   * The registry at {@code url} with the serde settings found among a role's Kafka client settings
   * (its {@code kafka.*} pass-through: {@code basic.auth.user.info}, {@code auto.register.schemas},
   * ...), which is how every role configures registry authentication.
   */
  public static AvroSerdeConfig of(String url, Map<String, ?> clientSettings) {
    Map<String, Object> m = new LinkedHashMap<>(clientSettings);
    m.put(SCHEMA_REGISTRY_URL, url);
    return fromMap(m);
  }

  /**
   * Parses Kafka-style client properties. Unknown keys are ignored because the same map also
   * holds the producer/consumer settings.
   *
   * @throws ConfigException naming the key and the accepted values
   */
  public static AvroSerdeConfig fromMap(Map<String, ?> props) {
    Object rawUrl = props.get(SCHEMA_REGISTRY_URL);
    if (rawUrl == null || rawUrl.toString().isBlank()) {
      throw new ConfigException(SCHEMA_REGISTRY_URL + " is required (e.g. http://127.0.0.1:8081)");
    }
    List<String> urls = rawUrl instanceof List<?> list
        ? list.stream().map(Object::toString).map(String::trim).toList()
        : Arrays.stream(rawUrl.toString().split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();

    String source = string(props, BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO").toUpperCase(Locale.ROOT);
    String userInfo;
    switch (source) {
      case "USER_INFO" -> {
        String v = string(props, BASIC_AUTH_USER_INFO, "");
        userInfo = v.isEmpty() ? null : v;
      }
      case "URL" -> {
        userInfo = URI.create(urls.get(0)).getUserInfo();
        if (userInfo == null) {
          throw new ConfigException(BASIC_AUTH_CREDENTIALS_SOURCE + "=URL but " + SCHEMA_REGISTRY_URL
              + " has no user-info (http://user:password@host:port)");
        }
      }
      default -> throw new ConfigException(BASIC_AUTH_CREDENTIALS_SOURCE + "=" + source
          + " is not supported; use USER_INFO or URL");
    }
    return new AvroSerdeConfig(
        urls,
        bool(props, AUTO_REGISTER_SCHEMAS, true),
        bool(props, USE_LATEST_VERSION, false),
        bool(props, SPECIFIC_AVRO_READER, true),
        userInfo,
        longValue(props, LATEST_CACHE_TTL_SEC, -1),
        longValue(props, REQUEST_TIMEOUT_MS, 10_000));
  }

  /** The same settings as Kafka client properties, e.g. to merge into a producer config. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put(SCHEMA_REGISTRY_URL, String.join(",", registryUrls));
    m.put(AUTO_REGISTER_SCHEMAS, autoRegisterSchemas);
    m.put(USE_LATEST_VERSION, useLatestVersion);
    m.put(SPECIFIC_AVRO_READER, specificAvroReader);
    if (basicAuthUserInfo != null) {
      m.put(BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO");
      m.put(BASIC_AUTH_USER_INFO, basicAuthUserInfo);
    }
    m.put(LATEST_CACHE_TTL_SEC, latestCacheTtlSeconds);
    m.put(REQUEST_TIMEOUT_MS, requestTimeoutMillis);
    return m;
  }

  public AvroSerdeConfig withAutoRegister(boolean autoRegister, boolean useLatest) {
    return new AvroSerdeConfig(registryUrls, autoRegister, useLatest, specificAvroReader,
        basicAuthUserInfo, latestCacheTtlSeconds, requestTimeoutMillis);
  }

  public AvroSerdeConfig withSpecificAvroReader(boolean specific) {
    return new AvroSerdeConfig(registryUrls, autoRegisterSchemas, useLatestVersion, specific,
        basicAuthUserInfo, latestCacheTtlSeconds, requestTimeoutMillis);
  }

  public AvroSerdeConfig withBasicAuth(String userInfo) {
    return new AvroSerdeConfig(registryUrls, autoRegisterSchemas, useLatestVersion, specificAvroReader,
        userInfo, latestCacheTtlSeconds, requestTimeoutMillis);
  }

  @Override
  public String toString() {
    // never print the password
    return "AvroSerdeConfig[urls=" + registryUrls.stream().map(u -> u.replaceAll("//[^/@]*@", "//***@")).toList()
        + ", autoRegister=" + autoRegisterSchemas
        + ", useLatest=" + useLatestVersion + ", specificReader=" + specificAvroReader
        + ", basicAuth=" + (basicAuthUserInfo == null ? "none" : basicAuthUserInfo.split(":", 2)[0] + ":***")
        + "]";
  }

  private static void checkUrl(String url) {
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(SCHEMA_REGISTRY_URL, url, "not a URL: " + e.getMessage());
    }
    if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
      throw new ConfigException(SCHEMA_REGISTRY_URL, url, "expected http(s)://host:port");
    }
  }

  private static String string(Map<String, ?> props, String key, String dflt) {
    Object v = props.get(key);
    return v == null ? dflt : v.toString().trim();
  }

  private static boolean bool(Map<String, ?> props, String key, boolean dflt) {
    Object v = props.get(key);
    if (v == null) {
      return dflt;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    String s = v.toString().trim().toLowerCase(Locale.ROOT);
    if (s.equals("true") || s.equals("false")) {
      return Boolean.parseBoolean(s);
    }
    throw new ConfigException(key, v, "expected true or false");
  }

  private static long longValue(Map<String, ?> props, String key, long dflt) {
    Object v = props.get(key);
    if (v == null) {
      return dflt;
    }
    if (v instanceof Number n) {
      return n.longValue();
    }
    try {
      return Long.parseLong(v.toString().trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(key, v, "expected an integer");
    }
  }
}
