package io.adaptrec.schemas;

import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * A deserializer that, when the registry cannot be asked for a record's writer schema ({@link
 * RegistryUnavailableException}), waits ({@link RegistryBackoff}) and tries again instead of
 * throwing. For a consumer thread that cannot fail and be replaced: Kafka Streams' global thread,
 * which builds the global stores and whose death stops the whole application. Any other failure
 * is thrown as before; an interrupt (the application closing) ends the wait with the failure.
 */
public final class RegistryWaitingDeserializer<T> implements Deserializer<T> {
  private final Deserializer<T> inner;
  private final String role;

  public RegistryWaitingDeserializer(Deserializer<T> inner, String role) {
    this.inner = inner;
    this.role = role;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    inner.configure(configs, isKey);
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    return retry(() -> inner.deserialize(topic, data));
  }

  @Override
  public T deserialize(String topic, Headers headers, byte[] data) {
    return retry(() -> inner.deserialize(topic, headers, data));
  }

  private T retry(java.util.function.Supplier<T> call) {
    RegistryBackoff backoff = null;
    while (true) {
      try {
        return call.get();
      } catch (RuntimeException e) {
        if (!RegistryUnavailableException.in(e) || Thread.currentThread().isInterrupted()) {
          throw e;
        }
        if (backoff == null) {
          backoff = RegistryBackoff.standard(role);
        }
        backoff.await(e);
      }
    }
  }

  @Override
  public void close() {
    inner.close();
  }
}
