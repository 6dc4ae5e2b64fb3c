package io.fleetpulse.connect.dynamodb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.Test;

import io.fleetpulse.connect.dynamodb.DynamoDbWriter.PendingWrite;
import io.fleetpulse.connect.dynamodb.DynamoDbWriter.Rejected;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

class DynamoDbWriterTest {

    private final FakeDynamoDb ddb = new FakeDynamoDb();
    private final List<Long> sleeps = new ArrayList<>();
    private final DynamoDbWriter writer = new DynamoDbWriter(ddb, "t", 25, 3, 100, sleeps::add);

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
        assertTrue(writer.write(writes(60)).isEmpty());
        assertEquals(List.of(25, 25, 10), ddb.batchSizes);
        assertEquals(60, ddb.items.size());

        FakeDynamoDb small = new FakeDynamoDb();
        new DynamoDbWriter(small, "t", 7, 3, 100, sleeps::add).write(writes(15));
        assertEquals(List.of(7, 7, 1), small.batchSizes);
    }

    @Test
    void retriesUnprocessedItemsWithExponentialBackoff() {
        ddb.script.add(10);
        ddb.script.add(4);
        writer.write(writes(25));
        assertEquals(List.of(25, 10, 4), ddb.batchSizes);
        assertEquals(List.of(100L, 200L), sleeps);
        assertEquals(25, ddb.items.size());
    }

    @Test
    void unprocessedItemsExhaustingRetriesIsRetriable() {
        for (int i = 0; i < 10; i++) {
            ddb.script.add(1);
        }
        RetriableException e = assertThrows(RetriableException.class, () -> writer.write(writes(5)));
        assertTrue(e.getMessage().contains("unprocessed"));
        assertEquals(List.of(100L, 200L, 400L), sleeps);
    }

    @Test
    void transientErrorsAreRetriableAndPermanentOnesAreNot() {
        ddb.script.add(SdkClientException.create("Unable to execute HTTP request: Connection refused"));
        assertThrows(RetriableException.class, () -> writer.write(writes(1)));
        ddb.script.add(FakeDynamoDb.serviceError("ProvisionedThroughputExceededException", 400));
        assertThrows(RetriableException.class, () -> writer.write(writes(1)));
        ddb.script.add(FakeDynamoDb.serviceError("InternalServerError", 500));
        assertThrows(RetriableException.class, () -> writer.write(writes(1)));
        ddb.script.add(FakeDynamoDb.serviceError("ResourceNotFoundException", 400));
        assertThrows(RetriableException.class, () -> writer.write(writes(1)));

        ddb.script.add(FakeDynamoDb.serviceError("AccessDeniedException", 400));
        ConnectException fatal = assertThrows(ConnectException.class, () -> writer.write(writes(1)));
        assertTrue(!(fatal instanceof RetriableException) && fatal.getMessage().contains("AccessDeniedException"));
        assertTrue(sleeps.isEmpty(), "transient exceptions are handed straight back to Connect");
    }

    @Test
    void validationErrorIsolatesTheBadItems() {
        ddb.invalid = item -> item.get("device_id").s().equals("d3");
        List<Rejected> rejected = writer.write(writes(30));
        assertEquals(1, rejected.size());
        assertEquals(3L, rejected.get(0).record().kafkaOffset());
        assertTrue(rejected.get(0).reason().contains("ValidationException"));
        assertEquals(29, ddb.items.size());
        assertEquals(25, ddb.putItemCalls);
    }

    @Test
    void backoffDoublesAndIsCapped() {
        assertEquals(500, DynamoDbWriter.backoff(500, 0));
        assertEquals(4000, DynamoDbWriter.backoff(500, 3));
        assertEquals(DynamoDbWriter.MAX_BACKOFF_MS, DynamoDbWriter.backoff(500, 10));
        assertEquals(DynamoDbWriter.MAX_BACKOFF_MS, DynamoDbWriter.backoff(500, 1000));
    }
}
