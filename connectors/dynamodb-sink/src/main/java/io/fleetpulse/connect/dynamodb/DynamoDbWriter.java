package io.fleetpulse.connect.dynamodb;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/**
 * Writes items with BatchWriteItem in chunks, retrying UnprocessedItems with exponential backoff.
 *
 * <p>Transient failures surface as {@link RetriableException} so Connect redelivers the batch; items DynamoDB
 * rejects as invalid are isolated (one PutItem each) and returned to the caller as rejected.
 */
final class DynamoDbWriter implements AutoCloseable {

    static final long MAX_BACKOFF_MS = 10_000;

    private static final Logger log = LoggerFactory.getLogger(DynamoDbWriter.class);

    /** Error codes worth retrying even though they are not 5xx/throttling. */
    private static final Set<String> RETRIABLE_CODES = Set.of(
            "ProvisionedThroughputExceededException", "RequestLimitExceeded", "ThrottlingException",
            "LimitExceededException", "ResourceNotFoundException", "InternalServerError", "ServiceUnavailable",
            "ExpiredTokenException", "RequestTimeout", "RequestTimeoutException");

    /** One item to write and the record it came from. */
    record PendingWrite(SinkRecord record, Map<String, AttributeValue> item) {
    }

    /** A record whose item DynamoDB refused as invalid. */
    record Rejected(SinkRecord record, String reason) {
    }

    /** Sleeps between retries; replaced in tests. */
    interface Sleeper {
        void sleep(long millis) throws InterruptedException;
    }

    private final DynamoDbClient client;
    private final String table;
    private final int batchSize;
    private final int maxRetries;
    private final long backoffMs;
    private final Sleeper sleeper;

    DynamoDbWriter(DynamoDbClient client, String table, int batchSize, int maxRetries, long backoffMs,
                   Sleeper sleeper) {
        this.client = client;
        this.table = table;
        this.batchSize = batchSize;
        this.maxRetries = maxRetries;
        this.backoffMs = backoffMs;
        this.sleeper = sleeper;
    }

    /** Exponential backoff for the 0-based retry number: base * 2^retry, capped at {@link #MAX_BACKOFF_MS}. */
    static long backoff(long baseMs, int retry) {
        return Math.min(Math.max(MAX_BACKOFF_MS, baseMs), baseMs << Math.min(Math.max(retry, 0), 30));
    }

    long backoff(int retry) {
        return backoff(backoffMs, retry);
    }

    /**
     * Writes every item (keys must be unique within {@code writes}).
     *
     * @return the writes DynamoDB rejected as invalid; everything else was written
     * @throws RetriableException on a transient failure (the caller should redeliver all writes)
     * @throws ConnectException on a permanent failure such as access denied
     */
    List<Rejected> write(List<PendingWrite> writes) {
        List<Rejected> rejected = new ArrayList<>();
        for (int from = 0; from < writes.size(); from += batchSize) {
            writeChunk(writes.subList(from, Math.min(from + batchSize, writes.size())), rejected);
        }
        return rejected;
    }

    private void writeChunk(List<PendingWrite> chunk, List<Rejected> rejected) {
        List<WriteRequest> requests = new ArrayList<>(chunk.size());
        for (PendingWrite w : chunk) {
            requests.add(WriteRequest.builder().putRequest(PutRequest.builder().item(w.item()).build()).build());
        }
        for (int retry = 0; ; retry++) {
            BatchWriteItemResponse response;
            try {
                List<WriteRequest> batch = requests;
                response = client.batchWriteItem(b -> b.requestItems(Map.of(table, batch)));
            } catch (SdkException e) {
                if (isValidationError(e)) {
                    log.warn("DynamoDB rejected a batch of {} items as invalid ({}); writing them one by one to"
                            + " isolate the bad ones", requests.size(), e.getMessage());
                    writeIndividually(chunk, rejected);
                    return;
                }
                throw translate(e);
            }
            List<WriteRequest> unprocessed = response.hasUnprocessedItems()
                    ? response.unprocessedItems().getOrDefault(table, List.of()) : List.of();
            if (unprocessed.isEmpty()) {
                return;
            }
            if (retry >= maxRetries) {
                throw new RetriableException(unprocessed.size() + " items still unprocessed by DynamoDB after "
                        + maxRetries + " retries");
            }
            long delay = backoff(retry);
            log.warn("DynamoDB left {} of {} items unprocessed; retry {}/{} in {} ms",
                    unprocessed.size(), requests.size(), retry + 1, maxRetries, delay);
            sleep(delay);
            requests = unprocessed;
        }
    }

    private void writeIndividually(List<PendingWrite> chunk, List<Rejected> rejected) {
        for (PendingWrite w : chunk) {
            try {
                client.putItem(b -> b.tableName(table).item(w.item()));
            } catch (SdkException e) {
                if (!isValidationError(e)) {
                    throw translate(e);
                }
                rejected.add(new Rejected(w.record(), "DynamoDB rejected the item: " + errorMessage(e)));
            }
        }
    }

    private void sleep(long millis) {
        try {
            sleeper.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RetriableException("interrupted while waiting to retry DynamoDB write", e);
        }
    }

    private static boolean isValidationError(SdkException e) {
        return e instanceof AwsServiceException ase && ase.statusCode() == 400
                && "ValidationException".equals(errorCode(ase));
    }

    /** Maps an SDK failure to RetriableException (transient) or ConnectException (permanent). */
    static ConnectException translate(SdkException e) {
        if (e instanceof SdkClientException) {
            // No usable response: endpoint unreachable, timeouts, credentials temporarily unavailable.
            return new RetriableException("DynamoDB unavailable: " + e.getMessage(), e);
        }
        if (e instanceof AwsServiceException ase) {
            String code = errorCode(ase);
            if (ase.isThrottlingException() || ase.statusCode() >= 500 || ase.retryable()
                    || (code != null && RETRIABLE_CODES.contains(code))) {
                return new RetriableException("DynamoDB transient error " + code + " (HTTP " + ase.statusCode()
                        + "): " + errorMessage(ase), e);
            }
            return new ConnectException("DynamoDB rejected the write with " + code + " (HTTP " + ase.statusCode()
                    + "): " + errorMessage(ase), e);
        }
        return new RetriableException("DynamoDB call failed: " + e.getMessage(), e);
    }

    private static String errorCode(AwsServiceException e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    private static String errorMessage(SdkException e) {
        if (e instanceof AwsServiceException ase && ase.awsErrorDetails() != null
                && ase.awsErrorDetails().errorMessage() != null) {
            return ase.awsErrorDetails().errorMessage();
        }
        return e.getMessage();
    }

    @Override
    public void close() {
        client.close();
    }
}
