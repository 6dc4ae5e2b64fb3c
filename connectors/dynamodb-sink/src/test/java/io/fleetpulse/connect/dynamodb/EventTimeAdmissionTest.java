package io.fleetpulse.connect.dynamodb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;

class EventTimeAdmissionTest {

    private static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1_700_000_000L), ZoneOffset.UTC);
    private static final long RECORD_MS = 1_795_000_000_000L;
    private final ItemMapper mapper = new ItemMapper("device_id", "ts", List.of(), "", 0, CLOCK,
            new EventTimeAdmission("ts", 300_000L, 7 * 86_400_000L));

    private static String reading(long ts) {
        return "{\"device_id\":\"d1\",\"ts\":" + ts + ",\"temperature_c\":40.5}";
    }

    @Test
    void aReadingNearItsRecordTimeIsWritten() throws Exception {
        assertEquals(1, mapper.toItems(reading(RECORD_MS - 5_000), RECORD_MS).items().size());
        assertEquals(1, mapper.toItems(reading(RECORD_MS + 299_000), RECORD_MS).items().size());
    }

    @Test
    void farAheadOrFarBehindIsRefusedWithItsReason() {
        String ahead = assertThrows(BadRecordException.class,
                () -> mapper.toItems(reading(RECORD_MS + 60L * 86_400_000L), RECORD_MS)).getMessage();
        assertTrue(ahead.startsWith("future_time"), ahead);
        String behind = assertThrows(BadRecordException.class,
                () -> mapper.toItems(reading(RECORD_MS - 30L * 86_400_000L), RECORD_MS)).getMessage();
        assertTrue(behind.startsWith("too_old"), behind);
    }

    @Test
    void anEnvelopeLosesOnlyItsPoisonedElement() throws Exception {
        String envelope = "[" + reading(RECORD_MS) + "," + reading(RECORD_MS + 86_400_000L * 365 * 57) + ","
                + reading(RECORD_MS + 5_000) + "]";
        ItemMapper.Mapped mapped = mapper.toItems(envelope, RECORD_MS);
        assertEquals(2, mapped.items().size());
        assertEquals(1, mapped.badElements().size());
        assertTrue(mapped.badElements().get(0).startsWith("[1] future_time"), mapped.badElements().toString());
    }

    @Test
    void withoutARecordTimestampOrAFieldNothingIsJudged() throws Exception {
        assertEquals(1, mapper.toItems(reading(RECORD_MS + 86_400_000L * 365), null).items().size());
        ItemMapper off = new ItemMapper("device_id", "ts", "", 0, CLOCK);
        assertEquals(1, off.toItems(reading(RECORD_MS + 86_400_000L * 365), RECORD_MS).items().size());
    }
}
