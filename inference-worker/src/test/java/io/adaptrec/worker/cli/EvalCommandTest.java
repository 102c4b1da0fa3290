package io.adaptrec.worker.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.model.RecLMSystem;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code eval --model} only evaluates a model on the split it was trained for; {@code --ablation} resumes. */
class EvalCommandTest {
  @TempDir
  Path dir;

  @Test
  void aModelOfAnotherProtocolOrOfPartOfTheDataIsRefused() throws Exception {
    Files.writeString(dir.resolve(RecLMSystem.TRAINING_JSON), "{\"protocol\": \"loo\", \"past_fraction\": 1.0}");
    assertThatCode(() -> EvalCommand.checkModelFits(dir, Protocol.LOO)).doesNotThrowAnyException();
    assertThatThrownBy(() -> EvalCommand.checkModelFits(dir, Protocol.LLARA))
        .hasMessageContaining("trained for protocol 'loo'").hasMessageContaining("'llara'");

    Files.writeString(dir.resolve(RecLMSystem.TRAINING_JSON), "{\"protocol\": \"loo\", \"past_fraction\": 0.7}");
    assertThatThrownBy(() -> EvalCommand.checkModelFits(dir, Protocol.LOO)).hasMessageContaining("earliest 0.7");

    Files.delete(dir.resolve(RecLMSystem.TRAINING_JSON));
    assertThatThrownBy(() -> EvalCommand.checkModelFits(dir, Protocol.LOO)).hasMessageContaining("has no training.json");
  }

  @Test
  void anAblationTrainsOneModelPerVariantOnOneSharedStageAAndResumes() throws Exception {
    Path abl = dir.resolve("ablation");
    String[] args = {"--dataset", "synthetic", "--users", "60", "--items", "50", "--min-events", "8", "--max-events",
        "14", "--protocol", "loo", "--seeds", "2", "--variants", "adaptrec,static-m2,none", "--epochs", "1,1,1,0",
        "--d-model", "16", "--heads", "2", "--layers", "1", "--lora-rank", "2", "--no-progress",
        "--ablation", abl.toString()};
    String first = run(args);
    Path seed1 = abl.resolve("loo-test").resolve("seed-1");
    assertThat(seed1.resolve("stage-a").resolve("base.safetensors")).isRegularFile();
    for (String v : new String[] {"adaptrec", "static-m2", "none"}) {
      assertThat(seed1.resolve(v + ".json")).isRegularFile();
      assertThat(abl.resolve("loo-test").resolve("seed-2").resolve(v + ".json")).isRegularFile();
    }
    assertThat(first).contains("adaptrec - static-m2").contains("adaptrec - none").doesNotContain("stored results");
    long stamp = Files.getLastModifiedTime(seed1.resolve("stage-a").resolve("base.safetensors")).toMillis();

    // a stopped run: seed 2's adaptrec result lost; the rerun scores only that, on seed 2's stored stage A
    Files.delete(abl.resolve("loo-test").resolve("seed-2").resolve("adaptrec.json"));
    String second = run(args);
    assertThat(second).contains("static-m2, seed 1: stored results reused").contains("adaptrec, seed 1: stored")
        .contains("none, seed 2: stored").doesNotContain("adaptrec, seed 2: stored");
    assertThat(Files.getLastModifiedTime(seed1.resolve("stage-a").resolve("base.safetensors")).toMillis())
        .isEqualTo(stamp);
    assertThat(abl.resolve("loo-test").resolve("seed-2").resolve("adaptrec.json")).isRegularFile();
    // same table: the stored figures are the ones first printed
    assertThat(tableLine(second, "none")).isEqualTo(tableLine(first, "none"));

    String[] other = args.clone();
    other[java.util.Arrays.asList(args).indexOf("1,1,1,0")] = "2,1,1,0";
    int code = new picocli.CommandLine(new EvalCommand()).execute(other);
    assertThat(code).as("other settings in the same directory are refused").isNotZero();
  }

  private static String tableLine(String out, String variant) {
    String line = out.lines().filter(l -> l.startsWith(variant + " ")).findFirst().orElseThrow();
    return line.substring(0, line.trim().lastIndexOf(' '));   // without the training seconds
  }

  private static String run(String... args) {
    PrintStream saved = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      int code = new picocli.CommandLine(new EvalCommand()).execute(args);
      assertThat(code).as("eval exit code; output:%n%s", buf.toString(StandardCharsets.UTF_8)).isZero();
    } finally {
      System.setOut(saved);
    }
    return buf.toString(StandardCharsets.UTF_8);
  }
}
