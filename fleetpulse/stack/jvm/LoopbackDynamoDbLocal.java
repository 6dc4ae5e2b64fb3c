// DynamoDB Local has no bind-address flag and listens on every interface. This launcher builds the
// server from the usual command line, points its Jetty connectors at 127.0.0.1, then starts it.
// Run as a single-file source program: java -cp 'dynamodb-local/*' LoopbackDynamoDbLocal.java -port 8000 ...
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDbLocal {
    public static void main(String[] args) throws Exception {
        String host = System.getProperty("fleetpulse.bind", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server jetty = (Server) field.get(proxy);
        for (Connector connector : jetty.getConnectors()) {
            if (connector instanceof ServerConnector serverConnector) {
                serverConnector.setHost(host);
            }
        }
        proxy.start();
        proxy.join();
    }
}
