package io.fleetpulse.connect.dynamodb;

import java.net.URI;
import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.Width;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/** Configuration of the DynamoDB sink connector and its tasks. */
public final class DynamoDbSinkConfig extends AbstractConfig {

    /** DynamoDB's own limit on the number of put requests in one BatchWriteItem call. */
    public static final int MAX_BATCH_SIZE = 25;

    public static final String TABLE = "dynamodb.table";
    public static final String REGION = "dynamodb.region";
    public static final String ENDPOINT = "dynamodb.endpoint";
    public static final String ACCESS_KEY_ID = "aws.access.key.id";
    public static final String SECRET_ACCESS_KEY = "aws.secret.access.key";
    public static final String PARTITION_KEY = "dynamodb.partition.key";
    public static final String SORT_KEY = "dynamodb.sort.key";
    public static final String SORT_KEY_FIELDS = "dynamodb.sort.key.fields";
    public static final String BATCH_SIZE = "dynamodb.batch.size";
    public static final String TTL_ATTRIBUTE = "dynamodb.ttl.attribute";
    public static final String TTL_SECONDS = "dynamodb.ttl.seconds";
    public static final String MAX_IN_FLIGHT = "dynamodb.max.in.flight";
    public static final String RETRY_BACKOFF_MS = "dynamodb.retry.backoff.ms";
    public static final String RETRY_BACKOFF_MAX_MS = "dynamodb.retry.backoff.max.ms";
    public static final String RETRY_TIMEOUT_MS = "dynamodb.retry.timeout.ms";
    public static final String API_TIMEOUT_MS = "dynamodb.api.timeout.ms";
    public static final String EVENT_TIME_FIELD = "dynamodb.event.time.field";
    public static final String EVENT_TIME_MAX_AHEAD_MS = "dynamodb.event.time.max.ahead.ms";
    public static final String EVENT_TIME_MAX_AGE_MS = "dynamodb.event.time.max.age.ms";

    private static final String GROUP_TABLE = "DynamoDB table";
    private static final String GROUP_AWS = "AWS connection";
    private static final String GROUP_WRITES = "Writes and retries";

    public static final ConfigDef CONFIG_DEF = configDef();

    public DynamoDbSinkConfig(Map<?, ?> props) {
        super(CONFIG_DEF, props);
        boolean hasId = !accessKeyId().isEmpty();
        boolean hasSecret = !secretAccessKey().isEmpty();
        if (hasId != hasSecret) {
            throw new ConfigException(ACCESS_KEY_ID + " and " + SECRET_ACCESS_KEY
                    + " must be set together (or both left empty to use the default AWS credentials chain)");
        }
        if (!sortKeyFields().isEmpty() && sortKey().isEmpty()) {
            throw new ConfigException(SORT_KEY_FIELDS, sortKeyFields(), "needs " + SORT_KEY + " to name the attribute");
        }
        if (!sortKey().isEmpty() && sortKey().equals(partitionKey())) {
            throw new ConfigException(SORT_KEY, sortKey(), "must differ from " + PARTITION_KEY);
        }
    }

