package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import io.adaptrec.worker.rollout.Controller;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole loop on the embedded stack, every role running ({@link RolloutBenchmark}, as
 * {@code bench rollout} runs it): replayed traffic reaches the trainer, which fine-tunes and
 * publishes an adapter; the controller verifies it and starts an experiment; the worker routes users
 * between production and the new adapter; the outcome topology joins each response with the user's
 * next interaction into experiment metrics; the controller decides and records the decision on
 * rollouts and the decision log, where {@code rollout status} shows it.
 */
class RolloutStackIT {
  @TempDir
  Path tmp;

  @Test
  void theTrainerPublishesAnExperimentRunsAndADecisionIsRecorded() throws Exception {
    Dataset all = new SyntheticGenerator(SyntheticConfig.defaults().withSeed(9).withSize(60, 50, 10, 22)).dataset();
    // the model knows only the past the benchmark replays (it keeps the most recent 25 % for live traffic);
    // the live quarter of this synthetic set holds only ~17 users: up to 3 outcomes each count here
    // (production default 1; the cap itself is tested in OutcomeTopologyTest)
    Dataset past = all.earliest(0.75);
    Path model = TinyModel.train(past, tmp.resolve("model"));
    StackConfig config = RolloutBenchCommand.settings(StackConfig.defaults().withFreePorts().withModel(model), 300, 50, 5, 10)
        .withRoleSettings(Role.REFRESH, Map.of("refresh.epochs", "1", "refresh.max-regression", "1"))
        .withRoleSettings(Role.WORKER, Map.of("serving.prewarm.users", "0"))
        .withRoleSettings(Role.STREAMS, Map.of("outcome.max-per-user", "3"));
    StringWriter progress = new StringWriter();
    try (LocalStack stack = LocalStack.start(config)) {
      assertThat(stack.describe()).contains("refresh  ").contains("control  ").contains("worker   ");
      Map<String, Object> report = new RolloutBenchmark(stack, all, new RolloutBenchmark.Config(0.25, 0,
          Duration.ofMinutes(4), 1), new PrintWriter(progress, true)).run();
      System.out.println(progress);

      String exp = (String) report.get("experiment");
      assertThat(report.get("decision")).as(progress + "\n" + report).isIn("PROMOTE", "ROLLBACK");
      assertThat(report.get("live_errors")).isEqualTo(0);
      assertThat((long) report.get("publish_to_serving_ms")).isBetween(0L, 60_000L);
      @SuppressWarnings("unchecked")
      Map<String, Map<String, Object>> arms = (Map<String, Map<String, Object>>) report.get("client_arms");
      assertThat(arms).containsKeys("control", "treatment");
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> rounds = (List<Map<String, Object>>) report.get("trainer_rounds");
      assertThat(rounds).anySatisfy(r -> assertThat(r.get("published")).isEqualTo(true));
      String candidate = exp.substring("exp-".length());

      Controller controller = stack.controller().orElseThrow();
      RolloutDecision d = controller.decisions().stream().filter(x -> x.getExperimentId().equals(exp)
          && (x.getAction() == RolloutAction.PROMOTE || x.getAction() == RolloutAction.ROLLBACK)).findFirst().orElseThrow();
      assertThat(d.getActor()).isEqualTo(Controller.ACTOR);
      assertThat(d.getSamplesControl()).isGreaterThanOrEqualTo(5);
      assertThat(d.getSamplesTreatment()).isGreaterThanOrEqualTo(5);

      // recorded: the log has START then the decision; the outcome topology measured both arms
      Properties client = new Properties();
      client.setProperty("bootstrap.servers", stack.bootstrapServers());
      Topics topics = stack.topics();
      List<RolloutDecision> log = new ArrayList<>();
      TopicScan.toEnd(client, topics.rolloutDecisions().name(), Duration.ofSeconds(30), r -> log.add(
          topics.rolloutDecisions().valueSerde().deserializer().deserialize(r.topic(), r.value())));
      assertThat(log).filteredOn(x -> x.getExperimentId().equals(exp)).extracting(RolloutDecision::getAction)
          .startsWith(RolloutAction.START).contains(d.getAction());
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> experiments = (List<Map<String, Object>>) report.get("experiments");
      Map<String, Object> e = experiments.stream().filter(x -> x.get("experiment").equals(exp)).findFirst().orElseThrow();
      assertThat((Map<String, Object>) e.get("control")).satisfies(c -> assertThat((long) c.get("outcomes")).isPositive());
      assertThat((Map<String, Object>) e.get("treatment")).satisfies(c -> assertThat((long) c.get("outcomes")).isPositive());
      List<AdapterManifest> published = new ArrayList<>();
      TopicScan.toEnd(client, topics.adapters().name(), Duration.ofSeconds(30), r -> published.add(
          topics.adapters().valueSerde().deserializer().deserialize(r.topic(), r.value())));
      assertThat(published).filteredOn(m -> m.getVersion().equals(candidate)).singleElement()
          .satisfies(m -> assertThat(m.getParentVersion()).isEqualTo("v1"));

      StringWriter out = new StringWriter();
      int code = AdaptrecCli.build().setOut(new PrintWriter(out)).setErr(new PrintWriter(out)).execute("rollout",
          "status", "--log", "--bootstrap", stack.bootstrapServers(), "--registry", stack.registryUrl());
      assertThat(code).as(out.toString()).isZero();
      assertThat(out.toString()).contains(exp).contains(d.getAction().name()).contains("by controller");
      System.out.println(out);
    }
  }
}
