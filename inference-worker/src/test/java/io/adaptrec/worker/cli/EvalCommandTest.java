package io.adaptrec.worker.cli;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.model.RecLMSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code eval --model} only evaluates a model on the split it was trained for. */
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
}
