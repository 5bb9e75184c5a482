package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica joins an origin whose application was writing before replication started (the initial whole-tree resync):
 * the origin directory already holds files and SQLite databases, its processes hold descriptors opened before the
 * trace existed, and they keep writing through them while the resync runs. The replica must end byte-identical, and
 * must not claim to be in sync before it is.
 */
class PreexistingStateReplicationIT {
    private static final Logger LOG = Logger.getLogger(PreexistingStateReplicationIT.class);

    /**
     * Writers started before replication, each holding its descriptors for its whole life, writing until the file
     * named by STOP exists.
     */
    static final String WAL_WRITER = """
            set -e
            ( echo '.timeout 5000'; i=0; while [ ! -e STOP ]; do i=$((i + 1))
                echo "INSERT INTO t(v) VALUES (hex(randomblob(700))); UPDATE t SET v = hex(randomblob(300)) WHERE id = $i;"
                sleep 0.02
              done ) | sqlite3 wal.db
            """;
    static final String JOURNAL_WRITER = """
            set -e
            ( echo '.timeout 5000'; i=0; while [ ! -e STOP ]; do i=$((i + 1))
                echo "INSERT INTO t(v) SELECT hex(randomblob(200)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<10) SELECT x FROM c); DELETE FROM t WHERE id % 5 = $i % 5 AND id < $i * 3;"
                sleep 0.03
              done ) | sqlite3 journal.db
            """;
    static final String FILE_WRITER = """
            set -e
            exec 3>>app.log
            exec 4>stream.out
            i=0
            while [ ! -e STOP ]; do
              i=$((i + 1))
              echo "line $i" >&3
              printf 'record %05d\\n' $i >&4
              if [ $((i % 10)) = 0 ]; then
                printf 'config %s\\n' $i > cfg.tmp && mv cfg.tmp cfg
                echo "item $i" > items/$i.json
                rm -f items/$((i - 50)).json
                dd if=/dev/urandom of=big.bin bs=4096 count=3 seek=$((i / 10)) conv=notrunc status=none
              fi
              sleep 0.01
            done
            """;

    @TempDir
    Path tmp;

    @Test
    void replicaJoiningAWritingOriginEndsIdentical() throws Exception {
        RealLoaderFixture.assumeRealLoader();
        try (RealLoaderFixture f = new RealLoaderFixture(tmp)) {
            prepopulate(f.originData);
            f.startLoader();
            f.startReplica();
            // the application runs before any EdgeReplica exists: its descriptors predate the trace
            Path stop = tmp.resolve("stop");
            Process wal = f.startApp("wal-writer", WAL_WRITER.replace("STOP", stop.toString()));
            Process journal = f.startApp("journal-writer", JOURNAL_WRITER.replace("STOP", stop.toString()));
            Process files = f.startApp("file-writer", FILE_WRITER.replace("STOP", stop.toString()));
            Thread.sleep(800);
            long joined = System.currentTimeMillis();
            f.startOrigin();
            // the writes go on through the trace's start, the initial resync and after it
            long end = System.currentTimeMillis() + 60_000;
            while (f.link.resyncs() == 0 && System.currentTimeMillis() < end) {
                Thread.sleep(20);
            }
            assertThat(f.link.resyncs()).as("initial resync done").isEqualTo(1);
            Thread.sleep(2500);
            assertThat(f.applier.verified()).as("no confirmation while the writes go on").isFalse();
            Files.writeString(stop, "");
            f.awaitApp("wal-writer", wal, 120);
            f.awaitApp("journal-writer", journal, 120);
            f.awaitApp("file-writer", files, 120);
            long writesEnd = System.currentTimeMillis();
            long converged = f.awaitIdentical(writesEnd + 5000);
            LOG.infof(
                    "pre-existing state: joined %d ms before the writes ended, converged %d ms after them; %d events, "
                            + "%d ops sent, %d of them already in the resync content, %d verification repairs, "
                            + "%d resyncs, %d bytes resynced",
                    writesEnd - joined, converged - writesEnd, f.pump.events(), f.link.sentOps(),
                    f.link.skippedOps(), f.link.verifyRepairs(), f.link.resyncs(), f.link.resyncedBytes());
            assertThat(converged - writesEnd).isLessThanOrEqualTo(5000);
            assertThat(f.link.resyncedBytes()).as("the existing files came by the initial resync")
                    .isGreaterThan(1 << 20);
            assertThat(f.sqlite(f.replicaData, "wal.db", "PRAGMA integrity_check; SELECT count(*) FROM t;"))
                    .startsWith("ok\n").isEqualTo(f.sqlite(f.originData, "wal.db",
                            "PRAGMA integrity_check; SELECT count(*) FROM t;"));
            assertThat(f.sqlite(f.replicaData, "journal.db", "PRAGMA integrity_check; SELECT count(*) FROM t;"))
                    .startsWith("ok\n").isEqualTo(f.sqlite(f.originData, "journal.db",
                            "PRAGMA integrity_check; SELECT count(*) FROM t;"));
            assertThat(f.pump.events()).as("writes captured after the trace started").isGreaterThan(100);
            assertThat(f.applier.refusedOps()).isZero();
            f.awaitInSync(5000);
            assertThat(f.applier.appliedSeq()).isEqualTo(f.origin.log().lastSeq());
            assertThat(f.applier.verified()).as("the origin confirmed the replica's content").isTrue();
            assertThat(f.applier.reportedSeq()).isEqualTo(f.origin.log().lastSeq());
        }
    }

    /** What the application wrote before replication: files, a directory, two SQLite databases. */
    static void prepopulate(Path data) throws Exception {
        Files.createDirectories(data.resolve("items"));
        for (int i = 1; i <= 20; i++) {
            Files.writeString(data.resolve("items/old" + i + ".json"), "{\"old\": " + i + "}\n");
        }
        StringBuilder log = new StringBuilder();
        for (int i = 1; i <= 1000; i++) {
            log.append("old line ").append(i).append('\n');
        }
        Files.writeString(data.resolve("app.log"), log);
        byte[] big = new byte[3 * 1024 * 1024 + 1234]; // a partial last block
        new Random(7).nextBytes(big);
        Files.write(data.resolve("big.bin"), big);
        Files.writeString(data.resolve("cfg"), "config 0\n");
        assertThat(ReplicationEndToEndTest.sh(data, """
                sqlite3 wal.db 'PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
                  INSERT INTO t(v) SELECT hex(randomblob(900)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL
                  SELECT x+1 FROM c WHERE x<400) SELECT x FROM c);' >/dev/null &&
                sqlite3 journal.db 'PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
                  INSERT INTO t(v) SELECT hex(randomblob(500)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL
                  SELECT x+1 FROM c WHERE x<300) SELECT x FROM c);' >/dev/null && echo done
                """)).isEqualTo("done\n");
    }
}
