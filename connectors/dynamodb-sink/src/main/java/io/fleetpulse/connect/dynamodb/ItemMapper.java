package io.fleetpulse.connect.dynamodb;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Turns a record value holding a JSON object into a DynamoDB item, or a JSON array of objects (a batch envelope,
 * e.g. several readings in one Kafka message) into one item per element.
 *
 * <p>JSON number → N (decimal text kept exactly, never converted through double), string → S, boolean → BOOL,
 * null → NULL, object → M, array → L. The value may be a JSON String, UTF-8 JSON bytes, or the Map produced by
 * Connect's schemaless JsonConverter.
 */
final class ItemMapper {

    /** DynamoDB's maximum item size. */
    static final int MAX_ITEM_BYTES = 400 * 1024;
    /** DynamoDB's maximum nesting depth of M/L attributes. */
    static final int MAX_DEPTH = 32;

    private static final int MAX_NUMBER_PRECISION = 38;
    private static final BigDecimal MAX_NUMBER = new BigDecimal("9.9999999999999999999999999999999999999E+125");
    private static final BigDecimal MIN_POSITIVE_NUMBER = new BigDecimal("1E-130");
    private static final BigDecimal EPOCH_MILLIS_LOW = new BigDecimal("1E11");
    private static final BigDecimal EPOCH_MILLIS_HIGH = new BigDecimal("1E14");

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            // Keep "47.250" and "100.0" as written instead of normalising to 47.25 / 1E+2.
            .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .build();

    private final String partitionKey;
    private final String sortKey;
    private final List<String> sortKeyFields;
    private final EventTimeAdmission admission;
    private final String ttlAttribute;
    private final long ttlSeconds;
    private final Clock clock;

    ItemMapper(String partitionKey, String sortKey, String ttlAttribute, long ttlSeconds, Clock clock) {
        this(partitionKey, sortKey, List.of(), ttlAttribute, ttlSeconds, clock);
    }

    ItemMapper(String partitionKey, String sortKey, List<String> sortKeyFields, String ttlAttribute,
            long ttlSeconds, Clock clock) {
        this(partitionKey, sortKey, sortKeyFields, ttlAttribute, ttlSeconds, clock, EventTimeAdmission.OFF);
    }

    ItemMapper(String partitionKey, String sortKey, List<String> sortKeyFields, String ttlAttribute,
            long ttlSeconds, Clock clock, EventTimeAdmission admission) {
        this.admission = admission;
        this.partitionKey = partitionKey;
        this.sortKey = sortKey == null ? "" : sortKey;
        this.sortKeyFields = List.copyOf(sortKeyFields);
        this.ttlAttribute = ttlAttribute == null ? "" : ttlAttribute;
        this.ttlSeconds = ttlSeconds;
        this.clock = clock;
    }

    static ItemMapper fromConfig(DynamoDbSinkConfig config) {
        return new ItemMapper(config.partitionKey(), config.sortKey(), config.sortKeyFields(),
                config.ttlAttribute(), config.ttlSeconds(),
                Clock.systemUTC(), EventTimeAdmission.fromConfig(config));
    }

    /** The items of one record and, for a batch envelope, why each bad element cannot be written. */
    record Mapped(List<Map<String, AttributeValue>> items, List<String> badElements) {
    }

    /**
     * Maps a record value to its items: one for a JSON object, one per element for a JSON array of objects. A bad
     * element does not stop the others; it is listed in {@link Mapped#badElements()} as "[index] reason". A value
     * that is bad as a whole (not JSON, neither object nor array, an empty array, a bad single object) throws.
     */
    Mapped toItems(Object value) throws BadRecordException {
        return toItems(value, null);
    }

