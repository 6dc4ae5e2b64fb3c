package io.fleetpulse.connect.dynamodb;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

/** In-memory DynamoDbClient: stores items by (device_id, ts) and can be scripted to fail. */
final class FakeDynamoDb implements DynamoDbClient {

    final Map<List<AttributeValue>, Map<String, AttributeValue>> items = new LinkedHashMap<>();
    final List<Integer> batchSizes = new ArrayList<>();
    int putItemCalls;
    boolean closed;

    /** Per batch call, in order: a RuntimeException to throw, or an Integer = items to leave unprocessed. */
    final Deque<Object> script = new ArrayDeque<>();
    /** Items DynamoDB should reject with ValidationException. */
    Predicate<Map<String, AttributeValue>> invalid = item -> false;

    static DynamoDbException serviceError(String code, int status) {
        return (DynamoDbException) DynamoDbException.builder()
                .statusCode(status)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).errorMessage(code + " (fake)").build())
                .build();
    }

    @Override
    public BatchWriteItemResponse batchWriteItem(BatchWriteItemRequest request) {
        Map.Entry<String, List<WriteRequest>> only = request.requestItems().entrySet().iterator().next();
        List<WriteRequest> writes = only.getValue();
        batchSizes.add(writes.size());
        if (writes.size() > 25) {
            throw serviceError("ValidationException", 400);
        }
        Object step = script.poll();
        if (step instanceof RuntimeException e) {
            throw e;
        }
        if (writes.stream().anyMatch(w -> invalid.test(w.putRequest().item()))) {
            throw serviceError("ValidationException", 400);
        }
        int unprocessed = step instanceof Integer n ? Math.min(n, writes.size()) : 0;
        List<WriteRequest> done = writes.subList(0, writes.size() - unprocessed);
        done.forEach(w -> store(w.putRequest().item()));
        List<WriteRequest> left = writes.subList(writes.size() - unprocessed, writes.size());
        return BatchWriteItemResponse.builder()
                .unprocessedItems(left.isEmpty() ? Map.of() : Map.of(only.getKey(), List.copyOf(left)))
                .build();
    }

    @Override
    public PutItemResponse putItem(PutItemRequest request) {
        putItemCalls++;
        if (invalid.test(request.item())) {
            throw serviceError("ValidationException", 400);
        }
        store(request.item());
        return PutItemResponse.builder().build();
    }

    private void store(Map<String, AttributeValue> item) {
        items.put(List.of(item.get("device_id"), item.getOrDefault("ts", AttributeValue.fromNul(true))), item);
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
