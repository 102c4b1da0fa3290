package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.client.RecClient;
import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.Topics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code --secure} local stack: the broker takes SASL/SCRAM users only, the registry basic
 * authentication only. A client without credentials (or with a wrong password) is refused; the
 * roles, each with its own user, still do all their work, checked end to end by the chaos checks
 * (bad input included, so every role's dead-letter path writes under its credentials), and the CLI
 * reaches the stack through {@code --client-config}.
 */
class SecurityIT {
  @TempDir
  Path tmp;

  @Test
  void unauthenticatedClientsAreRefusedAndEveryRoleWorksWithItsCredentials() throws Exception {
    int users = 40;
    int items = 40;
    StackConfig config = ChaosStack.config(tmp, users, items).withDataDir(tmp.resolve("stack")).withSecure(true);
    try (LocalStack stack = LocalStack.start(config)) {
      assertThat(stack.secure()).isTrue();
      Path clientFile = stack.clientConfigFile();
      assertThat(Files.getPosixFilePermissions(clientFile))
          .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
      assertThat(Files.getPosixFilePermissions(tmp.resolve("stack/credentials.properties")))
          .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
      Properties secured = stack.clientProperties();
      assertThat(secured.getProperty("security.protocol")).isEqualTo("SASL_PLAINTEXT");

      // Kafka: no credentials -> the broker drops the connection; a wrong password -> refused with the reason
      Map<String, Object> anonymous = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
          AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 4000, AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 4000);
      try (Admin a = Admin.create(anonymous)) {
        assertThatThrownBy(() -> a.listTopics().names().get(10, TimeUnit.SECONDS))
            .hasRootCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
      }
      Properties wrong = new Properties();
      wrong.putAll(secured);
      wrong.putAll(io.adaptrec.schemas.EmbeddedKafkaBroker.Scram.clientSettings(StackSecurity.CLIENT, "guessed"));
      wrong.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 4000);
      wrong.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 4000);
      try (Admin a = Admin.create(wrong)) {
        assertThatThrownBy(() -> a.listTopics().names().get(10, TimeUnit.SECONDS))
            .hasRootCauseInstanceOf(SaslAuthenticationException.class);
      }
      try (Admin a = Admin.create(secured)) {
        assertThat(a.listTopics().names().get(10, TimeUnit.SECONDS)).contains(stack.topics().interactions().name());
      }
      assertThat(Endpoints.kafkaAnswers(stack.bootstrapServers(), Duration.ofSeconds(3))).isFalse();
      assertThat(Endpoints.kafkaAnswers(secured, Duration.ofSeconds(10))).isTrue();

      // registry: 401 without or with wrong credentials, 200 with the stack's
      String userInfo = secured.getProperty(AvroSerdeConfig.BASIC_AUTH_USER_INFO);
      assertThat(registryStatus(stack.registryUrl(), null)).isEqualTo(401);
      assertThat(registryStatus(stack.registryUrl(), "adaptrec:guessed")).isEqualTo(401);
      assertThat(registryStatus(stack.registryUrl(), userInfo)).isEqualTo(200);
      Topics unauthenticated = new Topics(stack.topics().prefix(), AvroSerdeConfig.of(stack.registryUrl()));
      assertThatThrownBy(() -> unauthenticated.items().valueSerde().serializer()
          .serialize(unauthenticated.items().name(), io.adaptrec.avro.Item.newBuilder().setItemId(1).setTitle("x")
              .setGenres(List.of()).setUpdatedAt(java.time.Instant.now()).build()))
          .hasMessageContaining("401");

      // every role with its own credentials: the chaos checks against brute force, on a small scale
      ChaosStack.badInputPasses(stack, secured, users, items, 100, 5, 8, 0.05, 6_000_000L);

      // the CLI: refused without the client settings, served with them
      String[] target = {"--bootstrap", stack.bootstrapServers(), "--registry", stack.registryUrl(), "--user",
          Long.toString(6_000_000L), "--json"};
      AdaptrecCliTest.Run refused = AdaptrecCliTest.run(concat(new String[] {"recommend"}, target));
      assertThat(refused.exitCode()).as(refused.err()).isEqualTo(2);
      AdaptrecCliTest.Run served = AdaptrecCliTest.run(concat(new String[] {"recommend", "--client-config", clientFile.toString()}, target));
      assertThat(served.exitCode()).as(served.err()).isZero();
      assertThat(served.out()).contains("\"status\"");
      try (RecClient client = new RecClient(stack.topics(), secured)) {
        RecommendationResponse resp = client.recommend(6_000_001L, 5, null, Duration.ofSeconds(30));
        assertThat(resp.getStatus()).as(resp.toString()).isEqualTo(io.adaptrec.avro.ResponseStatus.OK);
        assertThat(resp.getItems()).as(resp.toString()).hasSize(5);
      }
    }
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static int registryStatus(String url, String userInfo) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + "/subjects")).GET();
    if (userInfo != null) {
      b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes()));
    }
    return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }
}
