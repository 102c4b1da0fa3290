package io.adaptrec.worker.serving;

import io.adaptrec.avro.ItemEmbedding;
import io.adaptrec.schemas.RegistryUnavailableException;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.Vocabulary;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the served base model's item embeddings (the text-aware input embeddings, stage 1's
 * item space) to {@code item-embeddings} under the base model's id, when that version is not
 * complete there yet. Streams then re-embeds every user in the model's space and the pools job
 * re-pools them (the existing version migration), so live pools and the model finally share one
 * space. Idempotent: a second worker, or a restart, finds the version complete and publishes nothing.
 */
public final class ItemEmbeddingPublisher {

    private static final Logger log = LoggerFactory.getLogger(ItemEmbeddingPublisher.class);

    private ItemEmbeddingPublisher() {}

    /** @return items published (0 when the version was already complete) */
    public static int publishIfMissing(LanguageModel lm, String version, Topics topics, Properties client) {
        Vocabulary vocab = lm.vocabulary();
        Set<Long> present = present(topics, client, version);
        if (present.size() >= vocab.itemCount()) {
            log.info("item-embeddings: version {} already complete ({} items)", version, present.size());
            return 0;
        }
        float[] emb = lm.itemEmbeddings();
        int d = emb.length / vocab.itemCount();
        Properties p = new Properties();
        p.putAll(client);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        String t = topics.itemEmbeddings().name();
        long[] ids = vocab.itemIds();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (int k = 0; k < ids.length; k++) {
                List<Float> v = new ArrayList<>(d);
                for (int j = 0; j < d; j++) {
                    v.add(emb[k * d + j]);
                }
                ItemEmbedding e = new ItemEmbedding(ids[k], version, v);
                producer.send(new ProducerRecord<>(t, topics.itemEmbeddings().keySerde().serializer().serialize(t, ids[k]),
                        topics.itemEmbeddings().valueSerde().serializer().serialize(t, e)));
            }
            producer.flush();
        }
        log.info("item-embeddings: published {} items of version {} (d={}); {} were there", ids.length, version, d,
                present.size());
        return ids.length;
    }

    /** Item ids that already have a vector of {@code version} on the topic. */
    private static Set<Long> present(Topics topics, Properties client, String version) {
        Set<Long> out = new HashSet<>();
        String t = topics.itemEmbeddings().name();
        TopicScan.toEnd(client, t, Duration.ofSeconds(60), r -> {
            if (r.value() == null) {
                return;
            }
            try {
                ItemEmbedding e = topics.itemEmbeddings().valueSerde().deserializer().deserialize(t, r.value());
                if (version.equals(e.getModelVersion())) {
                    out.add(e.getItemId());
                } else {
                    out.remove(e.getItemId());   // compacted: a later record of the item replaced it
                }
            } catch (RuntimeException ex) {
                if (RegistryUnavailableException.in(ex)) {
                    throw ex;   // the scan waits for the registry and reads it again
                }
                // other producers' bad records are theirs to dead-letter; they do not count as present
            }
        });
        return out;
    }
}
