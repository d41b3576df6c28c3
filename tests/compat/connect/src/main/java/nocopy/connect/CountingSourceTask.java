package nocopy.connect;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;

/** The task of CountingSourceConnector. */
public final class CountingSourceTask extends SourceTask {
    static final Map<String, String> PARTITION = Map.of("source", "counter");

    private String topic;
    private int perSecond;
    private long next;

    @Override
    public void start(Map<String, String> props) {
        topic = props.get("topic");
        perSecond = Integer.parseInt(props.getOrDefault("per.second", "100"));
        Map<String, Object> stored = context.offsetStorageReader().offset(PARTITION);
        next = stored == null ? 0 : ((Number) stored.get("seq")).longValue() + 1;
    }

    @Override
    public List<SourceRecord> poll() throws InterruptedException {
        Thread.sleep(100);
        int n = Math.max(1, perSecond / 10);
        List<SourceRecord> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++, next++) {
            out.add(new SourceRecord(PARTITION, Map.of("seq", next), topic, null,
                    Schema.STRING_SCHEMA, "counter", Schema.INT64_SCHEMA, next));
        }
        return out;
    }

    @Override
    public void stop() {}

    @Override
    public String version() {
        return "1";
    }
}
