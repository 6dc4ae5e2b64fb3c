package io.fleetpulse.connect.dynamodb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTaskContext;
import org.junit.jupiter.api.Test;

import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

class DynamoDbSinkTaskTest {

    /** Records reported errant records and requested timeouts. */
    static final class FakeContext implements SinkTaskContext {
        final boolean withReporter;
        final List<SinkRecord> reported = new ArrayList<>();
        final List<Throwable> errors = new ArrayList<>();
        final List<Long> timeouts = new ArrayList<>();

        FakeContext(boolean withReporter) {
            this.withReporter = withReporter;
        }

        @Override
        public ErrantRecordReporter errantRecordReporter() {
            return withReporter ? this::report : null;
        }

        private Future<Void> report(SinkRecord record, Throwable error) {
            reported.add(record);
            errors.add(error);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void timeout(long timeoutMs) {
            timeouts.add(timeoutMs);
        }

        @Override
        public Map<String, String> configs() {
            return Map.of();
        }

        @Override
        public void offset(Map<TopicPartition, Long> offsets) {
        }

        @Override
        public void offset(TopicPartition tp, long offset) {
        }

        @Override
        public Set<TopicPartition> assignment() {
            return Set.of();
        }

        @Override
        public void pause(TopicPartition... partitions) {
        }

        @Override
        public void resume(TopicPartition... partitions) {
        }

        @Override
        public void requestCommit() {
        }
    }

    private final FakeDynamoDb ddb = new FakeDynamoDb();
    private final FakeTime time = new FakeTime();

    private DynamoDbSinkTask startTask(FakeContext context, String... settings) {
        DynamoDbSinkTask task = new DynamoDbSinkTask(config -> ddb,
                config -> time.policy(config.retryBackoffMs(), config.retryBackoffMaxMs(), config.retryTimeoutMs()));
        task.initialize(context);
        Map<String, String> props = new HashMap<>(Map.of(DynamoDbSinkConfig.TABLE, "readings",
                DynamoDbSinkConfig.RETRY_BACKOFF_MS, "200"));
        for (int i = 0; i < settings.length; i += 2) {
            props.put(settings[i], settings[i + 1]);
        }
        task.start(props);
        return task;
    }

    private static SinkRecord record(long offset, String json) {
        return new SinkRecord("readings", 0, null, null, null, json, offset);
    }

    private static String reading(String device, long ts, String temperature) {
        return "{\"device_id\":\"" + device + "\",\"ts\":" + ts + ",\"temperature_c\":" + temperature + "}";
    }

    @Test
    void deduplicatesWithinABatchKeepingTheLastRecord() {
        DynamoDbSinkTask task = startTask(new FakeContext(true));
        task.put(List.of(
                record(0, reading("d1", 1000, "1.5")),
                record(1, reading("d2", 1000, "2.5")),
                record(2, reading("d1", 1000, "3.5")),
                record(3, reading("d1", 2000, "4.5")),
                record(4, reading("d1", 1000, "5.5"))));
        assertEquals(List.of(3), ddb.batchSizes);
        assertEquals(3, ddb.items.size());
        Map<String, AttributeValue> d1 = ddb.items.get(List.of(AttributeValue.fromS("d1"), AttributeValue.fromN("1000")));
        assertEquals(AttributeValue.fromN("5.5"), d1.get("temperature_c"));
        task.stop();
        assertTrue(ddb.closed);
    }

    @Test
    void badRecordsGoToTheReporterAfterTheGoodOnesAreWritten() {
        FakeContext context = new FakeContext(true);
        DynamoDbSinkTask task = startTask(context);
        task.put(List.of(record(0, reading("d1", 1, "1")), record(1, "not json"), record(2, "{\"ts\":5}"),
                record(3, reading("d2", 1, "2"))));
        assertEquals(2, ddb.items.size());
        assertEquals(List.of(1L, 2L), context.reported.stream().map(SinkRecord::kafkaOffset).toList());
        String message = context.errors.get(1).getMessage();
        assertTrue(message.contains("readings-0 offset 2") && message.contains("missing partition key"), message);
    }

