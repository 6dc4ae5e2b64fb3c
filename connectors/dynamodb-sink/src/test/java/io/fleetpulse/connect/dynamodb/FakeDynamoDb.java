package io.fleetpulse.connect.dynamodb;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;

import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemResponse;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/**
 * In-memory DynamoDbClient, safe for concurrent callers: stores items by their key attributes, keeps every
 * key's write history in order, and can be scripted (call by call) or told to fail at random (seeded) with
 * throttling and UnprocessedItems; an optional latency keeps calls in flight to measure concurrency.
 */
final class FakeDynamoDb implements DynamoDbClient {

    final Map<List<AttributeValue>, Map<String, AttributeValue>> items = new LinkedHashMap<>();
    /** Every stored item per key, in the order it was stored: the per-key write order DynamoDB saw. */
    final Map<List<AttributeValue>, List<Map<String, AttributeValue>>> history = new LinkedHashMap<>();
    final List<Integer> batchSizes = Collections.synchronizedList(new ArrayList<>());
    int putItemCalls;
    int throttled;
    int unprocessedReturned;
    boolean closed;
    List<String> keyAttributes = List.of("device_id", "ts");

    /** Per batch call, in order: a RuntimeException to throw, or an Integer = items to leave unprocessed. */
    final Deque<Object> script = new ArrayDeque<>();
    /** Items DynamoDB should reject with ValidationException. */
    Predicate<Map<String, AttributeValue>> invalid = item -> false;

    /** Chance per unscripted call to throw ProvisionedThroughputExceededException / leave items unprocessed. */
    double throttleChance;
    double unprocessedChance;
    private Random random = new Random(0);
    long latencyMs;
    int inFlight;
    int maxInFlight;

    static DynamoDbException serviceError(String code, int status) {
        return (DynamoDbException) DynamoDbException.builder()
                .statusCode(status)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).errorMessage(code + " (fake)").build())
                .build();
    }

    void failAtRandom(long seed, double throttle, double unprocessed) {
        random = new Random(seed);
        throttleChance = throttle;
        unprocessedChance = unprocessed;
    }

    @Override
    public BatchWriteItemResponse batchWriteItem(BatchWriteItemRequest request) {
        Map.Entry<String, List<WriteRequest>> only = request.requestItems().entrySet().iterator().next();
        List<WriteRequest> writes = only.getValue();
        batchSizes.add(writes.size());
        enter();
        try {
            return respond(only.getKey(), writes);
        } finally {
            leave();
        }
    }

    private synchronized BatchWriteItemResponse respond(String table, List<WriteRequest> writes) {
        if (writes.size() > 25) {
            throw serviceError("ValidationException", 400);
        }
        Object step = script.isEmpty() ? randomStep(writes.size()) : script.poll();
        if (step instanceof RuntimeException e) {
            throttled++;
            throw e;
        }
        if (writes.stream().anyMatch(w -> invalid.test(w.putRequest().item()))) {
            throw serviceError("ValidationException", 400);
        }
        int unprocessed = step instanceof Integer n ? Math.min(n, writes.size()) : 0;
        List<WriteRequest> done = writes.subList(0, writes.size() - unprocessed);
        done.forEach(w -> store(w.putRequest().item()));
        List<WriteRequest> left = writes.subList(writes.size() - unprocessed, writes.size());
        unprocessedReturned += left.size();
        return BatchWriteItemResponse.builder()
                .unprocessedItems(left.isEmpty() ? Map.of() : Map.of(table, List.copyOf(left)))
                .build();
    }

    private Object randomStep(int size) {
        double draw = random.nextDouble();
        if (draw < throttleChance) {
            return serviceError("ProvisionedThroughputExceededException", 400);
        }
        if (draw < throttleChance + unprocessedChance) {
            return 1 + random.nextInt(size); // some of the batch, never none
        }
        return null;
    }

    private void enter() {
        synchronized (this) {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
        }
        if (latencyMs > 0) {
            try {
                Thread.sleep(latencyMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private synchronized void leave() {
        inFlight--;
    }

    @Override
    public synchronized PutItemResponse putItem(PutItemRequest request) {
        putItemCalls++;
        if (invalid.test(request.item())) {
            throw serviceError("ValidationException", 400);
        }
        store(request.item());
        return PutItemResponse.builder().build();
    }

    private void store(Map<String, AttributeValue> item) {
        List<AttributeValue> key = keyAttributes.stream()
                .map(a -> item.getOrDefault(a, AttributeValue.fromNul(true))).toList();
        items.put(key, item);
        history.computeIfAbsent(key, k -> new ArrayList<>()).add(item);
    }

    @Override
    public String serviceName() {
        return "dynamodb";
    }

    @Override
    public void close() {
        closed = true;
    }
}
