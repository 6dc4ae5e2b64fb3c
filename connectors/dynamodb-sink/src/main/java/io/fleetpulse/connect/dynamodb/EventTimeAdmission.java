package io.fleetpulse.connect.dynamodb;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The project's event-time admission (schemas/admission.py) as the sink sees it: a reading whose event time is
 * more than {@code maxAheadMs} ahead of its Kafka record's timestamp, or more than {@code maxAgeMs} behind it, is
 * not written (it goes to the dead-letter queue with the reason). The worker refuses the same readings, so the
 * stored readings and the scored ones agree. A bound of 0 is no bound; an empty field switches it off.
 */
final class EventTimeAdmission {
    static final EventTimeAdmission OFF = new EventTimeAdmission("", 0, 0);

    private final String field;
    private final long maxAheadMs;
    private final long maxAgeMs;

    EventTimeAdmission(String field, long maxAheadMs, long maxAgeMs) {
        this.field = field == null ? "" : field;
        this.maxAheadMs = maxAheadMs;
        this.maxAgeMs = maxAgeMs;
    }

    static EventTimeAdmission fromConfig(DynamoDbSinkConfig config) {
        return new EventTimeAdmission(config.eventTimeField(), config.eventTimeMaxAheadMs(), config.eventTimeMaxAgeMs());
    }

    /** Throws when the element's event time is outside the bounds around {@code recordTimestampMs}. */
    void check(JsonNode element, Long recordTimestampMs) throws BadRecordException {
        if (field.isEmpty() || recordTimestampMs == null || recordTimestampMs < 0) {
            return;
        }
        JsonNode ts = element.get(field);
        if (ts == null || !ts.canConvertToLong()) {
            return; // the item's own key checks say what is wrong with a missing or odd event time
        }
        long eventMs = ts.asLong();
        if (maxAheadMs > 0 && eventMs > recordTimestampMs + maxAheadMs) {
            throw new BadRecordException("future_time: " + field + " " + eventMs + " is "
                    + (eventMs - recordTimestampMs) / 1000 + " s ahead of the record's time " + recordTimestampMs
                    + " (at most " + maxAheadMs / 1000 + " s)");
        }
        if (maxAgeMs > 0 && eventMs < recordTimestampMs - maxAgeMs) {
            throw new BadRecordException("too_old: " + field + " " + eventMs + " is "
                    + (recordTimestampMs - eventMs) / 1000 + " s older than the record's time " + recordTimestampMs
                    + " (at most " + maxAgeMs / 1000 + " s)");
        }
    }
}
