package org.siamese4j.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** The kernel choice is made on every run, also inside an embedding application: it must not log at INFO. */
class KernelChoiceLoggingTest {

    /** Runs {@code choice} with every record of KernelProvider's logger captured, and returns them. */
    private static List<LogRecord> logged(Runnable choice) {
        Logger logger = Logger.getLogger(KernelProvider.class.getName());
        List<LogRecord> records = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        handler.setLevel(Level.ALL);
        Level before = logger.getLevel();
        boolean parents = logger.getUseParentHandlers();
        logger.setLevel(Level.ALL);
        logger.setUseParentHandlers(false);                     // the test's own warnings stay off the console
        logger.addHandler(handler);
        try {
            choice.run();
        } finally {
            logger.removeHandler(handler);
            logger.setUseParentHandlers(parents);
            logger.setLevel(before);
        }
        return records;
    }

    @Test
    void theChoiceIsLoggedAtFineNotInfo() {
        Kernels scalar = KernelProvider.scalar();
        // stands in for the vector kernels, which a run without the module does not have
        Kernels vector = KernelProvider.vectorOrNull() != null ? KernelProvider.vectorOrNull() : new ScalarKernels();
        for (String wanted : new String[] {"auto", "vector", "scalar"}) {
            List<LogRecord> records = logged(() -> KernelProvider.choose(wanted, scalar, vector));
            // the capture works: the choice is there, at FINE
            assertThat(records).as(wanted).extracting(LogRecord::getLevel).containsExactly(Level.FINE);
            assertThat(records.get(0).getMessage()).contains("kernels");
        }
    }

    @Test
    void aMissingModuleIsStillAWarningThatNamesTheFlag() {
        List<LogRecord> records = logged(() -> KernelProvider.choose("auto", KernelProvider.scalar(), null));
        assertThat(records).extracting(LogRecord::getLevel).containsExactly(Level.WARNING);
        assertThat(records.get(0).getMessage()).contains("--add-modules " + KernelProvider.VECTOR_MODULE);
    }

    @Test
    void theDescriptionNamesTheKernelsInUse() {
        assertThat(KernelProvider.description()).startsWith(KernelProvider.kernels().name() + " (");
        String[] description = new String[1];
        logged(() -> description[0] = KernelProvider.choose("auto", KernelProvider.scalar(), null).description());
        assertThat(description[0]).startsWith("scalar (").contains("--add-modules " + KernelProvider.VECTOR_MODULE);
    }
}