    /** As {@link #toItems(Object)}, judging each element's event time against the record's timestamp. */
    Mapped toItems(Object value, Long recordTimestampMs) throws BadRecordException {
        JsonNode root = parse(value);
        if (!root.isArray()) {
            admission.check(root, recordTimestampMs);
            return new Mapped(List.of(toItem(root)), List.of());
        }
        if (root.isEmpty()) {
            throw new BadRecordException("value is an empty JSON array (a batch envelope with no elements)");
        }
        List<Map<String, AttributeValue>> items = new ArrayList<>(root.size());
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            try {
                admission.check(root.get(i), recordTimestampMs);
                items.add(toItem(root.get(i)));
            } catch (BadRecordException e) {
                bad.add("[" + i + "] " + e.getMessage());
            }
        }
        return new Mapped(items, bad);
    }

    /** Maps a record value holding one JSON object to an item, or explains why it cannot be written. */
    Map<String, AttributeValue> toItem(Object value) throws BadRecordException {
        return toItem(parse(value));
    }

    private Map<String, AttributeValue> toItem(JsonNode root) throws BadRecordException {
        if (!root.isObject()) {
            throw new BadRecordException("value is not a JSON object but " + describe(root));
        }
        Map<String, AttributeValue> item = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            item.put(field.getKey(), attribute(field.getValue(), 1, field.getKey()));
        }
        if (!sortKeyFields.isEmpty()) {
            item.put(sortKey, AttributeValue.fromS(compositeKey(item)));
        }
        checkKeyAttribute(item, partitionKey, "partition");
        if (!sortKey.isEmpty()) {
            checkKeyAttribute(item, sortKey, "sort");
        }
        if (!ttlAttribute.isEmpty() && ttlSeconds > 0) {
            item.put(ttlAttribute, AttributeValue.fromN(Long.toString(recordEpochSeconds(item) + ttlSeconds)));
        }
        long size = itemSize(item);
        if (size > MAX_ITEM_BYTES) {
            throw new BadRecordException("item is about " + size + " bytes, over DynamoDB's " + MAX_ITEM_BYTES
                    + "-byte item size limit");
        }
        return item;
    }

    /** The primary key of an item returned by {@link #toItem}. */
    ItemKey keyOf(Map<String, AttributeValue> item) {
        return new ItemKey(item.get(partitionKey), sortKey.isEmpty() ? null : item.get(sortKey));
    }

    private static JsonNode parse(Object value) throws BadRecordException {
        if (value == null) {
            throw new BadRecordException("value is null (tombstone); deletes are not supported");
        }
        try {
            if (value instanceof String s) {
                return JSON.readTree(s);
            }
            if (value instanceof byte[] bytes) {
                return JSON.readTree(bytes);
            }
            if (value instanceof Map<?, ?> map) {
                return JSON.valueToTree(map);
            }
        } catch (JsonProcessingException e) {
            throw new BadRecordException("value is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException | IllegalArgumentException e) {
            throw new BadRecordException("value cannot be read as JSON: " + e.getMessage());
        }
        if (value instanceof Struct) {
            throw new BadRecordException("Struct values are not supported; use a StringConverter, or a"
                    + " JsonConverter with schemas.enable=false");
        }
        throw new BadRecordException("unsupported value type " + value.getClass().getName()
                + "; expected a JSON String, UTF-8 JSON bytes or a Map");
    }

    private static AttributeValue attribute(JsonNode node, int depth, String path) throws BadRecordException {
        switch (node.getNodeType()) {
            case STRING:
                return AttributeValue.fromS(node.textValue());
            case NUMBER:
                return AttributeValue.fromN(numberText(node, path));
            case BOOLEAN:
                return AttributeValue.fromBool(node.booleanValue());
            case NULL:
                return AttributeValue.fromNul(true);
            case BINARY:
                try {
                    return AttributeValue.fromB(SdkBytes.fromByteArray(node.binaryValue()));
                } catch (IOException e) {
                    throw new BadRecordException("attribute '" + path + "' holds unreadable binary data");
                }
            case OBJECT: {
                checkDepth(depth, path);
                Map<String, AttributeValue> m = new LinkedHashMap<>();
                for (Map.Entry<String, JsonNode> f : node.properties()) {
                    m.put(f.getKey(), attribute(f.getValue(), depth + 1, path + "." + f.getKey()));
                }
                return AttributeValue.fromM(m);
            }
            case ARRAY: {
                checkDepth(depth, path);
                List<AttributeValue> l = new ArrayList<>(node.size());
                for (int i = 0; i < node.size(); i++) {
                    l.add(attribute(node.get(i), depth + 1, path + "[" + i + "]"));
                }
                return AttributeValue.fromL(l);
            }
            default:
                throw new BadRecordException("attribute '" + path + "' has unsupported JSON type "
                        + node.getNodeType());
        }
    }

    /** The number's decimal text: exactly as written for parsed JSON; shortest round-trip text for doubles. */
    private static String numberText(JsonNode node, String path) throws BadRecordException {
        if (node.isDouble() || node.isFloat()) {
            double d = node.doubleValue();
            if (!Double.isFinite(d)) {
                throw new BadRecordException("attribute '" + path + "' is " + d + ", which DynamoDB cannot store");
            }
        }
        String text = node.isFloat() ? Float.toString(node.floatValue())
                : node.isDouble() ? Double.toString(node.doubleValue())
                : node.numberValue().toString();
        BigDecimal v = new BigDecimal(text);
        BigDecimal abs = v.abs();
        if (v.signum() != 0 && (abs.compareTo(MAX_NUMBER) > 0 || abs.compareTo(MIN_POSITIVE_NUMBER) < 0)) {
            throw new BadRecordException("attribute '" + path + "' = " + text + " is outside DynamoDB's number range");
        }
        if (v.signum() != 0 && v.stripTrailingZeros().precision() > MAX_NUMBER_PRECISION) {
            throw new BadRecordException("attribute '" + path + "' = " + text + " has more than "
                    + MAX_NUMBER_PRECISION + " significant digits");
        }
        return text;
    }

    private static void checkDepth(int depth, String path) throws BadRecordException {
        if (depth > MAX_DEPTH) {
            throw new BadRecordException("attribute '" + path + "' is nested deeper than DynamoDB's limit of "
                    + MAX_DEPTH + " levels");
        }
    }

    private static void checkKeyAttribute(Map<String, AttributeValue> item, String name, String kind)
            throws BadRecordException {
        AttributeValue v = item.get(name);
        if (v == null) {
            throw new BadRecordException("missing " + kind + " key attribute '" + name + "'");
        }
        boolean ok = (v.s() != null && !v.s().isEmpty()) || v.n() != null;
        if (!ok) {
            throw new BadRecordException(kind + " key attribute '" + name
                    + "' must be a non-empty string or a number, got " + v.type());
        }
    }

    /** The values of the sort key fields joined by '#'; each must be a non-empty string or a number. */
    private String compositeKey(Map<String, AttributeValue> item) throws BadRecordException {
        StringBuilder key = new StringBuilder();
        for (String field : sortKeyFields) {
            checkKeyAttribute(item, field, "sort key field");
            AttributeValue v = item.get(field);
            key.append(key.length() == 0 ? "" : "#").append(v.s() != null ? v.s() : v.n());
        }
        return key.toString();
    }

    /** The record's time in epoch seconds: its sort key when that is epoch millis, else now. */
    private long recordEpochSeconds(Map<String, AttributeValue> item) {
        AttributeValue sk = sortKey.isEmpty() ? null : item.get(sortKey);
        if (sk != null && sk.n() != null) {
            BigDecimal v = new BigDecimal(sk.n());
            boolean integral = v.signum() == 0 || v.stripTrailingZeros().scale() <= 0;
            if (integral && v.compareTo(EPOCH_MILLIS_LOW) >= 0 && v.compareTo(EPOCH_MILLIS_HIGH) < 0) {
                return v.longValueExact() / 1000;
            }
        }
        return clock.instant().getEpochSecond();
    }

    /** Approximate item size per DynamoDB's documented sizing rules. */
    static long itemSize(Map<String, AttributeValue> item) {
        long total = 0;
        for (Map.Entry<String, AttributeValue> e : item.entrySet()) {
            total += utf8Length(e.getKey()) + attributeSize(e.getValue());
        }
        return total;
    }

    private static long attributeSize(AttributeValue v) {
        switch (v.type()) {
            case S:
                return utf8Length(v.s());
            case N:
                return (v.n().length() + 1) / 2 + 1;
            case B:
                return v.b().asByteArrayUnsafe().length;
            case M:
                return 3 + v.m().size() + itemSize(v.m());
            case L: {
                long size = 3 + v.l().size();
                for (AttributeValue e : v.l()) {
                    size += attributeSize(e);
                }
                return size;
            }
            default:
                return 1;
        }
    }

    private static long utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static String describe(JsonNode node) {
        return node.isMissingNode() ? "empty input" : "a JSON " + node.getNodeType().name().toLowerCase();
    }
}
