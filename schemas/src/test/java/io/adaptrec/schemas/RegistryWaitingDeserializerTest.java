package io.adaptrec.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.Test;

class RegistryWaitingDeserializerTest {
  @Test
  void waitsOutAnOutageAndPassesEveryOtherFailureOn() {
    AtomicInteger calls = new AtomicInteger();
    Deserializer<String> flaky = (topic, data) -> {
      if (calls.incrementAndGet() <= 2) {
        throw new RegistryUnavailableException("registry down", null);
      }
      if (data.length == 0) {
        throw new SerializationException("corrupt");
      }
      return new String(data);
    };
    RegistryWaitingDeserializer<String> d = new RegistryWaitingDeserializer<>(flaky, "test");
    assertThat(d.deserialize("t", "ok".getBytes())).isEqualTo("ok");
    assertThat(calls).hasValue(3);   // two waits (100 + 200 ms), then decoded
    assertThatThrownBy(() -> d.deserialize("t", new byte[0])).isInstanceOf(SerializationException.class)
        .isNotInstanceOf(RegistryUnavailableException.class).hasMessage("corrupt");
  }

  @Test
  void anInterruptEndsTheWait() {
    Deserializer<String> down = (topic, data) -> {
      throw new RegistryUnavailableException("registry down", null);
    };
    Thread.currentThread().interrupt();
    try {
      assertThatThrownBy(() -> new RegistryWaitingDeserializer<>(down, "test").deserialize("t", new byte[1]))
          .isInstanceOf(RegistryUnavailableException.class);
    } finally {
      Thread.interrupted();
    }
  }
}
