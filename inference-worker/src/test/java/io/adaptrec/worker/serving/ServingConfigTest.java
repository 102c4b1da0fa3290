package io.adaptrec.worker.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.worker.model.EngineOptions;
import io.adaptrec.worker.selection.Strategy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ServingConfigTest {

    private static final Path SAMPLE = Path.of("config/inference-worker.properties");

    @Test
    void theSampleFileDocumentsExactlyTheDeclaredKeysAndParses() throws Exception {
        Set<String> inFile = new LinkedHashSet<>();
        Matcher m = Pattern.compile("(?m)^#?([a-z][a-z0-9.-]+)=").matcher(Files.readString(SAMPLE));
        while (m.find()) {
            inFile.add(m.group(1));
        }
        assertThat(inFile).containsExactlyElementsOf(ServingConfig.KEYS.stream().map(k -> k.name()).toList());
        ServingConfig c = ServingConfig.load(SAMPLE);
        assertThat(c.modelDir()).isEqualTo(Path.of("/path/to/model-dir"));
        assertThat(c.strategy()).isEqualTo(Strategy.ADAPTIVE);
        assertThat(c.m()).isEqualTo(5);
        assertThat(c.transactionalId()).isEqualTo("adaptrec-workers-worker-1");
    }

    @Test
    void everyProblemIsReportedWithItsKeyAndRange() {
        Properties p = new Properties();
        p.setProperty("serving.batch.max", "0");
        p.setProperty("serving.selection.strategy", "clever");
        p.setProperty("serving.colour", "blue");
        p.setProperty("kafka.security.protocol", "SSL");
        assertThatThrownBy(() -> ServingConfig.fromProperties(p))
                .hasMessageContaining("model.dir is required")
                .hasMessageContaining("serving.batch.max=0 is out of range 1..4096")
                .hasMessageContaining("serving.selection.strategy='clever' is not allowed; expected adaptive | similarity | static | none")
                .hasMessageContaining("unknown key 'serving.colour'");
        p.remove("serving.batch.max");
        p.remove("serving.selection.strategy");
        p.remove("serving.colour");
        p.setProperty("model.dir", "/m");
        assertThat(ServingConfig.fromProperties(p).clientProperties()).containsEntry("security.protocol", "SSL");
        assertThat(ServingConfig.fromProperties(p).engine().toString()).isEqualTo("onnxruntime/cpu x1");

        p.setProperty("serving.engine", "pytorch");
        p.setProperty("serving.djl.threads", "2");
        assertThat(ServingConfig.fromProperties(p).engine().toString()).isEqualTo("pytorch/cpu x2");
        p.setProperty("serving.engine", "tensorrt");
        assertThatThrownBy(() -> ServingConfig.fromProperties(p))
                .hasMessageContaining("serving.engine=tensorrt with serving.device=cpu: engine tensorrt runs on a GPU only");
        p.setProperty("serving.engine", "tvm");
        assertThatThrownBy(() -> ServingConfig.fromProperties(p))
                .hasMessageContaining("serving.engine='tvm' is not allowed; expected pytorch | onnxruntime | tensorrt");
    }
}
