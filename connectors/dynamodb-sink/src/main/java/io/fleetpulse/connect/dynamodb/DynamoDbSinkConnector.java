package io.fleetpulse.connect.dynamodb;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Kafka Connect sink that writes JSON object records to a DynamoDB table with native attribute types. */
public class DynamoDbSinkConnector extends SinkConnector {

    private static final Logger log = LoggerFactory.getLogger(DynamoDbSinkConnector.class);

    private Map<String, String> props;

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        DynamoDbSinkConfig config = new DynamoDbSinkConfig(props); // fail fast on invalid config
        this.props = Map.copyOf(props);
        log.info("Starting DynamoDB sink connector {} for table {}", version(), config.table());
    }

    @Override
    public Class<? extends Task> taskClass() {
        return DynamoDbSinkTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        List<Map<String, String>> configs = new ArrayList<>(maxTasks);
        for (int i = 0; i < maxTasks; i++) {
            configs.add(props);
        }
        return configs;
    }

    @Override
    public void stop() {
        log.info("Stopped DynamoDB sink connector");
    }

    @Override
    public ConfigDef config() {
        return DynamoDbSinkConfig.CONFIG_DEF;
    }
}
