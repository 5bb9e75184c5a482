// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * An origin application that keeps writing: files and two SQLite databases (WAL and rollback journal), each writer
 * holding its descriptors for its whole life, as a web app holds its database connection and its log. Writes until
 * {@link #stop()}.
 */
final class OriginWorkload {
    /**
     * Writers started before replication, each holding its descriptors for its whole life, writing until the file
     * named by STOP exists.
     */
    private static final String WAL_WRITER = sqliteWriter("wal.db",
            "INSERT INTO t(v) VALUES (hex(randomblob(700))); UPDATE t SET v = hex(randomblob(300)) WHERE id = $i;",
            "0.02");
    private static final String JOURNAL_WRITER = sqliteWriter("journal.db",
            "INSERT INTO t(v) SELECT hex(randomblob(200)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                    + "SELECT x+1 FROM c WHERE x<10) SELECT x FROM c); DELETE FROM t WHERE id % 5 = $i % 5 "
                    + "AND id < $i * 3;",
            "0.03");

    /** One sqlite3 process, one connection for its whole life, running sql ($i: the round) every pause seconds. */
    private static String sqliteWriter(String db, String sql, String pause) {
        return "set -e\n( echo '.timeout 5000'; i=0; while [ ! -e STOP ]; do i=$((i + 1))\n    echo \"" + sql
                + "\"\n    sleep " + pause + "\n  done ) | sqlite3 " + db + "\n";
    }

    private static final String FILE_WRITER = """
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

    private final RealLoaderFixture f;
    private final Path stopFile;
    private Process wal;
    private Process journal;
    private Process files;
    private java.nio.file.attribute.FileTime journalBefore;

    OriginWorkload(RealLoaderFixture f) {
        this.f = f;
        this.stopFile = f.tmp.resolve("stop-writers");
    }

    /** Starts the writers in the origin's cgroup. */
    void start() throws Exception {
        journalBefore = Files.getLastModifiedTime(f.originData.resolve("journal.db"));
        wal = f.startApp("wal-writer", WAL_WRITER.replace("STOP", stopFile.toString()));
        journal = f.startApp("journal-writer", JOURNAL_WRITER.replace("STOP", stopFile.toString()));
        files = f.startApp("file-writer", FILE_WRITER.replace("STOP", stopFile.toString()));
    }

    /**
     * Waits until every writer has opened its files and written through them: the log has new lines, the WAL
     * database its write-ahead log, the journal database a change since the writers started.
     */
    void awaitWriting() throws Exception {
        long end = System.currentTimeMillis() + 60_000;
        Path data = f.originData;
        while (System.currentTimeMillis() < end) {
            boolean log = Files.readString(data.resolve("app.log")).contains("\nline 1\n");
            boolean walLog = Files.exists(data.resolve("wal.db-wal")) && Files.size(data.resolve("wal.db-wal")) > 0;
            boolean journal = !Files.getLastModifiedTime(data.resolve("journal.db")).equals(journalBefore);
            if (log && walLog && journal) {
                return;
            }
            assertThat(running()).as("writers alive").isTrue();
            Thread.sleep(20);
        }
        throw new AssertionError("the writers did not start writing");
    }

    /** Whether every writer is still running. */
    boolean running() {
        return wal.isAlive() && journal.isAlive() && files.isAlive();
    }

    /** Makes the writers finish and waits for them; returns when they ended. */
    long stop() throws Exception {
        Files.writeString(stopFile, "");
        f.awaitApp("wal-writer", wal, 120);
        f.awaitApp("journal-writer", journal, 120);
        f.awaitApp("file-writer", files, 120);
        return System.currentTimeMillis();
    }

    /** The replica's databases pass integrity_check and hold what the origin's hold. */
    void assertDatabasesMatch() throws Exception {
        for (String db : new String[]{"wal.db", "journal.db"}) {
            String sql = "PRAGMA integrity_check; SELECT count(*), sum(length(v)) FROM t;";
            assertThat(f.sqlite(f.replicaData, db, sql)).as(db).startsWith("ok\n")
                    .isEqualTo(f.sqlite(f.originData, db, sql));
        }
        assertThat(Files.readAllLines(f.replicaData.resolve("app.log")))
                .isEqualTo(Files.readAllLines(f.originData.resolve("app.log")));
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
        assertThat(Trees.sh(data, """
                sqlite3 wal.db 'PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
                  INSERT INTO t(v) SELECT hex(randomblob(900)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL
                  SELECT x+1 FROM c WHERE x<400) SELECT x FROM c);' >/dev/null &&
                sqlite3 journal.db 'PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
                  INSERT INTO t(v) SELECT hex(randomblob(500)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL
                  SELECT x+1 FROM c WHERE x<300) SELECT x FROM c);' >/dev/null && echo done
                """)).isEqualTo("done\n");
    }
}
