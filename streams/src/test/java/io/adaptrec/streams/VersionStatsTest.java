package io.adaptrec.streams;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VersionStatsTest {
    @Test
    void switchesOnlyOnceTheNewestVersionCoversEnoughOfTheCatalogue() {
        VersionStats s = VersionStats.EMPTY;
        for (int i = 0; i < 8; i++) s = s.moved(null, "v1", 100).withActiveFor(10, 0.9);
        assertThat(s.activeModelVersion()).isNull();
        s = s.moved(null, "v1", 100).withActiveFor(10, 0.9);
        assertThat(s.activeModelVersion()).isEqualTo("v1");
        s = s.moved(null, "v1", 100).withActiveFor(10, 0.9);
        // republishing as v2: stays on v1 until 9 of 10 items moved
        for (int i = 0; i < 8; i++) s = s.moved("v1", "v2", 200).withActiveFor(10, 0.9);
        assertThat(s.activeModelVersion()).isEqualTo("v1");
        assertThat(s.count("v1")).isEqualTo(2);
        s = s.moved("v1", "v2", 200).withActiveFor(10, 0.9);
        assertThat(s.activeModelVersion()).isEqualTo("v2");
    }

    @Test
    void newestIsDecidedByRecordTimestampNotArrivalOrder() {
        VersionStats a = VersionStats.EMPTY.moved(null, "v2", 200).moved(null, "v1", 100);
        VersionStats b = VersionStats.EMPTY.moved(null, "v1", 100).moved(null, "v2", 200);
        assertThat(a.newestVersion()).isEqualTo("v2").isEqualTo(b.newestVersion());
    }

    @Test
    void deletionsLowerTheCount() {
        VersionStats s = VersionStats.EMPTY.moved(null, "v1", 1).moved(null, "v1", 1).moved("v1", null, 2);
        assertThat(s.count("v1")).isEqualTo(1);
        assertThat(s.moved("v1", null, 3).counts()).isEmpty();
    }
}
