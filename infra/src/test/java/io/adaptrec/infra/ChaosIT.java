package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.infra.chaos.ChaosRun;
import io.adaptrec.infra.chaos.DockerFaults;
import io.adaptrec.worker.data.SyntheticGenerator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chaos checks at small scale inside {@code mvn verify}: the bad-input scenario (3 % bad records
 * of every kind on interactions and requests) on the embedded stack, checked against brute force
 * exactly as `adaptrec chaos` checks the compose cluster (the process faults need that cluster: the
 * compose tier of `.ci/run` runs them).
 */
class ChaosIT {
  @TempDir
  Path tmp;

  private static long n(Map<String, Object> r, String key) {
    return ((Number) r.get(key)).longValue();
  }

  @Test
  void badInputIsDeadLetteredAndNothingElseIsLostOrDoubled() throws Exception {
    int users = 60;
    int items = 50;
    long worldSeed = 42;
    Path model = TinyModel.train(new SyntheticGenerator(ChaosRun.world(worldSeed, users, items)).dataset(),
        tmp.resolve("model"));
    StackConfig config = StackConfig.defaults().withFreePorts().withModel(model)
        .withRoles(EnumSet.of(Role.STREAMS, Role.POOLS, Role.WORKER))
        .withRoleSettings(Role.WORKER, Map.of("serving.prewarm.users", "0"));
    try (LocalStack stack = LocalStack.start(config)) {
      Properties client = new Properties();
      client.setProperty("bootstrap.servers", stack.bootstrapServers());
      ChaosRun run = new ChaosRun(stack.topics(), client, new DockerFaults("none"), new ChaosRun.Options(
          200, 10, 10, 0.3, 0, 0.03, users, items, worldSeed, 7, 20, 86_400_000L, 10, 3, Duration.ofSeconds(150),
          5_000_000L), new PrintWriter(System.out, true));
      run.publishCatalogue();
      Map<String, Object> r = run.run(ChaosRun.Scenario.BAD_INPUT, 0);
      assertThat(r.get("problems")).asList().isEmpty();
      for (String zero : new String[] {"requests_lost", "requests_doubled", "interactions_lost", "interactions_doubled",
          "interactions_unexpected", "send_errors"}) {
        assertThat(n(r, zero)).as(zero).isZero();
      }
      assertThat(r).containsEntry("pools_equal_bruteforce", true).containsEntry("ok", true);
      assertThat(n(r, "dead_letter_expected")).isGreaterThan(20).isEqualTo(n(r, "dead_lettered"));
      assertThat(n(r, "requests_answered")).isEqualTo(n(r, "requests_sent")).isPositive();
    }
  }
}
