// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static io.edgerep.agent.state.ConfinedRootTest.op;
import static io.edgerep.agent.state.ConfinedRootTest.write;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.ByteString;

import io.edgerep.proto.v1.Ack;
import io.edgerep.proto.v1.DirCreate;
import io.edgerep.proto.v1.FileBlocks;
import io.edgerep.proto.v1.FileCreate;
import io.edgerep.proto.v1.FileLink;
import io.edgerep.proto.v1.FileMeta;
import io.edgerep.proto.v1.FileRename;
import io.edgerep.proto.v1.FileSync;
import io.edgerep.proto.v1.FileTruncate;
import io.edgerep.proto.v1.FileWrite;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.StateEvent;
import io.edgerep.proto.v1.Symlink;

/** Sequencing, gaps, epochs and op semantics on the replica side. */
class StateApplierTest {
    @TempDir
    Path root;
    StateApplier a;

    @BeforeEach
    void setUp() {
        a = new StateApplier("ns/er", "replica-0", new ConfinedRoot(root, List.of("/data")));
    }

    Push start(long epoch, long base) {
        return Push.resync(epoch, base);
    }

    Push batch(long epoch) {
        return Push.ops(epoch);
    }

    @Test
    void freshReplicaAsksForResyncAndAppliesNothingUntilItCame() throws Exception {
        Ack ack = batch(5).addOps(op(1, write("/data/f", "x"))).to(a);
        assertThat(ack.getNeedsResync()).isTrue();
        assertThat(ack.getAppliedSeq()).isZero();
        assertThat(root.resolve("data/f")).doesNotExist();
        ack = start(5, 0).addOps(op(1, write("/data/f", "x"))).to(a);
        assertThat(ack.getNeedsResync()).isFalse();
        assertThat(ack.getAppliedSeq()).isEqualTo(1);
        assertThat(ack.getEpoch()).isEqualTo(5);
        assertThat(root.resolve("data/f")).hasContent("x");
    }

    @Test
    void appliesInOrderSkipsDuplicatesAndStopsAtAGap() throws Exception {
        start(1, 10).to(a);
        Ack ack = batch(1).addOps(op(11, write("/data/f", "aaaa"))).addOps(op(11, write("/data/f", "zzzz")))
                .addOps(op(12, write("/data/f", "b"))).to(a);
        assertThat(ack.getAppliedSeq()).isEqualTo(12);
        assertThat(root.resolve("data/f")).hasContent("baaa");
        ack = batch(1).addOps(op(14, write("/data/f", "c"))).addOps(op(15, write("/data/f", "d"))).to(a);
        assertThat(ack.getNeedsResync()).isTrue();
        assertThat(ack.getAppliedSeq()).isEqualTo(12);
        assertThat(root.resolve("data/f")).hasContent("baaa");
        // a retransmitted 13 does not heal it: the origin must resync
        ack = batch(1).addOps(op(13, write("/data/f", "e"))).to(a);
        assertThat(ack.getNeedsResync()).isTrue();
    }

    @Test
    void newEpochNeedsResync() throws Exception {
        start(1, 0).addOps(op(1, write("/data/f", "x"))).to(a);
        Ack ack = batch(2).addOps(op(1, write("/data/f", "y"))).to(a);
        assertThat(ack.getNeedsResync()).isTrue();
        assertThat(root.resolve("data/f")).hasContent("x");
    }

