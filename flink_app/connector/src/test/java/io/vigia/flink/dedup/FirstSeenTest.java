package io.vigia.flink.dedup;

import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.StringData;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The generations' rotation and the buckets; the dedup itself runs in the job's tests. */
class FirstSeenTest {
    @Test
    void aBucketKeepsTwoGenerationsAndDropsWhatIsOlder() {
        assertEquals(FirstSeen.Step.FRESH, FirstSeen.step(null, 7));
        assertEquals(FirstSeen.Step.SAME, FirstSeen.step(7L, 7));
        assertEquals(FirstSeen.Step.NEXT, FirstSeen.step(7L, 8));   // generation 6 goes, 7 stays
        assertEquals(FirstSeen.Step.FRESH, FirstSeen.step(7L, 9));  // 7 is two old: both go
        assertEquals(FirstSeen.Step.SAME, FirstSeen.step(7L, 6));   // the clock went back: keep 7
    }

    @Test
    void copiesOfAnEventShareABucketAndInvalidRecordsGoToBucketZero() {
        FirstSeen.Bucket bucket = new FirstSeen.Bucket(0, 1);
        int a = bucket.getKey(GenericRowData.of(StringData.fromString("event-1"), false));
        assertEquals(a, (int) bucket.getKey(GenericRowData.of(StringData.fromString("event-1"), false)));
        assertEquals(0, (int) bucket.getKey(GenericRowData.of(StringData.fromString("event-1"), true)));
        assertEquals(0, (int) bucket.getKey(GenericRowData.of(null, false)));
        long distinct = java.util.stream.IntStream.range(0, 1000)
                .map(i -> bucket.getKey(GenericRowData.of(StringData.fromString("e-" + i), false)))
                .distinct().count();
        assertNotEquals(1, distinct);
        assertEquals(true, distinct > 800, "ids spread over the buckets: " + distinct);
    }
}
