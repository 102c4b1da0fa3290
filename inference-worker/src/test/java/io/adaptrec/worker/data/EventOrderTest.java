package io.adaptrec.worker.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The loaders' event order: time, user, then a seeded rank among a user's same-time events (not the item id). */
class EventOrderTest {

  @Test
  void sameTimeEventsOfAUserAreOrderedBySeededRankNotById() {
    List<Dataset.Event> events = new ArrayList<>();
    for (long item = 1; item <= 40; item++) {
      events.add(new Dataset.Event(7, item, 1000, null));
    }
    events.add(new Dataset.Event(3, 99, 1000, null));
    events.add(new Dataset.Event(7, 50, 999, null));
    List<Dataset.Event> sorted = new ArrayList<>(events);
    LoaderSupport.sortEvents(sorted);

    assertThat(sorted.get(0).itemId()).isEqualTo(50);              // earlier time first
    assertThat(sorted.get(1).userId()).isEqualTo(3);               // then by user
    List<Long> burst = sorted.subList(2, sorted.size()).stream().map(Dataset.Event::itemId).toList();
    assertThat(burst).containsExactlyInAnyOrderElementsOf(java.util.stream.LongStream.rangeClosed(1, 40).boxed().toList());
    assertThat(burst).isNotEqualTo(burst.stream().sorted().toList());   // not the id order
    assertThat(burst).isSortedAccordingTo((a, b) -> Long.compare(LoaderSupport.tieRank(7, a), LoaderSupport.tieRank(7, b)));

    // the same on every load, whatever order the file had
    List<Dataset.Event> reversed = new ArrayList<>(events);
    java.util.Collections.reverse(reversed);
    LoaderSupport.sortEvents(reversed);
    assertThat(reversed).isEqualTo(sorted);
  }
}