    @Test
    void opSemantics() throws Exception {
        start(1, 0).to(a);
        long s = 0;
        Ack ack = batch(1)
                .addOps(op(++s,
                        StateEvent.newBuilder().setMkdir(DirCreate.newBuilder().setPath("/data/d").setMode(0750))))
                .addOps(op(++s, StateEvent.newBuilder()
                        .setCreate(FileCreate.newBuilder().setPath("/data/d/log").setMode(0600).setTruncate(false))))
                .addOps(op(++s, append("/data/d/log", "one\n")))
                .addOps(op(++s, append("/data/d/log", "two\n")))
                .addOps(op(++s, write("/data/d/tmp", "new content")))
                .addOps(op(++s, StateEvent.newBuilder().setSync(FileSync.newBuilder().setPath("/data/d/tmp"))))
                .addOps(op(++s, write("/data/d/cfg", "old")))
                .addOps(op(++s, StateEvent.newBuilder()
                        .setRename(FileRename.newBuilder().setFrom("/data/d/tmp").setTo("/data/d/cfg"))))
                .addOps(op(++s, StateEvent.newBuilder()
                        .setWrite(FileWrite.newBuilder().setPath("/data/sparse").setOffset(10)
                                .setData(ByteString.copyFromUtf8("z")))))
                .addOps(op(++s,
                        StateEvent.newBuilder()
                                .setTruncate(FileTruncate.newBuilder().setPath("/data/sparse").setLength(20))))
                .addOps(op(++s,
                        StateEvent.newBuilder()
                                .setTruncate(FileTruncate.newBuilder().setPath("/data/d/log").setLength(4))))
                .to(a);
        assertThat(ack.getFailedOps()).isZero();
        assertThat(ack.getRefusedOps()).isZero();
        assertThat(ack.getAppliedSeq()).isEqualTo(s);
        assertThat(root.resolve("data/d/log")).hasContent("one\n");
        assertThat(root.resolve("data/d/cfg")).hasContent("new content");
        assertThat(root.resolve("data/d/tmp")).doesNotExist();
        byte[] sparse = Files.readAllBytes(root.resolve("data/sparse"));
        assertThat(sparse).hasSize(20);
        assertThat(sparse[10]).isEqualTo((byte) 'z');
        assertThat(PosixFiles.mode(root.resolve("data/d"))).isEqualTo(0750);
        assertThat(PosixFiles.mode(root.resolve("data/d/log"))).isEqualTo(0600);
    }

    /**
     * Links are mirrored verbatim, wherever they point; nothing is ever written through one that leaves the replicated
     * paths, and a rename out through one removes the source as it did on the origin.
     */
    @Test
    void symbolicAndHardLinksAreMirroredAndNeverFollowedOut() throws Exception {
        Path outside = Files.createDirectories(root.resolve("outside"));
        Files.writeString(outside.resolve("canary"), "canary");
        start(1, 0).to(a);
        long s = 0;
        Ack ack = batch(1)
                .addOps(op(++s, write("/data/v2/cfg", "version 2")))
                .addOps(op(++s, symlink("/data/current", "v2")))
                .addOps(op(++s, write("/data/current/cfg", "version 2, through the link")))
                .addOps(op(++s, symlink("/data/out", "../outside")))
                .addOps(op(++s, symlink("/data/abs", "/outside/canary")))
                .addOps(op(++s, write("/data/out/pwned", "x")))
                .addOps(op(++s, write("/data/abs", "pwned")))
                .addOps(op(++s, write("/data/moved", "leaves through a link")))
                .addOps(op(++s, StateEvent.newBuilder()
                        .setRename(FileRename.newBuilder().setFrom("/data/moved").setTo("/data/out/moved"))))
                .addOps(op(++s, StateEvent.newBuilder()
                        .setLink(FileLink.newBuilder().setFrom("/data/v2/cfg").setTo("/data/cfg-hard"))))
                .addOps(op(++s, write("/data/file", "replaced by a link")))
                .addOps(op(++s, symlink("/data/file", "v2/cfg")))
                .addOps(op(++s, symlink("/data/up", "../../")))
                .addOps(op(++s, symlink("/data/odd", "v2//cfg")))
                .to(a);
        assertThat(ack.getAppliedSeq()).isEqualTo(s);
        assertThat(ack.getFailedOps()).isZero();
        assertThat(ack.getRefusedOps()).isEqualTo(3); // the write through out/, through abs, the rename out
        assertThat(Files.readSymbolicLink(root.resolve("data/current"))).hasToString("v2");
        assertThat(Files.readSymbolicLink(root.resolve("data/out"))).hasToString("../outside");
        assertThat(Files.readSymbolicLink(root.resolve("data/abs"))).hasToString("/outside/canary");
        assertThat(Files.readSymbolicLink(root.resolve("data/file"))).hasToString("v2/cfg");
        // verbatim, also where a java.nio Path would normalize the contents
        assertThat(Files.readSymbolicLink(root.resolve("data/up"))).hasToString("../../");
        assertThat(Files.readSymbolicLink(root.resolve("data/odd"))).hasToString("v2//cfg");
        assertThat(root.resolve("data/v2/cfg")).hasContent("version 2, through the link");
        assertThat(root.resolve("data/moved")).doesNotExist();
        assertThat(outside).isDirectoryContaining(p -> p.getFileName().toString().equals("canary"));
        try (var list = Files.list(outside)) {
            assertThat(list).hasSize(1);
        }
        assertThat(outside.resolve("canary")).hasContent("canary");
        assertThat(Files.readAttributes(root.resolve("data/cfg-hard"), "unix:ino"))
                .isEqualTo(Files.readAttributes(root.resolve("data/v2/cfg"), "unix:ino"));
        // replayed after a resync: nothing changes, nothing fails
        ack = start(1, 0).addOps(op(1, symlink("/data/current", "v2")))
                .addOps(op(2, StateEvent.newBuilder()
                        .setLink(FileLink.newBuilder().setFrom("/data/v2/cfg").setTo("/data/cfg-hard"))))
                .to(a);
        assertThat(ack.getFailedOps()).isZero();
        assertThat(Files.readSymbolicLink(root.resolve("data/current"))).hasToString("v2");
    }

