package io.fleetpulse.connect.dynamodb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class DynamoDbSinkConnectorTest {

    @Test
    void defaults() {
        DynamoDbSinkConfig config = new DynamoDbSinkConfig(Map.of(DynamoDbSinkConfig.TABLE, "readings"));
        assertEquals("us-east-1", config.region());
        assertNull(config.endpoint());
        assertEquals("device_id", config.partitionKey());
        assertEquals("ts", config.sortKey());
        assertEquals(25, config.batchSize());
        assertEquals(8, config.maxInFlight());
        assertEquals(50, config.retryBackoffMs());
        assertEquals(10_000, config.retryBackoffMaxMs());
        assertEquals(180_000, config.retryTimeoutMs());
        assertEquals("", config.accessKeyId());
        assertEquals(0, config.ttlSeconds());
    }

    @Test
    void rejectsInvalidSettings() {
        assertThrows(ConfigException.class, () -> new DynamoDbSinkConfig(Map.of()));
        assertThrows(ConfigException.class, () -> new DynamoDbSinkConfig(
                Map.of(DynamoDbSinkConfig.TABLE, "t", DynamoDbSinkConfig.BATCH_SIZE, "26")));
        assertThrows(ConfigException.class, () -> new DynamoDbSinkConfig(
                Map.of(DynamoDbSinkConfig.TABLE, "t", DynamoDbSinkConfig.ENDPOINT, "localhost:8000")));
        assertThrows(ConfigException.class, () -> new DynamoDbSinkConfig(
                Map.of(DynamoDbSinkConfig.TABLE, "t", DynamoDbSinkConfig.ACCESS_KEY_ID, "AKID")));
        DynamoDbSinkConfig ok = new DynamoDbSinkConfig(Map.of(DynamoDbSinkConfig.TABLE, "t",
                DynamoDbSinkConfig.ENDPOINT, "http://127.0.0.1:8000", DynamoDbSinkConfig.SORT_KEY, "",
                DynamoDbSinkConfig.ACCESS_KEY_ID, "AKID", DynamoDbSinkConfig.SECRET_ACCESS_KEY, "s3cret"));
        assertEquals("http://127.0.0.1:8000", ok.endpoint().toString());
        assertEquals("", ok.sortKey());
        assertEquals("s3cret", ok.secretAccessKey());
        assertTrue(ok.toString().contains("[hidden]") || !ok.toString().contains("s3cret"));
    }

    @Test
    void replicatesConfigToEveryTaskAndDocumentsAllKeys() {
        DynamoDbSinkConnector connector = new DynamoDbSinkConnector();
        Map<String, String> props = Map.of(DynamoDbSinkConfig.TABLE, "readings", "topics", "r");
        connector.start(props);
        List<Map<String, String>> configs = connector.taskConfigs(3);
        assertEquals(3, configs.size());
        configs.forEach(c -> assertEquals(props, c));
        assertEquals(DynamoDbSinkTask.class, connector.taskClass());

        Config validated = connector.validate(props);
        validated.configValues().forEach(v -> assertTrue(v.errorMessages().isEmpty(), v.name()));
        connector.config().configKeys().values().forEach(k -> assertTrue(k.documentation != null
                && !k.documentation.isBlank(), k.name));
    }
}