    private static ConfigDef configDef() {
        int order = 0;
        ConfigDef def = new ConfigDef();
        def.define(TABLE, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
                Importance.HIGH, "Name of the DynamoDB table to write items to. The table must exist.",
                GROUP_TABLE, ++order, Width.MEDIUM, "Table");
        def.define(PARTITION_KEY, Type.STRING, "device_id", new ConfigDef.NonEmptyString(),
                Importance.HIGH, "Name of the table's partition (hash) key attribute. Every record must contain it"
                        + " as a non-empty string or a number; records without it are treated as bad records.",
                GROUP_TABLE, ++order, Width.MEDIUM, "Partition key");
        def.define(SORT_KEY, Type.STRING, "ts", Importance.HIGH,
                "Name of the table's sort (range) key attribute, or empty if the table has no sort key."
                        + " When set, every record must contain it as a non-empty string or a number.",
                GROUP_TABLE, ++order, Width.MEDIUM, "Sort key");
        def.define(SORT_KEY_FIELDS, Type.LIST, "", Importance.MEDIUM,
                "Optional record fields whose values, joined by '#', make the sort key (a string), e.g."
                        + " 'kind,ts' gives 'liveness#1795000000000'. For records whose natural key has several"
                        + " parts; empty means the sort key is taken from the record as is.",
                GROUP_TABLE, ++order, Width.MEDIUM, "Sort key fields");
        def.define(TTL_ATTRIBUTE, Type.STRING, "", Importance.LOW,
                "Name of a number attribute to stamp with an expiry time (epoch seconds) for DynamoDB TTL."
                        + " Only used when " + TTL_SECONDS + " > 0. Overwrites any value the record carries.",
                GROUP_TABLE, ++order, Width.MEDIUM, "TTL attribute");
        def.define(TTL_SECONDS, Type.LONG, 0L, Range.atLeast(0), Importance.LOW,
                "Lifetime in seconds added to the record's time to compute the TTL attribute. The record's time is"
                        + " its sort key value divided by 1000 when that value is an integer in epoch milliseconds"
                        + " (1e11 <= v < 1e14), otherwise the wall-clock time of the write. 0 disables TTL.",
                GROUP_TABLE, ++order, Width.SHORT, "TTL seconds");

        order = 0;
        def.define(REGION, Type.STRING, "us-east-1", new ConfigDef.NonEmptyString(), Importance.HIGH,
                "AWS region of the table.", GROUP_AWS, ++order, Width.SHORT, "Region");
        def.define(ENDPOINT, Type.STRING, "", DynamoDbSinkConfig::validateEndpoint, Importance.MEDIUM,
                "Optional endpoint URL override, e.g. http://127.0.0.1:8000 for a local DynamoDB-compatible server."
                        + " Empty means the regional AWS endpoint.",
                GROUP_AWS, ++order, Width.LONG, "Endpoint override");
        def.define(ACCESS_KEY_ID, Type.PASSWORD, "", Importance.MEDIUM,
                "Static AWS access key id. Leave this and " + SECRET_ACCESS_KEY + " empty to use the default AWS"
                        + " credentials provider chain (environment, system properties, web identity/IRSA,"
                        + " container and instance profiles). May be given as a config provider reference"
                        + " such as ${env:AWS_ACCESS_KEY_ID}.",
                GROUP_AWS, ++order, Width.MEDIUM, "Access key id");
        def.define(SECRET_ACCESS_KEY, Type.PASSWORD, "", Importance.MEDIUM,
                "Static AWS secret access key; see " + ACCESS_KEY_ID + ".",
                GROUP_AWS, ++order, Width.MEDIUM, "Secret access key");
        def.define(API_TIMEOUT_MS, Type.INT, 5000, Range.between(500, 120_000), Importance.LOW,
                "Upper bound in milliseconds for one DynamoDB API call including the SDK's own retries, so an"
                        + " unreachable endpoint fails fast and the task hands the batch back to Connect.",
                GROUP_AWS, ++order, Width.SHORT, "API call timeout (ms)");

        order = 0;
        def.define(BATCH_SIZE, Type.INT, MAX_BATCH_SIZE, Range.between(1, MAX_BATCH_SIZE), Importance.MEDIUM,
                "Maximum number of items per BatchWriteItem request (DynamoDB allows at most 25).",
                GROUP_WRITES, ++order, Width.SHORT, "Batch size");
        def.define(MAX_IN_FLIGHT, Type.INT, 8, Range.between(1, 64), Importance.MEDIUM,
                "BatchWriteItem calls one task keeps in flight at once. A put() of Connect's records is split"
                        + " into batches of distinct keys, written concurrently, and put() returns only when all"
                        + " of them are written, so offsets are never committed ahead of DynamoDB.",
                GROUP_WRITES, ++order, Width.SHORT, "Max in-flight batches");
        def.define(RETRY_BACKOFF_MS, Type.LONG, 50L, Range.between(1, 60_000), Importance.MEDIUM,
                "Base of the exponential backoff between retries of throttled, failed (5xx, unreachable) or"
                        + " unprocessed writes: the wait before retry n is uniformly random in"
                        + " [0, min(" + RETRY_BACKOFF_MAX_MS + ", base * 2^n)] (full jitter).",
                GROUP_WRITES, ++order, Width.SHORT, "Retry backoff (ms)");
        def.define(RETRY_BACKOFF_MAX_MS, Type.LONG, 10_000L, Range.between(1, 300_000), Importance.LOW,
                "Cap of the exponential backoff bound.", GROUP_WRITES, ++order, Width.SHORT, "Retry backoff cap (ms)");
        def.define(RETRY_TIMEOUT_MS, Type.LONG, 180_000L, Range.between(0, 86_400_000), Importance.MEDIUM,
                "Longest time one batch is retried. Past it the task fails (loudly, with the last error) instead of"
                        + " dropping the records: their offsets were not committed, so a restarted task rewrites"
                        + " them. Keep it below the consumer's max.poll.interval.ms (5 min by default): put() holds"
                        + " the task's consumer while it retries.",
                GROUP_WRITES, ++order, Width.SHORT, "Retry time (ms)");
        def.define(EVENT_TIME_FIELD, Type.STRING, "", Importance.MEDIUM,
                "Field holding the event time (epoch ms) to judge against the record's timestamp; empty = not judged."
                        + " Out of bounds: dead-lettered future_time or too_old, like the worker does.",
                GROUP_WRITES, ++order, Width.SHORT, "Event-time field");
        def.define(EVENT_TIME_MAX_AHEAD_MS, Type.LONG, 300_000L, Range.atLeast(0), Importance.LOW,
                "Most an event time may be ahead of its record's timestamp (0 = no bound).",
                GROUP_WRITES, ++order, Width.SHORT, "Event time max ahead (ms)");
        def.define(EVENT_TIME_MAX_AGE_MS, Type.LONG, 604_800_000L, Range.atLeast(0), Importance.LOW,
                "Most an event time may be behind its record's timestamp (0 = no bound).",
                GROUP_WRITES, ++order, Width.SHORT, "Event time max age (ms)");
        return def;
    }