    @Test
    void withoutReporterABadRecordFailsTheTask() {
        DynamoDbSinkTask task = startTask(new FakeContext(false));
        DataException e = assertThrows(DataException.class,
                () -> task.put(List.of(record(0, reading("d1", 1, "1")), record(7, "oops"))));
        assertTrue(e.getMessage().contains("readings-0 offset 7") && e.getMessage().contains("not valid JSON"));
    }

    @Test
    void transientFailuresAreRetriedWithinPutAndBadRecordsAreReportedOnce() {
        FakeContext context = new FakeContext(true);
        DynamoDbSinkTask task = startTask(context);
        List<SinkRecord> batch = List.of(record(0, reading("d1", 1, "1")), record(1, "poison"));
        ddb.script.add(SdkClientException.create("Connection refused"));
        ddb.script.add(FakeDynamoDb.serviceError("ThrottlingException", 400));
        task.put(batch);
        assertEquals(List.of(200L, 400L), time.sleeps);
        assertEquals(1, ddb.items.size());
        assertEquals(1, context.reported.size());
        assertTrue(context.timeouts.isEmpty(), "retried by the task itself, not handed back to Connect");
    }

    @Test
    void aWriteThatOutlastsTheRetryTimeFailsTheTaskAndReportsNothing() {
        FakeContext context = new FakeContext(true);
        DynamoDbSinkTask task = startTask(context, DynamoDbSinkConfig.RETRY_TIMEOUT_MS, "5000");
        for (int i = 0; i < 50; i++) {
            ddb.script.add(SdkClientException.create("Connection refused"));
        }
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(List.of(record(0, reading("d1", 1, "1")), record(1, "poison"))));
        assertFalse(e instanceof RetriableException);
        assertTrue(e.getMessage().contains("Connection refused"), e.getMessage());
        assertTrue(context.reported.isEmpty(), "the batch is redelivered after a restart: report it then, once");
        assertTrue(time.sleeps.stream().mapToLong(Long::longValue).sum() <= 5000);
    }

    /**
     * Many puts of several records per key, written 6 batches at a time while DynamoDB throttles a third of the
     * calls and leaves part of another third unprocessed: every key ends with its newest record, and no key was
     * ever written an older record after a newer one.
     */
    @Test
    void nothingIsLostOrReorderedPerKeyUnderThrottlingAndUnprocessedItems() {
        ddb.failAtRandom(7, 0.3, 0.3);
        ddb.keyAttributes = List.of("device_id");
        DynamoDbSinkTask task = startTask(new FakeContext(true), DynamoDbSinkConfig.SORT_KEY, "",
                DynamoDbSinkConfig.MAX_IN_FLIGHT, "6", DynamoDbSinkConfig.BATCH_SIZE, "5");
        int devices = 40;
        long offset = 0;
        for (int put = 0; put < 30; put++) {
            List<SinkRecord> records = new ArrayList<>();
            for (int i = 0; i < 3 * devices; i++, offset++) {
                String device = "d" + (i * 7 + put) % devices;
                records.add(record(offset, reading(device, 1_795_000_000_000L + offset, Long.toString(offset))));
            }
            task.put(records);
        }
        assertTrue(ddb.throttled > 50 && ddb.unprocessedReturned > 50,
                ddb.throttled + " throttled calls, " + ddb.unprocessedReturned + " unprocessed items");
        assertEquals(devices, ddb.items.size());
        long lastPut = 29L * 3 * devices;
        for (int d = 0; d < devices; d++) {
            List<Map<String, AttributeValue>> written = ddb.history.get(List.of(AttributeValue.fromS("d" + d)));
            List<Long> seq = written.stream().map(item -> Long.parseLong(item.get("temperature_c").n())).toList();
            assertEquals(seq.stream().sorted().toList(), seq, "d" + d + " written out of order: " + seq);
            assertTrue(seq.get(seq.size() - 1) >= lastPut, "d" + d + " does not end with its newest record");
        }
    }

