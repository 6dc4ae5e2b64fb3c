package io.fleetpulse.connect.dynamodb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.junit.jupiter.api.Test;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

class ItemMapperTest {

    private static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1_700_000_000L), ZoneOffset.UTC);
    private final ItemMapper mapper = new ItemMapper("device_id", "ts", "", 0, CLOCK);

    private Map<String, AttributeValue> map(Object value) throws BadRecordException {
        return mapper.toItem(value);
    }

    private String badReason(Object value) {
        return assertThrows(BadRecordException.class, () -> mapper.toItem(value)).getMessage();
    }

    @Test
    void mapsEveryJsonTypeWithNumbersAsExactText() throws Exception {
        Map<String, AttributeValue> item = map("{\"device_id\":\"d1\",\"ts\":1732320000123,\"temperature_c\":47.25,"
                + "\"trailing\":47.250,\"hundred\":100.0,\"exp\":1e5,\"neg\":-0.5,\"big\":123456789012345678901234567890,"
                + "\"name\":\"pump 7\",\"ok\":true,\"off\":false,\"gone\":null,\"empty\":\"\"}");
        assertEquals(AttributeValue.fromS("d1"), item.get("device_id"));
        assertEquals(AttributeValue.fromN("1732320000123"), item.get("ts"));
        assertEquals(AttributeValue.fromN("47.25"), item.get("temperature_c"));
        assertEquals(AttributeValue.fromN("47.250"), item.get("trailing"));
        assertEquals(AttributeValue.fromN("100.0"), item.get("hundred"));
        assertEquals(AttributeValue.fromN("1E+5"), item.get("exp"));
        assertEquals(AttributeValue.fromN("-0.5"), item.get("neg"));
        assertEquals(AttributeValue.fromN("123456789012345678901234567890"), item.get("big"));
        assertEquals(AttributeValue.fromS("pump 7"), item.get("name"));
        assertEquals(AttributeValue.fromBool(true), item.get("ok"));
        assertEquals(AttributeValue.fromBool(false), item.get("off"));
        assertEquals(AttributeValue.fromNul(true), item.get("gone"));
        assertEquals(AttributeValue.fromS(""), item.get("empty"));
        assertEquals(13, item.size());
    }

    @Test
    void floatsKeepTheirDigitsInsteadOfGoingThroughDouble() throws Exception {
        Map<String, AttributeValue> item = map("{\"device_id\":\"d1\",\"ts\":1,\"x\":0.1000000000000000055511151231257827,"
                + "\"y\":9007199254740993}");
        assertEquals("0.1000000000000000055511151231257827", item.get("x").n());
        assertEquals("9007199254740993", item.get("y").n()); // 2^53 + 1, not representable as a double
    }

    @Test
    void nestedObjectsAndArraysBecomeMapsAndLists() throws Exception {
        Map<String, AttributeValue> item = map("{\"device_id\":\"d1\",\"ts\":1,"
                + "\"gps\":{\"lat\":52.52,\"lon\":13.405,\"fix\":{\"sats\":7}},"
                + "\"tags\":[\"a\",\"a\",1,1.5,null,{\"k\":\"v\"},[]],\"none\":[],\"obj\":{}}");
        AttributeValue gps = item.get("gps");
        assertEquals(AttributeValue.fromN("52.52"), gps.m().get("lat"));
        assertEquals(AttributeValue.fromN("7"), gps.m().get("fix").m().get("sats"));
        List<AttributeValue> tags = item.get("tags").l();
        assertEquals(List.of(AttributeValue.fromS("a"), AttributeValue.fromS("a"), AttributeValue.fromN("1"),
                AttributeValue.fromN("1.5"), AttributeValue.fromNul(true),
                AttributeValue.fromM(Map.of("k", AttributeValue.fromS("v"))), AttributeValue.fromL(List.of())), tags);
        assertTrue(item.get("none").hasL());
        assertTrue(item.get("none").l().isEmpty());
        assertFalse(item.get("none").hasSs());
        assertTrue(item.get("obj").hasM());
        assertTrue(item.get("obj").m().isEmpty());
    }

    @Test
    void acceptsUtf8BytesAndSchemalessMaps() throws Exception {
        byte[] bytes = "{\"device_id\":\"dé\",\"ts\":5,\"t\":21.5}".getBytes(StandardCharsets.UTF_8);
        Map<String, AttributeValue> fromBytes = map(bytes);
        assertEquals("dé", fromBytes.get("device_id").s());
        assertEquals("21.5", fromBytes.get("t").n());

        Map<String, Object> value = new LinkedHashMap<>();
        value.put("device_id", "d2");
        value.put("ts", 1732320000123L);
        value.put("temperature_c", 47.25d);
        value.put("flags", List.of(true, "x"));
        value.put("nothing", null);
        Map<String, AttributeValue> fromMap = map(value);
        assertEquals(AttributeValue.fromN("1732320000123"), fromMap.get("ts"));
        assertEquals(AttributeValue.fromN("47.25"), fromMap.get("temperature_c"));
        assertEquals(List.of(AttributeValue.fromBool(true), AttributeValue.fromS("x")), fromMap.get("flags").l());
        assertEquals(AttributeValue.fromNul(true), fromMap.get("nothing"));
    }

    @Test
    void rejectsBadRecordsWithAClearReason() {
        assertTrue(badReason("not json at all").contains("not valid JSON"));
        assertTrue(badReason("{\"device_id\":\"d1\",\"ts\":1} trailing").contains("not valid JSON"));
        assertTrue(badReason("[1,2]").contains("not a JSON object"));
        assertTrue(badReason("42").contains("not a JSON object"));
        assertTrue(badReason("").contains("empty input"));
        assertTrue(badReason(null).contains("tombstone"));
        assertTrue(badReason("{\"ts\":1}").contains("missing partition key attribute 'device_id'"));
        assertTrue(badReason("{\"device_id\":\"d1\"}").contains("missing sort key attribute 'ts'"));
        assertTrue(badReason("{\"device_id\":\"\",\"ts\":1}").contains("non-empty string or a number"));
        assertTrue(badReason("{\"device_id\":{\"a\":1},\"ts\":1}").contains("non-empty string or a number"));
        assertTrue(badReason("{\"device_id\":null,\"ts\":1}").contains("non-empty string or a number"));
        assertTrue(badReason(Map.of("device_id", "d", "ts", 1, "x", Double.NaN)).contains("cannot store"));
        assertTrue(badReason("{\"device_id\":\"d\",\"ts\":1,\"x\":1e200}").contains("number range"));
        assertTrue(badReason("{\"device_id\":\"d\",\"ts\":1,\"x\":1.234567890123456789012345678901234567891}")
                .contains("significant digits"));
        assertTrue(badReason(12L).contains("unsupported value type"));
        Struct struct = new Struct(SchemaBuilder.struct().field("device_id", SchemaBuilder.string()).build())
                .put("device_id", "d");
        assertTrue(badReason(struct).contains("Struct values are not supported"));
    }

    @Test
    void rejectsItemsOverTheSizeAndDepthLimits() {
        String big = "x".repeat(ItemMapper.MAX_ITEM_BYTES);
        assertTrue(badReason("{\"device_id\":\"d\",\"ts\":1,\"blob\":\"" + big + "\"}").contains("item size limit"));

        String deep = "[".repeat(ItemMapper.MAX_DEPTH + 1) + "]".repeat(ItemMapper.MAX_DEPTH + 1);
        assertTrue(badReason("{\"device_id\":\"d\",\"ts\":1,\"deep\":" + deep + "}").contains("nested deeper"));
        String ok = "[".repeat(ItemMapper.MAX_DEPTH) + "]".repeat(ItemMapper.MAX_DEPTH);
        assertEquals(3, assertDoesNotThrow("{\"device_id\":\"d\",\"ts\":1,\"deep\":" + ok + "}").size());
    }

    private Map<String, AttributeValue> assertDoesNotThrow(String json) {
        try {
            return mapper.toItem(json);
        } catch (BadRecordException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void tableWithoutSortKeyNeedsOnlyPartitionKey() throws Exception {
        ItemMapper hashOnly = new ItemMapper("device_id", "", "", 0, CLOCK);
        Map<String, AttributeValue> item = hashOnly.toItem("{\"device_id\":7}");
        assertEquals(new ItemKey(AttributeValue.fromN("7"), null), hashOnly.keyOf(item));
    }

    @Test
    void ttlUsesEpochMillisSortKeyOrNow() throws Exception {
        ItemMapper ttl = new ItemMapper("device_id", "ts", "expires_at", 86_400, CLOCK);
        assertEquals(AttributeValue.fromN(Long.toString(1732320000L + 86_400)),
                ttl.toItem("{\"device_id\":\"d\",\"ts\":1732320000123}").get("expires_at"));
        // Not epoch millis (seconds, or a string sort key): fall back to the clock.
        assertEquals(AttributeValue.fromN(Long.toString(1_700_000_000L + 86_400)),
                ttl.toItem("{\"device_id\":\"d\",\"ts\":1732320000}").get("expires_at"));
        assertEquals(AttributeValue.fromN(Long.toString(1_700_000_000L + 86_400)),
                ttl.toItem("{\"device_id\":\"d\",\"ts\":\"2024-11-23T00:00:00Z\"}").get("expires_at"));
        // Disabled by default.
        assertFalse(map("{\"device_id\":\"d\",\"ts\":1732320000123}").containsKey("expires_at"));
    }

    @Test
    void sortKeyFieldsComposeAStringSortKey() throws Exception {
        ItemMapper events = new ItemMapper("device_id", "event_key", List.of("kind", "ts"), "", 0, CLOCK);
        Map<String, AttributeValue> item = events.toItem("{\"device_id\":\"d\",\"kind\":\"liveness\",\"ts\":1795000000000}");
        assertEquals(AttributeValue.fromS("liveness#1795000000000"), item.get("event_key"));
        assertEquals(new ItemKey(AttributeValue.fromS("d"), AttributeValue.fromS("liveness#1795000000000")),
                events.keyOf(item));
        // A missing part is a bad record, not an item with a half key.
        assertThrows(BadRecordException.class,
                () -> events.toItem("{\"device_id\":\"d\",\"ts\":1795000000000}"));
    }
    @Test
    void toItemsGivesOneItemForAnObjectAndOnePerElementForAnArray() throws Exception {
        assertEquals(1, mapper.toItems("{\"device_id\":\"d1\",\"ts\":1}").items().size());
        ItemMapper.Mapped mapped = mapper.toItems(
                "[{\"device_id\":\"d1\",\"ts\":1,\"t\":2.50},[1],{\"device_id\":\"d2\",\"ts\":2}]");
        assertEquals(List.of("d1", "d2"), mapped.items().stream().map(i -> i.get("device_id").s()).toList());
        assertEquals(AttributeValue.fromN("2.50"), mapped.items().get(0).get("t"));
        assertEquals(List.of("[1] value is not a JSON object but a JSON array"), mapped.badElements());
        BadRecordException empty = assertThrows(BadRecordException.class, () -> mapper.toItems(" [ ] "));
        assertTrue(empty.getMessage().contains("empty JSON array"), empty.getMessage());
        assertThrows(BadRecordException.class, () -> mapper.toItems("[{\"device_id\":\"d1\""));
        assertThrows(BadRecordException.class, () -> mapper.toItems("{\"ts\":1}"));
    }
}
