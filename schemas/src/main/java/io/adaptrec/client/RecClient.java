package io.adaptrec.client;

import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.schemas.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * For applications: sends a recommendation request to {@code rec-requests} and waits for its
 * response on {@code rec-responses}, matched by request id. Responses are read with
 * {@code read_committed} from every partition (they are keyed by user, like the requests), from
 * the end of the topic as it was when the client started, so only answers to this client's
 * requests are completed; others are ignored. Thread-safe; one client per application is enough.
 *
 * <pre>{@code
 * try (RecClient client = new RecClient(topics, props)) {
 *     RecommendationResponse r = client.recommend(42L, 10, null, Duration.ofSeconds(5));
 * }
 * }</pre>
 */
public final class RecClient implements AutoCloseable {

  private final Topics topics;
  private final KafkaProducer<byte[], byte[]> producer;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Map<String, CompletableFuture<RecommendationResponse>> pending = new ConcurrentHashMap<>();
  private final Map<String, Boolean> answered = new ConcurrentHashMap<>();
  private final AtomicLong duplicates = new AtomicLong();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread reader;

  /** @param clientProps {@code bootstrap.servers} and any security settings */
  public RecClient(Topics topics, Properties clientProps) {
    this.topics = topics;
    Properties p = new Properties();
    p.putAll(clientProps);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "0");
    p.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
    this.producer = new KafkaProducer<>(p);
    Properties c = new Properties();
    c.putAll(clientProps);
    c.remove(ConsumerConfig.GROUP_ID_CONFIG);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "2");
    this.consumer = new KafkaConsumer<>(c);
    String t = topics.recResponses().name();
    List<TopicPartition> parts = consumer.partitionsFor(t, Duration.ofSeconds(30)).stream()
        .map(i -> new TopicPartition(t, i.partition())).toList();
    consumer.assign(parts);
    consumer.seekToEnd(parts);
    parts.forEach(consumer::position);   // resolve now: responses to requests sent from here on are seen
    this.reader = new Thread(this::read, "rec-client-reader");
    reader.setDaemon(true);
    reader.start();
  }

  private void read() {
    try {
      while (running.get()) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          RecommendationResponse resp;
          try {
            resp = topics.recResponses().valueSerde().deserializer().deserialize(r.topic(), r.value());
          } catch (RuntimeException e) {
            continue;   // not ours to judge: the topic's producers route bad records
          }
          if (resp == null) {
            continue;
          }
          String id = resp.getRequestId();
          CompletableFuture<RecommendationResponse> f = pending.remove(id);
          if (f != null) {
            answered.put(id, Boolean.TRUE);
            f.complete(resp);
          } else if (answered.containsKey(id)) {
            duplicates.incrementAndGet();
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      consumer.close(Duration.ofSeconds(1));
    }
  }

  /** A request for {@code user} with a new id, sent now, scored on the latest state (no {@code asOf}). */
  public static RecommendationRequest request(long user, int k, List<Long> candidates) {
    return RecommendationRequest.newBuilder().setRequestId(newRequestId()).setUserId(user).setK(k)
        .setCandidates(candidates).setRequestedAt(Instant.now()).setAsOf(null).build();
  }

  /** A new request id. */
  public static String newRequestId() {
    return UUID.randomUUID().toString();
  }

  /** Sends {@code request}; the future completes with its response (never times out by itself). */
  public CompletableFuture<RecommendationResponse> send(RecommendationRequest request) {
    CompletableFuture<RecommendationResponse> f = new CompletableFuture<>();
    pending.put(request.getRequestId(), f);
    String t = topics.recRequests().name();
    producer.send(new ProducerRecord<>(t, topics.recRequests().keySerde().serializer().serialize(t, request.getUserId()),
        topics.recRequests().valueSerde().serializer().serialize(t, request)), (md, e) -> {
          if (e != null) {
            pending.remove(request.getRequestId());
            f.completeExceptionally(e);
          }
        });
    return f;
  }

  /**
   * Sends a request for {@code user} and waits for the response.
   *
   * @param candidates items to rank, or null to let the worker generate candidates
   * @throws TimeoutException when no response arrives within {@code timeout}
   */
  public RecommendationResponse recommend(long user, int k, List<Long> candidates, Duration timeout)
      throws TimeoutException, InterruptedException {
    RecommendationRequest req = request(user, k, candidates);
    CompletableFuture<RecommendationResponse> f = send(req);
    try {
      return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException("request " + req.getRequestId() + " could not be sent: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      pending.remove(req.getRequestId());
      throw new TimeoutException("no response to request " + req.getRequestId() + " for user " + user + " within "
          + timeout.toMillis() + " ms");
    }
  }

  /** Responses seen a second time for an already answered request id (0 under exactly-once serving). */
  public long duplicates() {
    return duplicates.get();
  }

  /** Requests sent and not yet answered. */
  public int pending() {
    return pending.size();
  }

  @Override
  public void close() {
    running.set(false);
    consumer.wakeup();
    try {
      reader.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(Duration.ofSeconds(2));
  }
}
