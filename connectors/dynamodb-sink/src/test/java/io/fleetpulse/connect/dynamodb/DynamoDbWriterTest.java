package io.fleetpulse.connect.dynamodb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.fleetpulse.connect.dynamodb.DynamoDbWriter.PendingWrite;
import io.fleetpulse.connect.dynamodb.DynamoDbWriter.Rejected;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

class DynamoDbWriterTest {

    private final FakeDynamoDb ddb = new FakeDynamoDb();
    private final FakeTime time = new FakeTime();
    private final List<DynamoDbWriter> writers = new ArrayList<>();

    private DynamoDbWriter writer(int batchSize, int maxInFlight, long timeoutMs) {
        DynamoDbWriter writer = new DynamoDbWriter(ddb, "t", batchSize, maxInFlight,
                time.policy(100, 10_000, timeoutMs));
        writers.add(writer);
        return writer;
    }

    private DynamoDbWriter writer() {
        return writer(25, 1, 60_000);
    }

    @AfterEach
    void closeWriters() {
        writers.forEach(DynamoDbWriter::close);
    }

    static List<PendingWrite> writes(int n) {
        List<PendingWrite> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SinkRecord record = new SinkRecord("readings", 0, null, null, null, "v" + i, i);
            out.add(new PendingWrite(record, Map.of("device_id", AttributeValue.fromS("d" + i),
                    "ts", AttributeValue.fromN(Integer.toString(i)))));
        }
        return out;
    }

    @Test
    void writesInChunksOfBatchSize() {
        assertTrue(writer().write(writes(60)).isEmpty());
        assertEquals(List.of(25, 25, 10), ddb.batchSizes);
        assertEquals(60, ddb.items.size());

        FakeDynamoDb small = new FakeDynamoDb();
        try (DynamoDbWriter w = new DynamoDbWriter(small, "t", 7, 4, time.policy(100, 10_000, 60_000))) {
            w.write(writes(15));
        }
        assertEquals(List.of(1, 7, 7), small.batchSizes.stream().sorted().toList());
        assertEquals(15, small.items.size());
    }

    @Test
    void retriesUnprocessedItemsWithExponentialBackoff() {
        ddb.script.add(10);
        ddb.script.add(4);
        DynamoDbWriter writer = writer();
        writer.write(writes(25));
        assertEquals(List.of(25, 10, 4), ddb.batchSizes);
        assertEquals(List.of(100L, 200L), time.sleeps);
        assertEquals(25, ddb.items.size());
        assertEquals(2, writer.retries());
    }

    @Test
    void throttlingAnd5xxAndAnUnreachableEndpointAreRetriedUntilWritten() {
        ddb.script.add(FakeDynamoDb.serviceError("ProvisionedThroughputExceededException", 400));
        ddb.script.add(FakeDynamoDb.serviceError("ThrottlingException", 400));
        ddb.script.add(FakeDynamoDb.serviceError("RequestLimitExceeded", 400));
        ddb.script.add(FakeDynamoDb.serviceError("InternalServerError", 500));
        ddb.script.add(SdkClientException.create("Unable to execute HTTP request: Connection refused"));
        assertTrue(writer().write(writes(3)).isEmpty());
        assertEquals(List.of(100L, 200L, 400L, 800L, 1600L), time.sleeps);
        assertEquals(3, ddb.items.size());
    }

    @Test
    void backoffIsCappedAndTheRetryTimeIsBoundedThenTheWriteFailsLoudly() {
        for (int i = 0; i < 100; i++) {
            ddb.script.add(FakeDynamoDb.serviceError("ProvisionedThroughputExceededException", 400));
        }
        ConnectException e = assertThrows(ConnectException.class, () -> writer(25, 1, 30_000).write(writes(5)));
        assertFalse(e instanceof RetriableException, "past the retry time the task fails instead of looping");
        assertTrue(e.getMessage().contains("Gave up writing 5 items") && e.getMessage().contains("Provisioned"),
                e.getMessage());
        // 100+200+...+6400 = 12,700 ms, then 10 s (capped) once: 22,700; another 10 s would pass 30 s
        assertEquals(List.of(100L, 200L, 400L, 800L, 1600L, 3200L, 6400L, 10_000L), time.sleeps);
        assertTrue(ddb.items.isEmpty());
    }

    @Test
    void permanentErrorsFailAtOnce() {
        ddb.script.add(FakeDynamoDb.serviceError("AccessDeniedException", 400));
        ConnectException fatal = assertThrows(ConnectException.class, () -> writer().write(writes(1)));
        assertTrue(!(fatal instanceof RetriableException) && fatal.getMessage().contains("AccessDeniedException"));
        assertTrue(time.sleeps.isEmpty());
    }

    @Test
    void validationErrorIsolatesTheBadItems() {
        ddb.invalid = item -> item.get("device_id").s().equals("d3");
        List<Rejected> rejected = writer().write(writes(30));
        assertEquals(1, rejected.size());
        assertEquals(3L, rejected.get(0).record().kafkaOffset());
        assertTrue(rejected.get(0).reason().contains("ValidationException"));
        assertEquals(29, ddb.items.size());
        assertEquals(25, ddb.putItemCalls);
    }

    @Test
    void fullJitterWaitsAUniformlyRandomTimeUpToTheBound() {
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            long wait = RetryPolicy.fullJitter(400);
            assertTrue(wait >= 0 && wait <= 400, Long.toString(wait));
            seen.add(wait);
        }
        assertTrue(seen.size() > 300, "spread over the range, not a fixed delay: " + seen.size());
        RetryPolicy policy = time.policy(50, 1000, 60_000);
        assertEquals(List.of(50L, 100L, 200L, 400L, 800L, 1000L, 1000L),
                List.of(policy.bound(0), policy.bound(1), policy.bound(2), policy.bound(3), policy.bound(4),
                        policy.bound(5), policy.bound(500)));
    }

    @Test
    void batchesRunConcurrentlyUpToTheInFlightBound() {
        ddb.latencyMs = 20;
        assertTrue(writer(25, 4, 60_000).write(writes(25 * 12)).isEmpty());
        assertEquals(4, ddb.maxInFlight, "4 batches in flight at once, never more");
        assertEquals(300, ddb.items.size());
    }

    @Test
    void aFailedBatchFailsTheWriteOnlyAfterEveryStartedBatchHasFinished() {
        ddb.latencyMs = 20;
        ddb.script.add(FakeDynamoDb.serviceError("AccessDeniedException", 400));
        DynamoDbWriter writer = writer(25, 4, 60_000);
        assertThrows(ConnectException.class, () -> writer.write(writes(25 * 8)));
        assertEquals(0, ddb.inFlight, "nothing may still be writing once write() has returned");
    }
}
