package io.fleetpulse.connect.dynamodb;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.fleetpulse.connect.dynamodb.DynamoDbWriter.PendingWrite;
import io.fleetpulse.connect.dynamodb.DynamoDbWriter.Rejected;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Writes each batch of records before {@code put()} returns: map to items, keep the last item per primary key (in
 * Kafka order, so the newest wins), write the distinct keys in concurrent BatchWriteItem calls, and only then
 * report bad records. Because nothing is in flight once {@code put()} returns, Connect's default
 * {@code preCommit}/{@code flush} commits exactly the offsets of records that are in DynamoDB; a write that cannot
 * finish within the retry time fails the task, and the uncommitted records are redelivered after a restart.
 *
 * <p>A record whose value is a JSON array (a batch envelope) gives one item per element; its good elements are
 * written and, if any element is bad, the record is reported once with the reasons of all its bad elements (the
 * errant record reporter works on whole records, never on parts of one).
 */
public class DynamoDbSinkTask extends SinkTask {

    private static final Logger log = LoggerFactory.getLogger(DynamoDbSinkTask.class);

    private final Function<DynamoDbSinkConfig, DynamoDbClient> clientFactory;
    private final Function<DynamoDbSinkConfig, RetryPolicy> retryPolicy;

    private DynamoDbSinkConfig config;
    private ItemMapper mapper;
    private DynamoDbWriter writer;
    private ErrantRecordReporter reporter;

    public DynamoDbSinkTask() {
        this(DynamoDbClientFactory::create, RetryPolicy::of);
    }

    DynamoDbSinkTask(Function<DynamoDbSinkConfig, DynamoDbClient> clientFactory,
            Function<DynamoDbSinkConfig, RetryPolicy> retryPolicy) {
        this.clientFactory = clientFactory;
        this.retryPolicy = retryPolicy;
    }

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        config = new DynamoDbSinkConfig(props);
        mapper = ItemMapper.fromConfig(config);
        writer = new DynamoDbWriter(clientFactory.apply(config), config.table(), config.batchSize(),
                config.maxInFlight(), retryPolicy.apply(config));
        reporter = errantRecordReporter();
        log.info("Started DynamoDB sink task for table {} (region {}, endpoint {}, key {}{}, {} batches in flight,"
                + " DLQ reporter {})", config.table(), config.region(),
                config.endpoint() == null ? "default" : config.endpoint(), config.partitionKey(),
                config.sortKey().isEmpty() ? "" : "/" + config.sortKey(), config.maxInFlight(),
                reporter == null ? "absent" : "present");
    }

    private ErrantRecordReporter errantRecordReporter() {
        try {
            return context == null ? null : context.errantRecordReporter();
        } catch (NoSuchMethodError | NoClassDefFoundError e) {
            return null; // Connect older than 2.6
        }
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        if (records.isEmpty()) {
            return;
        }
        long startNanos = System.nanoTime();
        Map<ItemKey, PendingWrite> latestByKey = new LinkedHashMap<>();
        List<Rejected> bad = new ArrayList<>();
        int items = 0;
        for (SinkRecord record : records) {
            try {
                ItemMapper.Mapped mapped = mapper.toItems(record.value(), record.timestamp());
                for (Map<String, AttributeValue> item : mapped.items()) {
                    ItemKey key = mapper.keyOf(item);
                    latestByKey.remove(key); // re-insert so the write order follows the last occurrence
                    latestByKey.put(key, new PendingWrite(record, item));
                    items++;
                }
                if (!mapped.badElements().isEmpty()) {
                    throw new BadRecordException(mapped.badElements().size() + " of "
                            + (mapped.items().size() + mapped.badElements().size()) + " array elements are bad ("
                            + mapped.items().size() + " written): " + String.join("; ", mapped.badElements()));
                }
            } catch (BadRecordException e) {
                if (reporter == null) {
                    throw new DataException(describe(record, e.getMessage()), e);
                }
                bad.add(new Rejected(record, e.getMessage()));
            }
        }

        List<Rejected> rejected;
        long retriesBefore = writer.retries();
        try {
            rejected = writer.write(new ArrayList<>(latestByKey.values()));
        } catch (ConnectException e) {
            log.error("Writing {} items from {} records to DynamoDB table {} failed; the task stops without"
                    + " committing their offsets: {}", latestByKey.size(), records.size(), config.table(),
                    e.getMessage());
            throw e;
        }

        int mappedBad = bad.size();
        bad.addAll(rejected);
        // One report per record, even when several of an array's elements were bad or rejected by DynamoDB.
        Map<SinkRecord, List<String>> reasons = new LinkedHashMap<>();
        for (Rejected r : bad) {
            reasons.computeIfAbsent(r.record(), k -> new ArrayList<>()).add(r.reason());
        }
        for (Map.Entry<SinkRecord, List<String>> r : reasons.entrySet()) {
            String message = describe(r.getKey(), String.join("; ", r.getValue()));
            if (reporter == null) {
                throw new DataException(message);
            }
            log.warn("Bad record sent to the error reporter: {}", message);
            reporter.report(r.getKey(), new DataException(message));
        }
        log.info("Wrote {} items to DynamoDB table {} from {} records ({} duplicate keys collapsed, {} bad records,"
                + " {} items rejected by DynamoDB, {} retries) in {} ms", latestByKey.size() - rejected.size(),
                config.table(), records.size(), items - latestByKey.size(), mappedBad, rejected.size(),
                writer.retries() - retriesBefore, (System.nanoTime() - startNanos) / 1_000_000);
    }

    private static String describe(SinkRecord record, String reason) {
        return "Bad record at " + record.topic() + "-" + record.kafkaPartition() + " offset " + record.kafkaOffset()
                + ": " + reason;
    }

    @Override
    public void stop() {
        if (writer != null) {
            writer.close();
            writer = null;
        }
        log.info("Stopped DynamoDB sink task");
    }
}