    private static void validateEndpoint(String name, Object value) {
        String s = value == null ? "" : value.toString().trim();
        if (s.isEmpty()) {
            return;
        }
        try {
            URI uri = URI.create(s);
            if (uri.getScheme() == null || uri.getHost() == null
                    || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))) {
                throw new ConfigException(name, value, "must be an absolute http(s) URL");
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(name, value, "is not a valid URL: " + e.getMessage());
        }
    }

    public String table() {
        return getString(TABLE);
    }

    public String region() {
        return getString(REGION);
    }

    /** The endpoint override, or null when the regional AWS endpoint should be used. */
    public URI endpoint() {
        String s = getString(ENDPOINT).trim();
        return s.isEmpty() ? null : URI.create(s);
    }

    public String accessKeyId() {
        return passwordValue(ACCESS_KEY_ID);
    }

    public String secretAccessKey() {
        return passwordValue(SECRET_ACCESS_KEY);
    }

    public String partitionKey() {
        return getString(PARTITION_KEY).trim();
    }

    /** The sort key attribute name, or the empty string when the table has no sort key. */
    public String sortKey() {
        return getString(SORT_KEY).trim();
    }

    /** Fields composing the sort key, or an empty list when the record carries it. */
    public java.util.List<String> sortKeyFields() {
        return getList(SORT_KEY_FIELDS).stream().map(String::trim).filter(f -> !f.isEmpty()).toList();
    }

    public int batchSize() {
        return getInt(BATCH_SIZE);
    }

    public String ttlAttribute() {
        return getString(TTL_ATTRIBUTE).trim();
    }

    public long ttlSeconds() {
        return getLong(TTL_SECONDS);
    }

    public int maxInFlight() {
        return getInt(MAX_IN_FLIGHT);
    }

    public long retryBackoffMs() {
        return getLong(RETRY_BACKOFF_MS);
    }

    public long retryBackoffMaxMs() {
        return getLong(RETRY_BACKOFF_MAX_MS);
    }

    public long retryTimeoutMs() {
        return getLong(RETRY_TIMEOUT_MS);
    }

    public int apiTimeoutMs() {
        return getInt(API_TIMEOUT_MS);
    }

    public String eventTimeField() {
        return getString(EVENT_TIME_FIELD).trim();
    }

    public long eventTimeMaxAheadMs() {
        return getLong(EVENT_TIME_MAX_AHEAD_MS);
    }

    public long eventTimeMaxAgeMs() {
        return getLong(EVENT_TIME_MAX_AGE_MS);
    }

    private String passwordValue(String key) {
        Password p = getPassword(key);
        return p == null || p.value() == null ? "" : p.value().trim();
    }
}
