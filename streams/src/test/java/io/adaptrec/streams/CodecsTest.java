package io.adaptrec.streams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class CodecsTest {
    @Test
    void historyRoundTripsIncludingAbsentRatings() {
        UserHistory h = UserHistory.empty(3)
                .insert(new UserHistory.Entry(10, 1000, 4.5f), 5, 0).history()
                .insert(new UserHistory.Entry(11, 2000, null), 5, 0).history()
                .withEmbedding("v7", new SequenceEmbedding.Result(new float[] {0.6f, 0.8f}, 1, 1), 99);
        UserHistory back = Codecs.decodeHistory(Codecs.encodeHistory(h));
        assertThat(back.sameStateAs(h)).isTrue();
        assertThat(back.entries().get(0).rating()).isEqualTo(4.5f);
        assertThat(back.entries().get(1).rating()).isNull();
        assertThat(back.updatedAt()).isEqualTo(99);
        assertThat(back.missing()).isEqualTo(1);
    }

    @Test
    void modelVectorsAndStatsRoundTrip() {
        Codecs.ModelVectors m = new Codecs.ModelVectors("v2", new float[] {1, 2}, "v1", new float[] {3});
        Codecs.ModelVectors back = Codecs.decodeModel(Codecs.encodeModel(m));
        assertThat(back.in("v2")).containsExactly(1f, 2f);
        assertThat(back.in("v1")).containsExactly(3f);
        assertThat(back.in("v0")).isNull();
        VersionStats s = new VersionStats("v2", 5, "v1", Map.of("v1", 3L, "v2", 9L));
        assertThat(Codecs.decodeStats(Codecs.encodeStats(s))).isEqualTo(s);
        assertThat(Codecs.decodeStats(Codecs.encodeStats(VersionStats.EMPTY)).counts()).isEmpty();
    }

    @Test
    void foreignBytesAreRejectedWithAReason() {
        assertThatThrownBy(() -> Codecs.decodeHistory(new byte[] {0, 1, 2}))
                .isInstanceOf(SerializationException.class).hasMessageContaining("user history format 0");
        assertThatThrownBy(() -> Codecs.decodeHistory(new byte[] {1, 1}))
                .isInstanceOf(SerializationException.class).hasMessageContaining("truncated");
        assertThat(Codecs.decodeVector(Codecs.encodeVector(new float[] {1.5f}))).containsExactly(1.5f);
        assertThat(List.of()).isEmpty();
    }
}
