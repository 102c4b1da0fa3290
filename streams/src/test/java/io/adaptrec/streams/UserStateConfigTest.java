package io.adaptrec.streams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.schemas.ConfigKeys;
import java.io.InputStream;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class UserStateConfigTest {
    @Test
    void defaultsMatchTheIssue() {
        UserStateConfig c = UserStateConfig.defaults();
        assertThat(c.historyLength()).isEqualTo(20);
        assertThat(c.processingGuarantee()).isEqualTo("exactly_once_v2");
        assertThat(c.recencyHalfLife()).isZero();
    }

    @Test
    void streamsProducerDefaultsToShortLingerAndLargeBatchesButCanBeOverridden() {
        Properties p = UserStateTopology.streamsConfig(UserStateConfig.defaults(), new StreamCounters());
        assertThat(p.get("producer.linger.ms")).isEqualTo(5);
        assertThat(p.get("producer.batch.size")).isEqualTo(131072);
        Properties o = UserStateTopology.streamsConfig(
                UserStateConfig.defaults().with(Map.of("kafka.producer.linger.ms", "20")), new StreamCounters());
        assertThat(o.get("producer.linger.ms")).isEqualTo("20");
    }

    @Test
    void sampleFileDocumentsEveryKeyWithItsDefault() throws Exception {
        Properties sample = new Properties();
        try (InputStream in = getClass().getResourceAsStream("/streams.properties")) {
            sample.load(in);
        }
        for (ConfigKeys.Key k : UserStateConfig.KEYS) {
            if (k.name().equals("state.dir")) continue; // machine-specific default, shown commented out
            assertThat(sample.getProperty(k.name())).as(k.name()).isEqualTo(k.defaultValue());
        }
        assertThat(UserStateConfig.fromProperties(sample)).isEqualTo(UserStateConfig.defaults());
    }

    @Test
    void errorsNameTheKeyAndTheAllowedRangeAllAtOnce() {
        Properties p = new Properties();
        p.setProperty("history.length", "0");
        p.setProperty("embedding.version.switch-coverage", "1.5");
        p.setProperty("processing.guarantee", "exactly_once");
        p.setProperty("histroy.length", "5");
        assertThatThrownBy(() -> UserStateConfig.fromProperties(p))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("history.length=0 is out of range 1..1000")
                .hasMessageContaining("embedding.version.switch-coverage=1.5 is out of range (0,1]")
                .hasMessageContaining("processing.guarantee='exactly_once' is not allowed; expected exactly_once_v2 | at_least_once")
                .hasMessageContaining("unknown key 'histroy.length'");
    }

    @Test
    void kafkaPrefixedKeysPassThroughAndWithRoundTrips() {
        UserStateConfig c = UserStateConfig.defaults().with(Map.of("kafka.security.protocol", "SSL", "history.length", "7"));
        assertThat(c.kafkaOverrides()).containsEntry("security.protocol", "SSL");
        assertThat(c.historyLength()).isEqualTo(7);
        assertThat(UserStateConfig.fromProperties(c.toProperties())).isEqualTo(c);
    }
}
