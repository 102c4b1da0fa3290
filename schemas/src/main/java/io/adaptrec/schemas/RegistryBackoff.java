package io.adaptrec.schemas;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a plain-consumer role does when a record cannot be read or written because the schema
 * registry cannot be asked ({@link RegistryUnavailableException}): nothing is skipped or
 * dead-lettered; the consumer is rewound to the first record not yet applied and the role waits,
 * doubling the wait from {@code initial} up to {@code max} while the outage lasts, and starting
 * again from {@code initial} after a success. Not thread-safe: one per consuming thread.
 */
public final class RegistryBackoff {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryBackoff.class);

  private final String role;
  private final long initialMillis;
  private final long maxMillis;
  private long nextMillis;
  private long retries;

  public RegistryBackoff(String role, Duration initial, Duration max) {
    if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("backoff needs 0 < initial <= max, got " + initial + ", " + max);
    }
    this.role = role;
    this.initialMillis = initial.toMillis();
    this.maxMillis = max.toMillis();
    this.nextMillis = initialMillis;
  }

  /** 100 ms doubling up to 5 s. */
  public static RegistryBackoff standard(String role) {
    return new RegistryBackoff(role, Duration.ofMillis(100), Duration.ofSeconds(5));
  }

  /** How many times this role has waited for the registry so far. */
  public long retries() {
    return retries;
  }

  /** A batch went through: the next outage starts at the initial wait again. */
  public void succeeded() {
    nextMillis = initialMillis;
  }

  /**
   * Waits the current delay (logging why) and doubles it for next time; the wait itself is returned.
   * An interrupt ends the wait early and is kept set.
   */
  public long await(Throwable cause) {
    long ms = nextMillis;
    nextMillis = Math.min(maxMillis, nextMillis * 2);
    retries++;
    LOG.warn("{}: schema registry unavailable, retrying in {} ms (retry {}): {}", role, ms, retries, cause.getMessage());
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return ms;
  }

  /**
   * Applies the records of {@code batch} in order with {@code apply}; when one throws a {@link
   * RegistryUnavailableException}, rewinds {@code consumer} so that every partition of the batch
   * resumes at its first record not applied, waits ({@link #await}) and returns false. Any other
   * exception propagates unchanged (the role's own per-record handling comes first).
   */
  public <K, V> boolean applyAll(Consumer<K, V> consumer, ConsumerRecords<K, V> batch,
      java.util.function.Consumer<ConsumerRecord<K, V>> apply) {
    int applied = 0;   // records applied so far, in the batch's iteration order (no per-record bookkeeping)
    for (ConsumerRecord<K, V> r : batch) {
      try {
        apply.accept(r);
      } catch (RuntimeException e) {
        if (!RegistryUnavailableException.in(e)) {
          throw e;
        }
        rewind(consumer, batch, applied);
        await(e);
        return false;
      }
      applied++;
    }
    succeeded();
    return true;
  }

  /** Seeks every partition of {@code batch} to its first record beyond the first {@code applied} of the batch. */
  private static <K, V> void rewind(Consumer<K, V> consumer, ConsumerRecords<K, V> batch, int applied) {
    Map<TopicPartition, Long> next = new HashMap<>();
    int i = 0;
    for (ConsumerRecord<K, V> r : batch) {
      TopicPartition tp = new TopicPartition(r.topic(), r.partition());
      if (i++ < applied) {
        next.put(tp, r.offset() + 1);
      } else {
        next.putIfAbsent(tp, r.offset());
      }
    }
    next.forEach(consumer::seek);
  }
}