    static StateEvent.Builder symlink(String path, String target) {
        return StateEvent.newBuilder().setSymlink(Symlink.newBuilder().setPath(path).setTarget(target));
    }

    @Test
    void resyncBlocksAndMetasSetExactContentAndRemoveExtras() throws Exception {
        Files.createDirectories(root.resolve("data/old"));
        Files.writeString(root.resolve("data/old/x"), "stale");
        Files.writeString(root.resolve("data/f"), "0123456789abcdefTAIL-TO-CUT");
        Ack ack = start(3, 100)
                .addOps(ReplicatedOp.newBuilder().setBlocks(FileBlocks.newBuilder().setPath("/data/f").setBlockSize(8)
                        .putBlocks(1, ByteString.copyFromUtf8("ABCDEFGH"))))
                .addOps(ReplicatedOp.newBuilder()
                        .setMeta(FileMeta.newBuilder().setPath("/data/f").setSize(16).setMode(0640)))
                .addOps(ReplicatedOp.newBuilder().setMeta(FileMeta.newBuilder().setPath("/data/old").setAbsent(true)))
                .end().to(a);
        assertThat(ack.getAppliedSeq()).isEqualTo(100);
        assertThat(ack.getResyncs()).isEqualTo(1);
        assertThat(root.resolve("data/f")).hasContent("01234567ABCDEFGH");
        assertThat(root.resolve("data/old")).doesNotExist();
    }

    @Test
    void checksumsListTheReplicatedTreeOnly() throws Exception {
        Files.createDirectories(root.resolve("data/d"));
        Files.createDirectories(root.resolve("other"));
        Files.writeString(root.resolve("data/d/f"), "x".repeat(3000));
        Files.writeString(root.resolve("other/secret"), "no");
        Files.createSymbolicLink(root.resolve("data/link"), Path.of("/other"));
        var sums = a.checksums(List.of(), 1024);
        // the link is listed as a link (its contents), never followed
        assertThat(sums.getFilesList()).extracting(f -> f.getPath() + ">" + f.getLinkTarget())
                .containsExactlyInAnyOrder("/data>", "/data/d>", "/data/d/f>", "/data/link>/other");
        var f = sums.getFilesList().stream().filter(x -> x.getPath().equals("/data/d/f")).findFirst().orElseThrow();
        assertThat(f.getBlockSumsCount()).isEqualTo(3);
        assertThat(f.getSize()).isEqualTo(3000);
        assertThat(a.checksums(List.of("/other/secret"), 1024).getFilesList()).isEmpty();
        assertThat(a.refusedOps()).isEqualTo(1);
    }

    static StateEvent.Builder append(String path, String data) {
        return StateEvent.newBuilder()
                .setWrite(FileWrite.newBuilder().setPath(path).setAppend(true).setData(ByteString.copyFromUtf8(data)));
    }
}
