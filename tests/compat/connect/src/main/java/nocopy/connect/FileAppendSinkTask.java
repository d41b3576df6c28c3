package nocopy.connect;

import java.io.FileWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.util.Collection;
import java.util.Map;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;

/** The task of FileAppendSinkConnector. */
public final class FileAppendSinkTask extends SinkTask {
    private Writer out;

    @Override
    public void start(Map<String, String> props) {
        try {
            out = new FileWriter(props.get("file"), true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        try {
            for (SinkRecord r : records) {
                out.write(r.topic() + " " + r.kafkaPartition() + " " + r.kafkaOffset() + " " + r.value() + "\n");
            }
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void stop() {
        try {
            if (out != null) {
                out.close();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String version() {
        return "1";
    }
}