    @Test
    void everyItemOfEveryRecordIsWrittenUnderThrottlingAndUnprocessedItems() {
        ddb.failAtRandom(11, 0.25, 0.35);
        DynamoDbSinkTask task = startTask(new FakeContext(true), DynamoDbSinkConfig.MAX_IN_FLIGHT, "8");
        long offset = 0;
        for (int put = 0; put < 10; put++) {
            List<SinkRecord> records = new ArrayList<>();
            for (int i = 0; i < 500; i++, offset++) {
                records.add(record(offset, reading("d" + offset % 50, offset, "1")));
            }
            task.put(records);
        }
        assertEquals(5000, ddb.items.size());
        assertTrue(ddb.throttled > 0 && ddb.unprocessedReturned > 0);
    }

    private static String array(String... elements) {
        return "[" + String.join(",", elements) + "]";
    }

    @Test
    void aBatchEnvelopeArrayBecomesOneItemPerElementAndDedupKeepsTheLast() {
        FakeContext context = new FakeContext(true);
        DynamoDbSinkTask task = startTask(context);
        task.put(List.of(
                record(0, array(reading("d1", 1000, "1.5"), reading("d2", 1000, "2.5"), reading("d1", 1000, "3.5"))),
                record(1, reading("d3", 1000, "4.5")),
                record(2, array(reading("d2", 1000, "5.5"), reading("d4", 1000, "6.5")))));
        assertEquals(4, ddb.items.size());
        assertEquals(List.of(4), ddb.batchSizes);
        assertEquals(AttributeValue.fromN("3.5"),
                ddb.items.get(List.of(AttributeValue.fromS("d1"), AttributeValue.fromN("1000"))).get("temperature_c"));
        assertEquals(AttributeValue.fromN("5.5"),
                ddb.items.get(List.of(AttributeValue.fromS("d2"), AttributeValue.fromN("1000"))).get("temperature_c"));
        assertTrue(context.reported.isEmpty());
    }

    @Test
    void anArraysGoodElementsAreWrittenAndTheRecordIsReportedOnceWithEachBadElement() {
        FakeContext context = new FakeContext(true);
        DynamoDbSinkTask task = startTask(context);
        task.put(List.of(record(5, array(reading("d1", 1, "1"), "{\"ts\":2}", "42", reading("d2", 1, "2"))),
                record(6, "[]"), record(7, array("\"x\"", "null"))));
        assertEquals(2, ddb.items.size());
        assertEquals(List.of(5L, 6L, 7L), context.reported.stream().map(SinkRecord::kafkaOffset).toList());
        String mixed = context.errors.get(0).getMessage();
        assertTrue(mixed.contains("readings-0 offset 5") && mixed.contains("2 of 4 array elements are bad (2 written)")
                && mixed.contains("[1] missing partition key") && mixed.contains("[2] value is not a JSON object"),
                mixed);
        assertTrue(context.errors.get(1).getMessage().contains("empty JSON array"));
        assertTrue(context.errors.get(2).getMessage().contains("2 of 2 array elements are bad (0 written)"));
    }

    @Test
    void elementsDynamoDbRejectsStillReportTheirRecordOnce() {
        FakeContext context = new FakeContext(true);
        DynamoDbSinkTask task = startTask(context);
        ddb.invalid = item -> item.get("device_id").s().startsWith("bad");
        task.put(List.of(record(9, array(reading("bad1", 1, "1"), reading("ok", 1, "2"), reading("bad2", 1, "3")))));
        assertEquals(1, ddb.items.size());
        assertEquals(List.of(9L), context.reported.stream().map(SinkRecord::kafkaOffset).toList());
        String message = context.errors.get(0).getMessage();
        assertTrue(message.indexOf("ValidationException") != message.lastIndexOf("ValidationException"), message);
    }
}
