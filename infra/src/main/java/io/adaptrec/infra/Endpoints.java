package io.adaptrec.infra;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import io.adaptrec.worker.data.DatasetKind;
import picocli.CommandLine.ITypeConverter;

/** Checks that a Kafka cluster or schema registry answers, before a command relies on it. */
final class Endpoints {
  static final String DEFAULT_BOOTSTRAP = Ports.HOST + ":" + StackConfig.DEFAULT_KAFKA_PORT;
  static final String DEFAULT_REGISTRY = "http://" + Ports.HOST + ":" + StackConfig.DEFAULT_REGISTRY_PORT;

  /**
   * How long a command waits for a cluster that accepts connections to answer. Generous: on a loaded
   * 2-core box (13 containers starting at once in the compose test) a healthy cluster took more than
   * 5 s, and the one-off check then failed a run; an absent broker is still reported at once (the TCP check).
   */
  static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(45);

  private Endpoints() {}

  /**
   * Whether a Kafka cluster answers at {@code bootstrap} within a few seconds. A TCP check first,
   * so an absent broker is reported at once rather than after the admin client's retries.
   */
  static boolean kafkaAnswers(String bootstrap, Duration timeout) {
    Properties client = new Properties();
    client.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    return kafkaAnswers(client, timeout);
  }

  /** As {@link #kafkaAnswers(String, Duration)} with the client's security settings ({@code client} holds bootstrap.servers). */
  static boolean kafkaAnswers(Properties client, Duration timeout) {
    String bootstrap = client.getProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
    String first = bootstrap.split(",")[0].trim();
    int colon = first.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("--bootstrap must be HOST:PORT[,HOST:PORT...], got '" + bootstrap + "'");
    }
    int port;
    try {
      port = Integer.parseInt(first.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--bootstrap must be HOST:PORT[,HOST:PORT...], got '" + bootstrap + "'");
    }
    if (!Ports.accepts(first.substring(0, colon), port, (int) Math.min(timeout.toMillis(), 2000))) {
      return false;
    }
    int ms = (int) timeout.toMillis();
    Properties admin0 = new Properties();
    admin0.putAll(client);
    admin0.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
    admin0.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
    try (Admin admin = Admin.create(admin0)) {
      admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /** Whether a Confluent-API schema registry answers {@code GET /subjects} at {@code url}. */
  static boolean registryAnswers(String url, Duration timeout) {
    return registryAnswers(url, null, timeout);
  }

  /** As {@link #registryAnswers(String, Duration)}, with basic authentication ({@code userInfo} "user:password", null: none). */
  static boolean registryAnswers(String url, String userInfo, Duration timeout) {
    try {
      HttpClient http = HttpClient.newBuilder().connectTimeout(timeout).build();
      HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(stripSlash(url) + "/subjects")).timeout(timeout).GET();
      if (userInfo != null) {
        req.header("Authorization", "Basic " + java.util.Base64.getEncoder()
            .encodeToString(userInfo.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      }
      HttpResponse<Void> r = http.send(req.build(), HttpResponse.BodyHandlers.discarding());
      return r.statusCode() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  static String stripSlash(String url) {
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  /** picocli converter for {@code --dataset}: the worker's own names (movielens, generic, synthetic). */
  static final class DatasetKindConverter implements ITypeConverter<DatasetKind> {
    @Override
    public DatasetKind convert(String value) {
      return DatasetKind.parse(value);
    }
  }
}
