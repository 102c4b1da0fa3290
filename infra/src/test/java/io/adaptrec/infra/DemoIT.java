package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code adaptrec demo} end to end through the CLI on a small synthetic world. */
class DemoIT {
  @Test
  void demoRunsThePipelineAndReportsIt() {
    AdaptrecCliTest.Run r = AdaptrecCliTest.run("demo", "--dataset", "synthetic", "--users", "60", "--items", "80",
        "--min-events", "4", "--max-events", "12", "--no-progress", "--timeout", "240", "--model-epochs", "1,1,1");
    assertThat(r.exitCode()).as("exit code; stdout:%n%s%nstderr:%n%s", r.out(), r.err()).isZero();
    assertThat(r.out())
        .contains("== AdaptRec demo on synthetic")
        .containsPattern("user-state updates for 60 users")
        .containsPattern("\\d+ users have a pool")
        .contains("interaction -> user-state  p50")
        .contains("Sample user")
        .contains("Similar-user pool (")
        // the model stage: trained on the same data, ranked candidates for the sample user
        .contains("demonstrations the model selected")
        .containsPattern("top 5 of 20 unseen candidates")
        .containsPattern("1\\. .+ log-prob -?\\d")
        .contains("Demo OK");
  }
}
