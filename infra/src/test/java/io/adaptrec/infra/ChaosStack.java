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

/**
 * What the chaos checks on the embedded stack share ({@link ChaosIT}, {@link SecurityIT}): a
 * seconds-to-train model of a chaos world, the stack that serves it (streams, pools, worker), and
 * the bad-input scenario run and checked against brute force as `adaptrec chaos` does.
 */
final class ChaosStack {
  static final long WORLD_SEED = 42;

  private ChaosStack() {}

  /** The stack config for a world of {@code users} x {@code items}, its model trained into {@code tmp/model}. */
  static StackConfig config(Path tmp, int users, int items) {
    Path model = TinyModel.train(new SyntheticGenerator(ChaosRun.world(WORLD_SEED, users, items)).dataset(),
        tmp.resolve("model"));
    return StackConfig.defaults().withFreePorts().withModel(model)
        .withRoles(EnumSet.of(Role.STREAMS, Role.POOLS, Role.WORKER))
        .withRoleSettings(Role.WORKER, Map.of("serving.prewarm.users", "0"));
  }

  /**
   * Runs bad-input ({@code badRate} of bad records, {@code rate} interactions/s and {@code requestRate}
   * requests/s for {@code seconds}) through {@code client} and asserts every check passed; returns the report.
   */
  static Map<String, Object> badInputPasses(LocalStack stack, Properties client, int users, int items, int rate,
      int requestRate, int seconds, double badRate, long userBase) throws Exception {
    ChaosRun run = new ChaosRun(stack.topics(), client, new DockerFaults("none"), new ChaosRun.Options(
        rate, requestRate, seconds, 0.3, 0, badRate, users, items, WORLD_SEED, 7, 20, 86_400_000L, 10, 3,
        Duration.ofSeconds(150), userBase), new PrintWriter(System.out, true));
    run.publishCatalogue();
    Map<String, Object> r = run.run(ChaosRun.Scenario.BAD_INPUT, 0);
    assertThat(r.get("problems")).asList().isEmpty();
    for (String zero : new String[] {"requests_lost", "requests_doubled", "interactions_lost", "interactions_doubled",
        "interactions_unexpected", "send_errors", "dead_letter_unexpected"}) {
      assertThat(n(r, zero)).as(zero).isZero();
    }
    assertThat(r).containsEntry("pools_equal_bruteforce", true).containsEntry("ok", true);
    assertThat(n(r, "dead_letter_expected")).isPositive().isEqualTo(n(r, "dead_lettered"));
    assertThat(n(r, "requests_answered")).isEqualTo(n(r, "requests_sent")).isPositive();
    return r;
  }

  static long n(Map<String, Object> r, String key) {
    return ((Number) r.get(key)).longValue();
  }
}
